import DeformConv
import Foundation

/// The outcome of one (case, kernel) pair.
public struct CaseResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, fail }

    public var file: String
    public var caseName: String
    public var kernel: String
    /// "ok", "TypeError" or "ValueError", as the case says; "malformed" when the case could not be read.
    public var expect: String
    public var expectedErrorCode: String?
    public var status: Status
    /// The code the kernel path raised, for error cases and for valid cases it wrongly rejected.
    public var errorCode: String?
    public var errorClass: String?
    /// Why it failed, or the message the kernel path raised.
    public var message: String?
    public var tags: [String]
    public var dtype: String?
    /// Largest error/bound over the output (SPEC section 3); valid cases only.
    public var ratio: Double?
    public var accuracy: AccuracyStats?
    /// More than half the outputs equal their bias (SPEC section 3).
    public var weak: Bool?
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case file, caseName = "case", kernel, expect, expectedErrorCode, status, errorCode, errorClass, message
        case tags, dtype, ratio, accuracy, weak, seconds
    }
}

/// A file that could not be opened or listed at all.
public struct UnreadableFile: Codable, Sendable {
    public var file: String
    public var message: String
}

public struct KernelDescription: Codable, Sendable {
    public var name: String
    public var uAcc: Double
    public var uS: Double
    public var summary: String

    public init(_ kernel: any DeformConvKernel) {
        name = kernel.name
        uAcc = kernel.accumulationUnitRoundoff
        uS = kernel.samplingUnitRoundoff
        summary = kernel.summary
    }
}

/// Everything one `dcn verify` run found; `--json` writes it as is.
public struct VerifyReport: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var passed = 0
        public var failed = 0
        public var files = 0
        public var cases = 0
        public var unreadableFiles = 0
    }

    public var summary = Summary()
    public var kernels: [KernelDescription] = []
    public var results: [CaseResult] = []
    public var unreadable: [UnreadableFile] = []
    /// Present in the report of one shard of a run (`verify --shard I/N`), for `merge-reports`.
    public var shard: ShardInfo?

    public init() {}

    /// SPEC section 6: 0 all pass, 1 any case fails, 2 no case could be read. A shard that
    /// happens to own no pair of a run that has cases passes.
    public var exitCode: Int32 {
        if summary.cases == 0 && (shard?.totalCases ?? 0) == 0 { return 2 }
        return summary.failed == 0 && unreadable.isEmpty ? 0 : 1
    }
}

/// Bad usage of `verify`: a path that does not exist, an unknown kernel.
public struct VerifyUsageError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// How far a run has come, for a progress line.
public struct VerifyProgress: Sendable {
    /// Cases started in the current file, and how many it has (0 when not yet known).
    public var done: Int
    public var total: Int
    public var file: String
    public var caseName: String
    /// 1-based number of the current file, and how many files the run has.
    public var fileNumber: Int = 1
    public var fileCount: Int = 1
}

/// What verifying one file gave, in this process or in a reader child process
/// (`dcn verify-file`, see `IsolatedVerifier`).
public struct FileOutcome: Codable, Sendable {
    public var file: String
    /// Cases the file lists (0 when it could not be listed).
    public var cases: Int
    /// This shard's results, in file order.
    public var results: [CaseResult]
    /// For each result: case index · kernel count + kernel index.
    public var localPositions: [Int]
    public var unreadable: UnreadableFile?

    public init(file: String, cases: Int = 0, results: [CaseResult] = [], localPositions: [Int] = [], unreadable: UnreadableFile? = nil) {
        self.file = file
        self.cases = cases
        self.results = results
        self.localPositions = localPositions
        self.unreadable = unreadable
    }
}

/// The verify driver: every case of every file through every kernel, one loop
/// shared by all kernels (after benchdnn's driver).
public struct Verifier: Sendable {
    public var kernels: [any DeformConvKernel]
    public var limits: ResourceLimits
    /// The part of the run to do (`verify --shard I/N`); nil for the whole run, whose report carries no shard section.
    public var shard: Shard?

