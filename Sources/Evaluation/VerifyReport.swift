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
    }

    public var summary = Summary()
    /// The sources of the run (built-in kernels, plugins, outputs files), in the order of their results.
    public var kernels: [SourceIdentity] = []
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
