import DeformConv
import Foundation
import Formats
import Scoring
import Suites

/// The verify driver: every case of every file through every source, one loop shared by all
/// kinds of source (after benchdnn's driver): evaluate (`OutcomeSource`), then score (`CaseScorer`).
public struct Verifier: Sendable {
    public var sources: [any OutcomeSource]
    public var limits: ResourceLimits
    /// The part of the run to do (`verify --shard I/N`); nil for the whole run, whose report carries no shard section.
    public var shard: Shard?
    /// The passes to check (`verify --pass`): a case without `gy` has no backward part, and is left
    /// out of a backward-only run (and counted).
    public var passes: Set<KernelPass>
    /// Determinism mode (`verify --repeat N`); off by default.
    public var determinism: Determinism
    /// For each source, its builds at other thread counts (`Determinism.threadVariants`); empty for none.
    public var variants: [[ThreadVariant]]

    public init(sources: [any OutcomeSource], limits: ResourceLimits = .standard, shard: Shard? = nil,
                passes: Set<KernelPass> = Set(KernelPass.allCases), determinism: Determinism = .off,
                variants: [[ThreadVariant]] = []) {
        self.sources = sources
        self.limits = limits
        self.shard = shard
        self.passes = passes
        self.determinism = determinism
        self.variants = variants
    }

    /// Built-in kernels as the sources (in determinism mode, each also at 1 thread and at the machine's cores).
    public init(kernels: [any DeformConvKernel], limits: ResourceLimits = .standard, shard: Shard? = nil,
                passes: Set<KernelPass> = Set(KernelPass.allCases), determinism: Determinism = .off) {
        self.init(sources: kernels.map(KernelSource.init), limits: limits, shard: shard, passes: passes, determinism: determinism,
                  variants: determinism.isOn ? kernels.map(Determinism.threadVariants(of:)) : [])
    }

