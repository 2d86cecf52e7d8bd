import DeformConv
import Foundation
import Evaluation
import Formats
import Scoring
import Suites

/// The outcome of `dcn bench` (SPEC section 6): the machine and one result per
/// (shape, kernel), plus what was skipped and why. This is the data model (performance.json,
/// written by `ReportJSON`); `PerformanceReport` renders it as performance.md and performance.svg.
///
/// `tools/bench/peers.py` writes the same schema for onnxruntime, torchvision
/// and MindSpore, so a peers file merges into a report of dcn's own.
public struct BenchReport: Codable, Sendable, Equatable {
    public var machine: MachineInfo
    public var results: [BenchResult]
    /// Pairs that were not timed, or whole peers that are not installed.
    @Defaulted<DefaultEmpty<BenchSkip>> public var skipped: [BenchSkip]
    /// How the timings were taken.
    public var settings: BenchSettings?
    /// The command line that produced the report.
    public var command: String?
    /// Caveats found while merging, e.g. peers timed on another machine or thread count.
    @Defaulted<DefaultEmpty<String>> public var notes: [String]

    public init(machine: MachineInfo, results: [BenchResult] = [], skipped: [BenchSkip] = [],
                settings: BenchSettings? = nil, command: String? = nil, notes: [String] = []) {
        self.machine = machine
        self.results = results
        self.skipped = skipped
        self.settings = settings
        self.command = command
        self.notes = notes
    }

    /// This report with the results and skips of `peers` added.
    ///
    /// Peer results are keyed by geometry, so a peer's descriptor matches dcn's
    /// even if written differently; their fraction of peak is computed with this
    /// report's machine when the peer ran on the same CPU with the same threads.
    public func merging(_ peers: BenchReport, from source: String) -> BenchReport {
        var merged = self
        let sameMachine = peers.machine.cpu == machine.cpu && peers.machine.cores == machine.cores
        if !sameMachine {
            merged.notes.append("\(source) was measured on \(peers.machine.cpu) with \(peers.machine.cores) cores, "
                + "not on this machine (\(machine.cpu), \(machine.cores) cores): its times do not compare")
        }
        if peers.machine.threads != machine.threads {
            merged.notes.append("\(source) used \(peers.machine.threads) threads, this run \(machine.threads)")
        }
        for var result in peers.results {
            if let canonical = try? ProblemDescriptor(parsing: result.shape) {
                result.shape = canonical.description
            }
            if sameMachine, let peak = machine.peakGflops(threads: result.threads), peak > 0 {
                result.peakFraction = result.gflops / peak
            }
            result.source = result.source ?? "peer"
            merged.results.removeAll { $0.kernel == result.kernel && $0.shape == result.shape && $0.threads == result.threads && $0.pass == result.pass }
            merged.results.append(result)
        }
        merged.skipped += peers.skipped
        return merged
    }

    /// This report with `machine` replaced and every fraction of peak recomputed from it.
    ///
    /// Results without a fraction keep none: they were measured on another machine.
    public func withMachine(_ machine: MachineInfo) -> BenchReport {
        var copy = self
        copy.machine = machine
        for index in copy.results.indices where copy.results[index].peakFraction != nil {
            let peak = machine.peakGflops(threads: copy.results[index].threads)
            copy.results[index].peakFraction = peak.flatMap { $0 > 0 ? copy.results[index].gflops / $0 : nil }
        }
        return copy
    }

    /// The shapes in the order they first appear in the results and skips.
    public var shapes: [String] {
        var seen: [String] = []
        for shape in results.map(\.shape) + skipped.compactMap(\.shape) where !seen.contains(shape) {
            seen.append(shape)
        }
        return seen
    }

    /// The kernels and peers in the order they first appear, dcn's own first.
    public var kernels: [String] {
        var seen: [String] = []
        let ordered = results.filter { !$0.isPeer } + results.filter(\.isPeer)
        for kernel in ordered.map(\.kernel) where !seen.contains(kernel) {
            seen.append(kernel)
        }
        return seen
    }
}

extension BenchReport {
    /// Several runs of the same build read as one: per (shape, kernel, threads) the lowest minimum
    /// and the lowest median of the runs. Noise on a shared machine only ever slows a run down, so
    /// the best of two runs is nearer the build's own speed than either (`dcn compare` and
    /// `dcn baseline` read several bench files of one side this way).
    public static func best(of runs: [BenchReport], sources: [String] = []) -> BenchReport {
        guard var merged = runs.first else { preconditionFailure("best(of:) needs at least one run") }
        for run in runs.dropFirst() {
            for result in run.results {
                let same = { (r: BenchResult) in r.shape == result.shape && r.kernel == result.kernel && r.threads == result.threads && r.pass == result.pass }
                guard let index = merged.results.firstIndex(where: same) else {
                    merged.results.append(result)
                    continue
                }
                var best = merged.results[index]
                best.minMs = min(best.minMs, result.minMs)
                if result.medianMs < best.medianMs {
                    best.medianMs = result.medianMs
                    best.gflops = result.gflops
                    best.peakFraction = result.peakFraction
                }
                best.medianMs = max(best.medianMs, best.minMs)
                if let flops = best.flops, best.minMs > 0 { best.gflopsBest = flops / best.minMs / 1e9 }
                best.runs = (best.runs ?? 0) + (result.runs ?? 0)
                merged.results[index] = best
            }
            for skip in run.skipped where !merged.skipped.contains(skip) { merged.skipped.append(skip) }
            if run.machine.cpu != merged.machine.cpu || run.machine.cores != merged.machine.cores {
                merged.notes.append("a run merged into this one ran on \(run.machine.cpu) with \(run.machine.cores) cores")
            }
            if let load = run.machine.loadAverage { merged.machine.loadAverage = min(merged.machine.loadAverage ?? load, load) }
        }
        if runs.count > 1 {
            let names = sources.isEmpty ? "" : ": " + sources.joined(separator: ", ")
            merged.notes.append("best of \(runs.count) runs\(names) (per shape and kernel, the lowest minimum and the lowest median; runs counts them all)")
        }
        return merged
    }
}

