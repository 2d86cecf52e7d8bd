import Foundation
import Formats
import Scoring
import Suites

/// The shards' reports do not make one run: missing or repeated shards, different files or kernels.
public struct MergeError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Joins the JSON reports of `verify --shard I/N` for I = 1…N into the report the
/// unsharded run writes: the same results in the same order, the same summary,
/// no shard section. (Only the measured `seconds` of each result differ, as they
/// do between any two runs.)
public enum ReportMerger {
    /// Reads and merges shard reports; `paths` name them in error messages.
    public static func merge(paths: [String]) throws(MergeError) -> VerifyReport {
        var reports: [(String, VerifyReport)] = []
        for path in paths {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                reports.append((path, try ReportJSON.decode(VerifyReport.self, from: data)))
            } catch {
                throw MergeError(description: "\(path): not a verify JSON report: \(error.localizedDescription)")
            }
        }
        return try merge(reports)
    }

    public static func merge(_ reports: [(name: String, report: VerifyReport)]) throws(MergeError) -> VerifyReport {
        guard let (firstName, first) = reports.first else { throw MergeError(description: "no reports to merge") }
        guard let info = first.shard else {
            guard reports.count == 1 else {
                throw MergeError(description: "\(firstName) is the report of an unsharded run; merge the reports of `verify --shard I/N`")
            }
            return first
        }
        var seen: [Int: String] = [:]
        for (name, report) in reports {
            guard let shard = report.shard else {
                throw MergeError(description: "\(name) is the report of an unsharded run, \(firstName) of shard \(info.index)/\(info.count)")
            }
            guard shard.count == info.count, shard.files == info.files, shard.casesPerFile == info.casesPerFile,
                  shard.totalPairs == info.totalPairs, report.kernels.map(\.name) == first.kernels.map(\.name) else {
                throw MergeError(description: "\(name) (shard \(shard.index)/\(shard.count)) is not from the same run as \(firstName) (shard \(info.index)/\(info.count)): the shard count, files, cases or kernels differ")
            }
            // Shards may run on machines with other core counts: only the mode's settings must agree.
            guard report.determinism?.repeats == first.determinism?.repeats,
                  report.determinism?.requireDeterministic == first.determinism?.requireDeterministic else {
                throw MergeError(description: "\(name) (shard \(shard.index)/\(shard.count)) is not from the same run as \(firstName) (shard \(info.index)/\(info.count)): one ran in determinism mode (--repeat) with other settings")
            }
            guard shard.positions.count == report.results.count else {
                throw MergeError(description: "\(name): \(report.results.count) results but \(shard.positions.count) positions")
            }
            if let other = seen.updateValue(name, forKey: shard.index) {
                throw MergeError(description: "shard \(shard.index)/\(shard.count) is given twice: \(other) and \(name)")
            }
        }
        let missing = (1...info.count).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw MergeError(description: "missing shard\(missing.count > 1 ? "s" : "") \(missing.map { "\($0)/\(info.count)" }.joined(separator: ", ")) of \(info.count)")
        }

        var slots = [CaseResult?](repeating: nil, count: info.totalPairs)
        var unreadable: [String: UnreadableFile] = [:]
        for (name, report) in reports {
            for (position, result) in zip(report.shard!.positions, report.results) {
                guard slots.indices.contains(position), slots[position] == nil else {
                    throw MergeError(description: "\(name): result \(position) (\(result.file): \(result.caseName), \(result.kernel)) is out of range or also in another shard")
                }
                slots[position] = result
            }
            for file in report.unreadable { unreadable[file.file] = unreadable[file.file] ?? file }
        }
        var merged = VerifyReport()
        merged.kernels = first.kernels
        merged.results = slots.compactMap { $0 }
        // Pairs no shard produced are those a reader child skipped past; every pair is
        // otherwise accounted for by exactly one shard.
        merged.unreadable = info.files.compactMap { unreadable[$0] }
        merged.countResults(files: info.files.count)
        merged.coverage = SuiteCoverage.sum(reports.map(\.report.coverage))
        // Determinism mode's findings are the results' own (counted above); its settings are every shard's.
        merged.determinism = first.determinism
        merged.determinism?.threadCounts = Array(Set(reports.flatMap { $0.report.determinism?.threadCounts ?? [] })).sorted()
        merged.summary.casesWithoutPass = reports.reduce(0) { $0 + $1.1.summary.casesWithoutPass }
        let kernels = max(first.kernels.count, 1)
        merged.summary.cases = Set(slots.indices.filter { slots[$0] != nil }.map { $0 / kernels }).count
        return merged
    }
}