    public init(kernels: [any DeformConvKernel], limits: ResourceLimits = .standard, shard: Shard? = nil) {
        self.kernels = kernels
        self.limits = limits
        self.shard = shard
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
        let reader: GoldenFileReader
        let names: [String]
        do {
            reader = try GoldenFileReader(path: file)
            names = try reader.caseNames()
        } catch {
            return FileOutcome(file: file, unreadable: UnreadableFile(file: file, message: error.description))
        }
        events(.listed(count: names.count))
        var outcome = FileOutcome(file: file, cases: names.count)
        let count = kernels.count
        for (caseIndex, name) in names.enumerated() {
            let owned = kernels.indices.filter { shard.owns(fileIndex: fileIndex, position: caseIndex * count + $0) }
            guard !owned.isEmpty, !skip.contains(caseIndex) else { continue }
            events(.started(index: caseIndex, count: names.count, name: name))
            outcome.results += check(name, in: reader, file: file, kernels: owned)
            outcome.localPositions += owned.map { caseIndex * count + $0 }
            events(.finished(index: caseIndex))
        }
        return outcome
    }

    /// The run's report from each file's outcome (in run order): results in the unsharded
    /// order, and for a shard the section `merge-reports` needs.
    public func assemble(files: [String], outcomes: [FileOutcome]) -> VerifyReport {
        let shard = self.shard ?? .all
        var report = VerifyReport()
        report.kernels = kernels.map(KernelDescription.init)
        var placed: [(Int, CaseResult)] = []
        var base = 0
        for (index, outcome) in outcomes.enumerated() {
            if let unreadable = outcome.unreadable, shard.ownsUnreadable(fileIndex: index) {
                report.unreadable.append(unreadable)
            }
            placed += zip(outcome.localPositions, outcome.results).map { (base + $0.0, $0.1) }
            base += outcome.cases * kernels.count
        }
        placed.sort { $0.0 < $1.0 }
        report.results = placed.map(\.1)
        report.summary.files = files.count
        report.summary.unreadableFiles = report.unreadable.count
        report.summary.passed = report.results.count { $0.status == .pass }
        report.summary.failed = report.results.count - report.summary.passed
        report.summary.cases = Set(placed.map { $0.0 / max(kernels.count, 1) }).count
        if self.shard != nil {
            report.shard = ShardInfo(index: shard.index, count: shard.count, files: files,
                                     casesPerFile: outcomes.map(\.cases), totalPairs: base, positions: placed.map(\.0))
        }
        return report
    }

