import DeformConv
import Foundation
import Scoring
import Formats
import Suites

/// A file that could not be opened or listed at all.
public struct UnreadableFile: Codable, Sendable {
    public var file: String
    public var message: String
}

/// Everything one `dcn verify` run found; `--json` writes it as is.
public struct VerifyReport: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var passed = 0
        public var failed = 0
        public var files = 0
        public var cases = 0
        public var unreadableFiles = 0
        /// Results whose only pass to check was a backward one the source does not have.
        @Defaulted<DefaultZero> public var notImplemented = 0
        /// The backward parts of the results (SPEC section 7), when any was checked.
        public var backward: BackwardSummary?
        /// (case, source) pairs with nothing to check in the run's passes (`--pass backward` on a case without gy).
        @Defaulted<DefaultZero> public var casesWithoutPass = 0
        /// Results marked nondeterministic by `verify --repeat N` (warnings unless --require-deterministic); nil for none.
        public var nondeterministic: Int?

        public init() {}
    }

    /// How the backward parts went, over the results that have one.
    public struct BackwardSummary: Codable, Sendable, Equatable {
        public var passed = 0
        public var failed = 0
        public var notImplemented = 0

        /// nil when no result has a backward part.
        public init?(_ results: [CaseResult]) {
            let parts = results.compactMap(\.backward)
            guard !parts.isEmpty else { return nil }
            passed = parts.count { $0.status == .pass }
            failed = parts.count { $0.status == .fail }
            notImplemented = parts.count { $0.status == .notImplemented }
        }
    }

    public var summary = Summary()

    /// Sets the summary's counts that follow from `results` and `unreadable` (and `files`, the
    /// files of the run), the same for a run and for the merge of its shards.
    mutating func countResults(files: Int) {
        summary.files = files
        summary.unreadableFiles = unreadable.count
        summary.passed = results.count { $0.status == .pass }
        summary.failed = results.count { $0.status == .fail }
        summary.notImplemented = results.count { $0.status == .notImplemented }
        summary.backward = BackwardSummary(results)
        let nondeterministic = results.count { $0.nondeterministic != nil }
        summary.nondeterministic = nondeterministic > 0 ? nondeterministic : nil
    }

    /// The sources of the run (built-in kernels, plugins, outputs files), in the order of their results.
    public var kernels: [SourceIdentity] = []
    public var results: [CaseResult] = []
    public var unreadable: [UnreadableFile] = []
    /// Present in the report of one shard of a run (`verify --shard I/N`), for `merge-reports`.
    public var shard: ShardInfo?
    /// Determinism mode's settings (`verify --repeat N`), and the sources it could not repeat
    /// (recorded results); nil when the mode was off.
    public var determinism: DeterminismInfo?
    /// What the run's valid cases cover (parameter values, sampling position classes); nil when none was read.
    public var coverage: SuiteCoverage?

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
    /// Cases of this shard with nothing to check in the run's passes.
    public var casesWithoutPass = 0
    /// What the cases this shard covers (those whose first pair it owns) cover.
    public var coverage: SuiteCoverage?

    public init(file: String, cases: Int = 0, results: [CaseResult] = [], localPositions: [Int] = [], unreadable: UnreadableFile? = nil) {
        self.file = file
        self.cases = cases
        self.results = results
        self.localPositions = localPositions
        self.unreadable = unreadable
    }
}

/// How a run in determinism mode was made, for the report.
public struct DeterminismInfo: Codable, Sendable, Equatable {
    public var repeats: Int
    public var requireDeterministic: Bool
    /// The thread counts sources that take one were also run at.
    public var threadCounts: [Int]
    /// Sources that read recorded results and so cannot be repeated.
    public var notRepeated: [String]

    public init(repeats: Int, requireDeterministic: Bool, threadCounts: [Int], notRepeated: [String]) {
        self.repeats = repeats
        self.requireDeterministic = requireDeterministic
        self.threadCounts = threadCounts
        self.notRepeated = notRepeated
    }
}