    /// The golden files under `paths`: files as given, folders searched for `*.h5`, sorted.
    public static func goldenFiles(in paths: [String]) throws(VerifyUsageError) -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw VerifyUsageError(description: "no such file or folder: \(path)")
            }
            if isDirectory.boolValue {
                let found = (manager.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                    .filter { $0.hasSuffix(".h5") }.sorted()
                files += found.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Verifies every file in this process. A file that makes libhdf5 crash crashes the
    /// process: `IsolatedVerifier` runs each file in a child process instead.
    public func run(files: [String], progress: (VerifyProgress) -> Void = { _ in }) -> VerifyReport {
        var outcomes: [FileOutcome] = []
        for (index, file) in files.enumerated() {
            outcomes.append(verifyFile(file, index: index) { event in
                if case let .started(caseIndex, count, name) = event {
                    progress(VerifyProgress(done: caseIndex + 1, total: count, file: file, caseName: name,
                                            fileNumber: index + 1, fileCount: files.count))
                }
            })
        }
        return assemble(files: files, outcomes: outcomes)
    }

    /// What happens while one file is verified; a reader child prints these for its parent.
    public enum FileEvent: Sendable {
        /// The file is open and lists `count` cases.
        case listed(count: Int)
        case started(index: Int, count: Int, name: String)
        case finished(index: Int)
    }

    /// One file, this shard's (case, kernel) pairs of it. Cases whose index is in `skip` are left
    /// out (the parent of a reader child that crashed on them reports them).
    public func verifyFile(_ file: String, index fileIndex: Int, skip: Set<Int> = [],
                           events: (FileEvent) -> Void = { _ in }) -> FileOutcome {
        let shard = self.shard ?? .all
        let (reader, names): (GoldenFileReader, [String])
        do { (reader, names) = try GoldenFileReader.opening(file) } catch {
            return FileOutcome(file: file, unreadable: UnreadableFile(file: file, message: error.description))
        }
        // A file whose /cases group lists nothing (a flipped bit can hide every case) would
        // otherwise add nothing to the run and go unnoticed among other files.
        guard !names.isEmpty else {
            return FileOutcome(file: file, unreadable: UnreadableFile(file: file, message: "\(file): /\(GoldenSchema.casesGroup) lists no case"))
        }
        events(.listed(count: names.count))
        var outcome = FileOutcome(file: file, cases: names.count)
        let count = sources.count
        for (caseIndex, name) in names.enumerated() {
            let owned = sources.indices.filter { shard.owns(fileIndex: fileIndex, position: caseIndex * count + $0) }
            guard !owned.isEmpty, !skip.contains(caseIndex) else { continue }
            events(.started(index: caseIndex, count: names.count, name: name))
            // A case is covered by the shard that owns its first pair, so that shards' coverages add up.
            let covers = shard.owns(fileIndex: fileIndex, position: caseIndex * count)
            let results = check(name, in: reader, sources: owned) { item in
                if covers { outcome.coverage = (outcome.coverage ?? SuiteCoverage()).adding(item) }
            }
            for (index, result) in zip(owned, results) {
                guard let result else { outcome.casesWithoutPass += 1; continue }
                outcome.results.append(result)
                outcome.localPositions.append(caseIndex * count + index)
            }
            events(.finished(index: caseIndex))
        }
        return outcome
    }

    /// The run's report from each file's outcome (in run order): results in the unsharded
    /// order, and for a shard the section `merge-reports` needs.
    public func assemble(files: [String], outcomes: [FileOutcome]) -> VerifyReport {
        Self.assemble(files: files, outcomes: outcomes, sources: sources.map(\.identity), shard: shard)
    }

    /// The same, from the sources' identities alone (a parent whose children did the evaluating).
    public static func assemble(files: [String], outcomes: [FileOutcome], sources: [SourceIdentity], shard: Shard?) -> VerifyReport {
        let part = shard ?? .all
        var report = VerifyReport()
        report.kernels = sources
        var placed: [(Int, CaseResult)] = []
        var base = 0
        for (index, outcome) in outcomes.enumerated() {
            if let unreadable = outcome.unreadable, part.ownsUnreadable(fileIndex: index) {
                report.unreadable.append(unreadable)
            }
            placed += zip(outcome.localPositions, outcome.results).map { (base + $0.0, $0.1) }
            base += outcome.cases * sources.count
        }
        placed.sort { $0.0 < $1.0 }
        report.results = placed.map(\.1)
        report.countResults(files: files.count)
        report.coverage = SuiteCoverage.sum(outcomes.map(\.coverage))
        report.summary.casesWithoutPass = outcomes.reduce(0) { $0 + $1.casesWithoutPass }
        report.summary.cases = Set(placed.map { $0.0 / max(sources.count, 1) }).count
        if shard != nil {
            report.shard = ShardInfo(index: part.index, count: part.count, files: files,
                                     casesPerFile: outcomes.map(\.cases), totalPairs: base, positions: placed.map(\.0))
        }
        return report
    }

    /// One case through the sources at `indices` (default: all). A malformed case fails for every source; the run goes on.
    /// nil for a source when the case has nothing to check in the run's passes.
    /// `cover` sees the case before it is checked, for the suite's coverage.
    func check(_ name: String, in reader: GoldenFileReader, sources indices: [Int]? = nil,
               cover: (EvaluationCase) -> Void = { _ in }) -> [CaseResult?] {
        let chosen = indices ?? Array(self.sources.indices)
        let sources = chosen.map { self.sources[$0] }
        let header: CaseHeader
        do {
            header = try reader.header(of: name)
        } catch {
            return sources.map { CaseScorer.malformed(name, file: reader.path, source: $0.identity, why: error.description) }
        }
        let item = EvaluationCase(reader: reader, header: header, limits: limits)
        cover(item)
        guard !Evaluation.passes(of: item, in: passes).isEmpty else { return sources.map { _ in nil } }
        return chosen.map { index in
            Evaluation.evaluate(item, with: self.sources[index], passes: passes, determinism: determinism,
                                variants: index < variants.count ? variants[index] : []).result
        }
    }
}