    /// One case through the kernels at `indices` (default: all). A malformed case fails for every kernel; the run goes on.
    func check(_ name: String, in reader: GoldenFileReader, file: String, kernels indices: [Int]? = nil) -> [CaseResult] {
        let kernels = indices.map { $0.map { self.kernels[$0] } } ?? self.kernels
        let header: CaseHeader
        do {
            header = try reader.header(of: name)
        } catch {
            return kernels.map { kernel in
                CaseResult(file: file, caseName: name, kernel: kernel.name, expect: "malformed", status: .fail,
                           message: "malformed case: \(error.description)", tags: [])
            }
        }
        var data = CaseData(reader: reader, header: header, limits: limits)
        return kernels.map { kernel in
            var result = CaseResult(file: file, caseName: name, kernel: kernel.name, expect: header.expect.expectAttribute,
                                    status: .fail, tags: header.tags, dtype: "\(header.arguments.x.dtype)")
            if case let .error(code) = header.expect { result.expectedErrorCode = code.rawValue }
            // Results recorded elsewhere (outputs files, a golden file's y_framework): RecordedOutputs.swift.
            if let recorded = kernel as? any RecordedOutputsKernel {
                return Verifier.score(result, source: recorded, header: header, data: &data, limits: limits)
            }
            let problem: DeformConvProblem
            do throws(DeformConvError) {
                problem = try kernel.validate(header.arguments, limits: limits)
            } catch {
                result.errorCode = error.code.rawValue
                result.errorClass = error.exceptionClass.rawValue
                result.message = error.message
                if header.expect == .error(error.code) {
                    result.status = .pass
                } else {
                    result.message = "expected \(header.expect), raised \(error)"
                }
                return result
            }
            guard header.expect == .ok else {
                result.message = "expected \(header.expect), the kernel accepted the call"
                return result
            }
            do {
                let (golden, inputs) = try data.load(problem)
                let clock = ContinuousClock()
                var output: [Double] = []
                let elapsed = clock.measure {
                    output = switch inputs {
                    case let .float32(values): kernel.run(problem, values).map(Double.init)
                    case let .float16(values): kernel.run(problem, values).map(Double.init)
                    }
                }
                result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                // A C plugin that returned a nonzero status (PluginKernel.swift): the case fails, the run goes on.
                if let failure = (kernel as? any FallibleKernel)?.takeRunFailure() {
                    result.message = failure
                    return result
                }
                result.score(output, against: golden, problem: problem, header: header, kernel: kernel, weak: data.weak)
            } catch {
                result.message = "malformed case: \(error)"
            }
            return result
        }
    }
}

/// The data of one case, read once and shared by every kernel.
struct CaseData {
    enum Inputs {
        case float32(DeformConvInputs<Float>)
        case float16(DeformConvInputs<Float16>)
    }

    let reader: GoldenFileReader
    let header: CaseHeader
    let limits: ResourceLimits
    private var cached: (GoldenOutput, Inputs)?
    private(set) var weak: Bool?

    init(reader: GoldenFileReader, header: CaseHeader, limits: ResourceLimits) {
        self.reader = reader
        self.header = header
        self.limits = limits
    }

    /// The golden output (with y_abs, y_pos and y_tiny, computed by the reference when the file lacks them) and the inputs.
    mutating func load(_ problem: DeformConvProblem) throws -> (GoldenOutput, Inputs) {
        if let cached { return cached }
        let name = header.name
        var golden = try reader.output(of: name, problem: problem)
        let inputs: Inputs
        let widened: DeformConvInputs<Double>
        switch problem.dtype {
        case .float16:
            let values = try reader.inputs(of: name, problem: problem, as: Float16.self)
            inputs = .float16(values)
            widened = values.map(Double.init)
        default:
            let values = try reader.inputs(of: name, problem: problem, as: Float.self)
            inputs = .float32(values)
            widened = values.map(Double.init)
        }
        if !golden.hasMagnitudes {
            golden.fillMagnitudes(from: ReferenceKernel().evaluate(problem, widened))
        }
        weak = SuiteGenerator.isWeak(golden.y, widened.bias, problem)
        cached = (golden, inputs)
        return (golden, inputs)
    }
}

extension CaseResult {
    /// Scores an output against the golden one under SPEC section 3 with `kernel`'s units.
    mutating func score(_ output: [Double], against golden: GoldenOutput, problem: DeformConvProblem, header: CaseHeader,
                        kernel: any DeformConvKernel, weak: Bool?) {
        let tolerance = Tolerance(kernel: kernel, problem: problem, storedType: header.outputType, exact: header.isExact)
        let stats = AccuracyStats(got: output, expected: golden.y, yAbs: golden.yAbs!, yPos: golden.yPos!, yTiny: golden.yTiny!,
                                  shape: problem.outputShape, tolerance: tolerance)
        accuracy = stats
        ratio = stats.worstRatio
        self.weak = weak
        status = stats.passed ? .pass : .fail
        if !stats.passed {
            message = "\(stats.failedElements) of \(stats.elements) elements outside the bound; worst ratio \(AccuracyReport.format(ratio: stats.worstRatio))"
        }
    }
}
