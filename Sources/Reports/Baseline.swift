import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

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
                try ReportJSON.encode(verify).write(to: URL(fileURLWithPath: target))
                accepted.files.append(target)
                if verify.summary.failed > 0 || !verify.unreadable.isEmpty {
                    accepted.warnings.append("the accepted verify report has \(verify.summary.failed) failing case(s): later runs are gated only against new failures")
                }
            }
            if let bench = side.bench {
                let target = (folder as NSString).appendingPathComponent("performance.json")
                try ReportJSON.encode(bench).write(to: URL(fileURLWithPath: target))
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
