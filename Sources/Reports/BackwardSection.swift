import DeformConv
import Evaluation
import Foundation
import Scoring

/// The accuracy report's backward part (SPEC section 7): per kernel, how its backward cases went and
/// the worst ratio of each gradient tensor, and the worst element of every failing backward part.
enum BackwardSection {
    /// One kernel's backward parts: counts, the worst ratio per gradient tensor (nil where none was
    /// checked), the conventions its failures match. The Markdown report and the HTML page render these.
    struct Row {
        var kernel: String
        var cases: Int
        var passed: Int
        var failed: Int
        var notImplemented: Int
        var worstRatios: [String: Double?]
        var conventions: String
    }

    static func rows(_ report: VerifyReport) -> [Row] {
        report.kernels.map(\.name).compactMap { kernel in
            let parts = report.results.filter { $0.kernel == kernel }.compactMap(\.backward)
            guard !parts.isEmpty else { return nil }
            var worst: [String: Double?] = [:]
            for name in GradientStats.tensorNames {
                let ratios = parts.flatMap(\.tensors).filter { $0.tensor == name }.map(\.worstRatio)
                worst[name] = ratios.max { AccuracyStats.isWorse($1, than: $0) }
            }
            return Row(kernel: kernel, cases: parts.count, passed: parts.count { $0.status == .pass },
                       failed: parts.count { $0.status == .fail }, notImplemented: parts.count { $0.status == .notImplemented },
                       worstRatios: worst, conventions: conventions(parts))
        }
    }

    static func markdown(_ report: VerifyReport) -> String {
        let withBackward = report.results.filter { $0.backward != nil }
        guard !withBackward.isEmpty else { return "" }
        var out = "\n## Backward (SPEC section 7)\n\n"
        out += """
            Each gradient element is held to |g_kernel − g| ≤ γ_{L+8}(u_acc)·abs + 8·u_s·abs + 2·u_s·pos + jump + 2·η·(L + 2 + abs) + ½·ulp_out(g); \
            exact backward cases allow no error for float32 kernels. A kernel without a backward pass reports its backward cases as not implemented: \
            counted, never a pass. Where a kernel's offsets gradient fails only at integer positions and matches another convention \
            there (the derivative from the left, central, or mmcv's zero at p = −1), the last column names it: still a failure, \
            the contract is the derivative from the right.\n\n
            """
        let tensors = GradientStats.tensorNames
        out += "| kernel | backward cases | passed | failed | not implemented | " + tensors.joined(separator: " | ") + " | other convention |\n"
        out += "|---|---:|---:|---:|---:|" + String(repeating: "---:|", count: tensors.count) + "---|\n"
        for row in rows(report) {
            out += "| \(row.kernel) | \(row.cases) | \(row.passed) | \(row.failed) | \(row.notImplemented) | "
            out += tensors.map { AccuracyReport.format(ratio: row.worstRatios[$0] ?? nil) }.joined(separator: " | ") + " | \(row.conventions) |\n"
        }
        let failures = withBackward.filter { $0.backward?.status == .fail }
        if !failures.isEmpty {
            out += "\n### Backward failures\n\n"
            for result in failures {
                out += "- **\(result.caseName)** (\(result.file)) with **\(result.kernel)**: \(result.backward?.message ?? "failed")\n"
                let elements = (result.backward?.tensors ?? []).flatMap(\.failures).prefix(AccuracyStats.keptFailures)
                guard !elements.isEmpty else { continue }
                out += "\n  | tensor | index | expected | got | bound | ratio |\n  |---|---|---:|---:|---:|---:|\n"
                for e in elements {
                    out += "  | \(e.tensor) | \(e.index.map(String.init).joined(separator: ", ")) | \(e.expected) | \(e.got) | \(AccuracyReport.format(e.bound)) | \(AccuracyReport.format(ratio: e.ratio)) |\n"
                }
                out += "\n"
            }
        }
        return out
    }

    /// "mmcv's zero at p = −1 (17 cases)" for each convention the kernel's failing offsets gradients match; "–" for none.
    static func conventions(_ parts: [BackwardResult]) -> String {
        let matched = parts.compactMap(\.convention)
        let names = matched.enumerated().filter { !matched[..<$0.offset].contains($0.element) }.map(\.element)
        guard !names.isEmpty else { return "–" }
        return names.map { name in
            let count = matched.count { $0 == name }
            return "\(DerivativeConvention(rawValue: name)?.summary ?? name) (\(count) case\(count == 1 ? "" : "s"))"
        }.joined(separator: ", ")
    }
}
