import Formats
import Scoring
import Suites
/// One part of a verify run split over CI jobs: `verify --shard I/N`.
///
/// The (file, case, kernel) list of a run is dealt out round-robin, with every
/// file starting one shard further on: the pair at position t (in case order,
/// kernels inside) of the file at index f belongs to shard (f + t) mod N. The
/// rule needs nothing beyond the file's own position and case list, so each
/// shard (and each reader child process) decides alone, and the shards of one
/// run cover every pair exactly once. A file that cannot be read at all is
/// reported by shard f mod N.
public struct Shard: Codable, Sendable, Equatable, CustomStringConvertible {
    /// 1-based, as in `--shard 2/4`.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// The whole run as one shard.
    public static let all = Shard(index: 1, count: 1)

    /// Parses "I/N" with 1 ≤ I ≤ N.
    public init(parsing text: String) throws(VerifyUsageError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(index) else {
            throw VerifyUsageError(description: "--shard must be I/N with 1 ≤ I ≤ N (e.g. 2/4), got '\(text)'")
        }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether the pair at `position` (case index · kernels + kernel index) of file `fileIndex` is this shard's.
    public func owns(fileIndex: Int, position: Int) -> Bool {
        (fileIndex % count + position % count) % count == index - 1
    }

    /// Whether this shard reports file `fileIndex` when it cannot be read.
    public func ownsUnreadable(fileIndex: Int) -> Bool {
        fileIndex % count == index - 1
    }
}

/// What a shard's JSON report carries so that `merge-reports` can rebuild the
/// unsharded report: the whole run's file list and, for each result, its place
/// in the unsharded order.
public struct ShardInfo: Codable, Sendable, Equatable {
    public var index: Int
    public var count: Int
    /// Every file of the run, in run order (unreadable ones too).
    public var files: [String]
    /// Cases in each file (0 for an unreadable file).
    public var casesPerFile: [Int]
    /// (case, kernel) pairs in the whole run: the length of the unsharded results list.
    public var totalPairs: Int
    /// For each entry of `results`, its index in the unsharded results list.
    public var positions: [Int]

    public var shard: Shard { Shard(index: index, count: count) }
    public var totalCases: Int { casesPerFile.reduce(0, +) }
}