/// The timing of one kernel or peer on one shape.
public struct BenchResult: Codable, Sendable, Equatable {
    /// The problem descriptor in canonical form (SPEC section 5), with its name if it has one.
    public var shape: String
    public var kernel: String
    public var threads: Int
    public var medianMs: Double
    public var minMs: Double
    /// GFLOP/s at the median time, counting SPEC section 5's FLOPs.
    public var gflops: Double
    /// GFLOP/s at the best time.
    public var gflopsBest: Double?
    /// SPEC section 5's FLOP count of the shape.
    public var flops: Double?
    /// Timed runs (after the warm-up) the median and minimum are taken over.
    public var runs: Int?
    public var warmupRuns: Int?
    /// `gflops` over the machine's measured FMA peak for this many threads.
    public var peakFraction: Double?
    /// Peak extra resident memory of one run, output included (see `MachineInfo.memoryMethod`).
    public var peakExtraBytes: Int?
    /// Bytes of the output array, part of `peakExtraBytes`.
    public var outputBytes: Int?
    /// Why fewer runs were timed than asked for, if they were.
    public var cutShort: String?
    /// "dcn" for this package's kernels, "peer" for other libraries.
    public var source: String?
    /// The peer library's version.
    public var version: String?
    /// Which pass was timed: "forward" or "backward" (`BenchPass`); JSON without it is a forward result.
    @Defaulted<DefaultForwardPass> public var pass: String

    public init(shape: String, kernel: String, threads: Int, medianMs: Double, minMs: Double, gflops: Double,
                gflopsBest: Double? = nil, flops: Double? = nil, runs: Int? = nil, warmupRuns: Int? = nil,
                peakFraction: Double? = nil, peakExtraBytes: Int? = nil, outputBytes: Int? = nil,
                cutShort: String? = nil, source: String? = nil, version: String? = nil, pass: String = BenchPass.forward.rawValue) {
        self.shape = shape
        self.kernel = kernel
        self.threads = threads
        self.medianMs = medianMs
        self.minMs = minMs
        self.gflops = gflops
        self.gflopsBest = gflopsBest
        self.flops = flops
        self.runs = runs
        self.warmupRuns = warmupRuns
        self.peakFraction = peakFraction
        self.peakExtraBytes = peakExtraBytes
        self.outputBytes = outputBytes
        self.cutShort = cutShort
        self.source = source
        self.version = version
        self.pass = pass
    }

    public var isPeer: Bool { source == "peer" }
    public var isBackward: Bool { pass == BenchPass.backward.rawValue }
}

/// Which pass of the operator `dcn bench` times.
public enum BenchPass: String, Codable, Sendable, Hashable, CaseIterable {
    case forward, backward

    /// The timed pass of a kernel pass.
    public init(_ pass: KernelPass) {
        switch pass {
        case .forward: self = .forward
        case .backward: self = .backward
        }
    }

    /// SPEC section 5's FLOPs for the forward; for the backward the two GEMMs, gx's columns
    /// (weightᵀ·gy) and gweight (gy·columnsᵀ): 4·N·Co·(C/groups)·kh·kw·Ho·Wo.
    public func flops(_ problem: DeformConvProblem) -> Double {
        switch self {
        case .forward: problem.flops
        case .backward: 2 * problem.flops
        }
    }
}

/// A result's pass when the JSON has none: bench JSON from before the backward was timed is all forward.
public enum DefaultForwardPass: DefaultValue {
    public static var value: String { BenchPass.forward.rawValue }
}

/// A (shape, kernel) pair, or a whole peer, that was not timed.
public struct BenchSkip: Codable, Sendable, Equatable {
    /// The shape, or nil when the whole kernel or peer was skipped.
    public var shape: String?
    public var kernel: String
    public var reason: String
    /// The pass that was not timed; nil for forward (and in JSON from before the backward was timed).
    public var pass: String?

    public init(shape: String? = nil, kernel: String, reason: String, pass: String? = nil) {
        self.shape = shape
        self.kernel = kernel
        self.reason = reason
        self.pass = pass
    }
}
