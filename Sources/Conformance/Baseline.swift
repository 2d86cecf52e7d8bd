import Foundation

extension BenchReport {
    /// Several runs of the same build read as one: per (shape, kernel, threads) the lowest minimum
    /// and the lowest median of the runs. Noise on a shared machine only ever slows a run down, so
    /// the best of two runs is nearer the build's own speed than either (`dcn compare` and
    /// `dcn baseline` read several bench files of one side this way).
    public static func best(of runs: [BenchReport], sources: [String] = []) -> BenchReport {
        guard var merged = runs.first else { preconditionFailure("best(of:) needs at least one run") }
        for run in runs.dropFirst() {
            for result in run.results {
                let same = { (r: BenchResult) in r.shape == result.shape && r.kernel == result.kernel && r.threads == result.threads }
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

/// The accepted baseline that `dcn compare` gates against: `reports/baseline/accuracy.json`
/// (a verify report) and `reports/baseline/performance.json` (a bench report).
public enum Baseline {
    public static let defaultFolder = "reports/baseline"

    public struct Accepted: Sendable {
        public var files: [String] = []
        public var warnings: [String] = []
    }

    /// Copies the verify report and the best of the bench reports among `paths` (files, or folders
    /// holding accuracy.json and performance.json) into `folder`, after checking they read.
    public static func accept(_ paths: [String], to folder: String = defaultFolder) throws(CompareError) -> Accepted {
        let side = try CompareSide.load(paths)
        guard side.verify != nil || side.bench != nil else { throw CompareError("no verify or bench report among \(paths.joined(separator: ", "))") }
        var accepted = Accepted()
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if let verify = side.verify {
                let target = (folder as NSString).appendingPathComponent("accuracy.json")
                try Report.json(verify).write(to: URL(fileURLWithPath: target))
                accepted.files.append(target)
                if verify.summary.failed > 0 || !verify.unreadable.isEmpty {
                    accepted.warnings.append("the accepted verify report has \(verify.summary.failed) failing case(s): later runs are gated only against new failures")
                }
            }
            if let bench = side.bench {
                let target = (folder as NSString).appendingPathComponent("performance.json")
                try bench.json().write(to: URL(fileURLWithPath: target))
                accepted.files.append(target)
                for (path, run) in zip(side.benchPaths, side.benchRuns) {
                    if let load = run.machine.loadAverage, load >= Double(run.machine.cores) {
                        accepted.warnings.append(String(format: "%@ was timed at load average %.2f on %d cores: other work inflated its times, "
                            + "so later runs will look faster and a slowdown can hide in the wide bands; accept a run timed on a quiet machine",
                            path, load, run.machine.cores))
                    }
                }
                if side.benchRuns.count == 1 {
                    accepted.warnings.append("one bench run accepted: the best of two runs (give two bench files) makes a steadier baseline")
                }
            }
        } catch {
            throw CompareError("cannot write the baseline to \(folder): \(error.localizedDescription)")
        }
        return accepted
    }
}
