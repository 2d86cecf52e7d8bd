import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// The renderer of a bench run's data model, `BenchReport`: Markdown for people and a
/// self-contained SVG bar chart, both built from the `BenchReport` alone (the JSON is the
/// model itself, written by `ReportJSON`).
public enum PerformanceReport {
    /// File name of the chart, next to performance.md.
    public static let chartFile = "performance.svg"

    // MARK: Markdown

    public static func markdown(_ report: BenchReport) -> String {
        let shapes = report.shapes
        let kernels = kernels(report, .forward)
        let allKernels = report.kernels
        var out = "# Performance report\n\n"
        if let command = report.command { out += "`\(command)`\n\n" }
        out += machineSection(report)
        out += "![GFLOP/s per shape and kernel, forward pass](\(chartFile))\n\n"

        out += "## GFLOP/s at the median time\(report.results.contains(where: \.isBackward) ? ", forward pass" : "")\n\n"
        out += "| shape | GFLOP | " + kernels.map { "\($0) (\(threadsLabel(report, kernel: $0)))" }.joined(separator: " | ") + " |\n"
        out += "|---|---:|" + String(repeating: "---:|", count: kernels.count) + "\n"
        for shape in shapes {
            let flops = report.results.first { $0.shape == shape && !$0.isBackward }?.flops
            out += "| \(label(shape)) | \(flops.map { number($0 / 1e9) } ?? "–") | "
            out += kernels.map { kernel in result(report, shape, kernel).map { number($0.gflops) } ?? "–" }.joined(separator: " | ") + " |\n"
        }

        out += "\n## Per shape\n\n"
        out += "Times are wall-clock milliseconds of one call; GFLOP/s at the median time; % of peak against the FMA peak "
            + "for the kernel's thread count; peak extra memory is the most resident memory the first call added (output included), see the method above.\n"
        for shape in shapes {
            let rows = report.results.filter { $0.shape == shape }
            out += "\n### \(label(shape))\n\n`\(shape)`"
            if let flops = rows.first(where: { !$0.isBackward })?.flops { out += ": \(number(flops / 1e9)) GFLOP" }
            if let flops = rows.first(where: \.isBackward)?.flops { out += " forward, \(number(flops / 1e9)) GFLOP backward" }
            out += "\n\n| kernel | threads | median ms | min ms | GFLOP/s | % of peak | peak extra memory | runs |\n"
            out += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
            for (kernel, pass) in BenchPass.allCases.flatMap({ pass in allKernels.map { ($0, pass) } }) {
                guard let r = result(report, shape, kernel, pass) else { continue }
                let name = (r.version.map { "\(r.kernel) \($0)" } ?? r.kernel) + (pass == .backward ? " (backward)" : "")
                let runs = (r.runs.map(String.init) ?? "–") + (r.cutShort == nil ? "" : " (cut short)")
                out += "| \(name) | \(r.threads) | \(milliseconds(r.medianMs)) | \(milliseconds(r.minMs)) | \(number(r.gflops)) | "
                out += "\(r.peakFraction.map { String(format: "%.1f%%", 100 * $0) } ?? "–") | \(bytes(r.peakExtraBytes)) | \(runs) |\n"
            }
            for skip in report.skipped where skip.shape == shape {
                out += "| \(skip.kernel)\(skip.pass.map { " (\($0))" } ?? "") | | skipped | | | | | |\n"
            }
        }

        out += ratioSection(report)
        out += backwardSection(report)
        out += againstSimdSection(report)
        out += skippedSection(report)
        if !report.notes.isEmpty {
            out += "\n## Notes\n\n" + report.notes.map { "- \($0)\n" }.joined()
        }
        return out
    }

    private static func machineSection(_ report: BenchReport) -> String {
        let m = report.machine
        var out = "## Machine and method\n\n"
        out += "- CPU: \(m.cpu), \(m.cores) logical cores; multithreaded kernels and peers use \(m.threads) thread\(m.threads == 1 ? "" : "s")\n"
        if let one = m.peakGflopsOneThread {
            out += "- FMA peak (\(m.hasAVX512 ? 512 : 256)-bit, the widest vectors dcn's kernels use here): \(number(one)) GFLOP/s on 1 thread"
            if let all = m.peakGflopsAllThreads, m.threads > 1 { out += ", \(number(all)) GFLOP/s on \(m.threads) threads" }
            out += " (\(m.peakMethod ?? "measured at start"))\n"
        }
        if m.hasAVX512 {
            out += "- This CPU has AVX-512F: simd and threaded multiply with their 14×32 AVX-512 microkernel and fp16acc with its 12×32 one "
                + "(chosen at run time; 6×16 on AVX2 and F16C elsewhere, with bit-identical results)\n"
        }
        if let s = report.settings {
            out += "- Timing: \(s.warmupRuns) warm-up run\(s.warmupRuns == 1 ? "" : "s"), then up to \(s.runs) timed runs "
                + "(at least \(s.minRuns)) within a budget of \(number(s.maxSeconds)) s per shape and kernel; median and minimum "
                + "wall time of one call on prepared inputs; GFLOP/s = 2·N·Co·(C/groups)·kh·kw·Ho·Wo / time (SPEC section 5)\n"
            out += "- Inputs: float32, no bias, seed \(s.seed): x and weight uniform in [-1, 1), offsets uniform in [-2, 2], masks in [0, 1)\n"
        }
        if let memory = m.memoryMethod { out += "- Peak extra memory, measured on the first call of each shape and kernel: \(memory)\n" }
        if let load = m.loadAverage {
            out += String(format: "- Load average (1 min) when the run started: %.2f on %d cores", load, m.cores)
            out += load >= 0.5 ? ": other work was competing for the cores, so times are noisy\n" : "\n"
        }
        if let runtime = m.runtime { out += "- Runtime: \(runtime)\(m.os.map { " on \($0)" } ?? "")\n" }
        return out + "\n"
    }

    /// dcn kernel against peer, per shape and as a geometric mean: peer time / kernel time, one table per dcn kernel.
    private static func ratioSection(_ report: BenchReport) -> String {
        let ours = report.kernels.filter { kernel in report.results.contains { $0.kernel == kernel && !$0.isPeer && !$0.isBackward } }
        let peers = report.kernels.filter { kernel in report.results.contains { $0.kernel == kernel && $0.isPeer && !$0.isBackward } }
        guard !ours.isEmpty, !peers.isEmpty else { return "" }
        var out = "\n## dcn kernels against peers\(report.results.contains(where: \.isBackward) ? ", forward pass" : "")\n\n"
        out += "Speed-up = the peer's median time / the dcn kernel's median time on the same shape: above 1 the dcn kernel is faster. "
            + "The geometric mean is over the shapes both ran.\n"
        for kernel in ours {
            out += "\n### \(kernel) (\(threadsLabel(report, kernel: kernel)))\n\n"
            out += ratioTable(report, columns: peers, header: { "vs \($0) (\(threadsLabel(report, kernel: $0)))" }) { shape, peer in
                guard let mine = result(report, shape, kernel), let theirs = result(report, shape, peer) else { return nil }
                return theirs.medianMs / mine.medianMs
            }
        }
        return out
    }

    /// The backward pass: GFLOP/s (the two GEMMs' count), dcn kernels against the peers' backward
    /// (torchvision's autograd, MindSpore's GradOperation), and backward time over forward time per kernel.
    private static func backwardSection(_ report: BenchReport) -> String {
        let kernels = kernels(report, .backward)
        let skips = report.skipped.filter { $0.pass == BenchPass.backward.rawValue }
        guard !kernels.isEmpty || !skips.isEmpty else { return "" }
        var out = "\n## Backward pass\n\n"
        out += "The backward computes gx, gweight and goffsets from a seeded gy (uniform in [-1, 1), drawn after the inputs), timed like the "
            + "forward (warm-up, repeats, median and minimum, peak extra memory with the three gradients as output). "
            + "GFLOP/s = 4·N·Co·(C/groups)·kh·kw·Ho·Wo / time (the two GEMMs; sampling and its gradients are part of the time, not of the count). "
            + "Peers: torchvision's autograd backward of deform_conv2d (only the backward call timed), MindSpore's GradOperation (forward included, it cannot be separated).\n\n"
        if !kernels.isEmpty {
            out += "### GFLOP/s at the median time, backward\n\n"
            out += "| shape | GFLOP | " + kernels.map { "\($0) (\(threadsLabel(report, kernel: $0)))" }.joined(separator: " | ") + " |\n"
            out += "|---|---:|" + String(repeating: "---:|", count: kernels.count) + "\n"
            for shape in report.shapes {
                let flops = report.results.first { $0.shape == shape && $0.isBackward }?.flops
                out += "| \(label(shape)) | \(flops.map { number($0 / 1e9) } ?? "–") | "
                out += kernels.map { kernel in result(report, shape, kernel, .backward).map { r in
                    number(r.gflops) + (r.peakFraction.map { String(format: " (%.0f%%)", 100 * $0) } ?? "")
                } ?? "–" }.joined(separator: " | ") + " |\n"
            }
            out += "\nIn brackets: the fraction of the measured FMA peak for the kernel's thread count.\n"
        }
        let ours = kernels.filter { kernel in report.results.contains { $0.kernel == kernel && !$0.isPeer && $0.isBackward } }
        let peers = kernels.filter { kernel in report.results.contains { $0.kernel == kernel && $0.isPeer && $0.isBackward } }
        if !ours.isEmpty && !peers.isEmpty {
            out += "\n### dcn kernels against peers, backward\n\n"
            out += "Speed-up = the peer's backward median time / the dcn kernel's: above 1 the dcn kernel is faster.\n\n"
            out += ratioTable(report, columns: ours.flatMap { kernel in peers.map { (kernel, $0) } }.map { "\($0.0)\u{1}\($0.1)" },
                              header: { column in
                                  let parts = column.split(separator: "\u{1}").map(String.init)
                                  return "\(parts[0]) vs \(parts[1])"
                              }) { shape, column in
                let parts = column.split(separator: "\u{1}").map(String.init)
                guard let mine = result(report, shape, parts[0], .backward), let theirs = result(report, shape, parts[1], .backward) else { return nil }
                return theirs.medianMs / mine.medianMs
            }
        }
        let both = kernels.filter { kernel in report.results.contains { $0.kernel == kernel && !$0.isBackward } }
        if !both.isEmpty {
            out += "\n### Backward time over forward time\n\n"
            out += "The backward median time / the forward median time of the same kernel on the same shape (about 2 for a balanced backward: twice the FLOPs).\n\n"
            out += ratioTable(report, columns: both, header: { "\($0) (\(threadsLabel(report, kernel: $0)))" }) { shape, kernel in
                guard let forward = result(report, shape, kernel, .forward), let backward = result(report, shape, kernel, .backward) else { return nil }
                return backward.medianMs / forward.medianMs
            }
        }
        if !skips.isEmpty {
            out += "\nNo backward timed for: " + skips.map { "\($0.kernel)\($0.shape.map { " on \(label($0))" } ?? "") (\($0.reason))" }.joined(separator: "; ") + ".\n"
        }
        return out
    }

    /// Each other dcn kernel's time over simd's, the yardstick of issue targets such as
    /// "fp16acc within 4× of simd's time".
    private static func againstSimdSection(_ report: BenchReport) -> String {
        let yardstick = "simd"
        let others = report.kernels.filter { kernel in
            kernel != yardstick && report.results.contains { $0.kernel == kernel && !$0.isPeer && !$0.isBackward }
        }
        guard report.results.contains(where: { $0.kernel == yardstick && !$0.isPeer && !$0.isBackward }), !others.isEmpty else { return "" }
        var out = "\n## dcn kernels against \(yardstick)\n\n"
        out += "Time relative to \(yardstick) = the kernel's median time / \(yardstick)'s median time on the same shape: "
            + "below 1 the kernel is faster. threaded's figure shows what its threads gain, fp16acc's what rounding "
            + "every update to half costs.\n\n"
        out += ratioTable(report, columns: others, header: { "\($0) (\(threadsLabel(report, kernel: $0)))" }) { shape, kernel in
            guard let base = result(report, shape, yardstick), let mine = result(report, shape, kernel) else { return nil }
            return mine.medianMs / base.medianMs
        }
        return out
    }

    /// Rows of `ratio(shape, column)` per shape ("–" where it is nil), closed by each column's
    /// geometric mean over the shapes that have a ratio.
    private static func ratioTable(_ report: BenchReport, columns: [String], header: (String) -> String,
                                   ratio: (_ shape: String, _ column: String) -> Double?) -> String {
        var out = "| shape | " + columns.map(header).joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---:|", count: columns.count) + "\n"
        var logs = Array(repeating: [Double](), count: columns.count)
        for shape in report.shapes {
            out += "| \(label(shape)) | " + columns.enumerated().map { index, column in
                guard let value = ratio(shape, column) else { return "–" }
                logs[index].append(log(value))
                return speedup(value)
            }.joined(separator: " | ") + " |\n"
        }
        out += "| **geometric mean** | " + logs.map { values in
            values.isEmpty ? "–" : "**\(speedup(exp(values.reduce(0, +) / Double(values.count))))** (\(values.count) shape\(values.count == 1 ? "" : "s"))"
        }.joined(separator: " | ") + " |\n"
        return out
    }

    private static func speedup(_ ratio: Double) -> String {
        ratio >= 100 ? String(format: "%.0f×", ratio) : String(format: ratio >= 10 ? "%.1f×" : "%.2f×", ratio)
    }

    private static func skippedSection(_ report: BenchReport) -> String {
        let cut = report.results.filter { $0.cutShort != nil }
        var out = "\n## Skipped and cut short\n\n"
        if report.skipped.isEmpty && cut.isEmpty { return out + "Nothing was skipped or cut short.\n" }
        for skip in report.skipped {
            out += "- **\(skip.kernel)** skipped\(skip.shape.map { " on \(label($0))" } ?? ""): \(skip.reason)\n"
        }
        for r in cut {
            out += "- **\(r.kernel)** on \(label(r.shape)) cut short: \(r.cutShort!)\n"
        }
        return out
    }

    // MARK: SVG

    /// A grouped bar chart of GFLOP/s: one group per shape, one bar per kernel and peer, plain SVG 1.1.
    /// The forward pass only: backward results are in performance.md's tables.
    public static func svg(_ full: BenchReport) -> String {
        var report = full
        report.results.removeAll(where: \.isBackward)
        let shapes = report.shapes
        let kernels = report.kernels
        let palette = SVG.palette
        let barWidth = 18.0, barGap = 2.0, groupGap = 28.0
        let left = 64.0, right = 24.0, top = 48.0, plotHeight = 300.0
        let legendRowHeight = 18.0
        let groupWidth = max(Double(kernels.count) * (barWidth + barGap) - barGap, 40)
        // Wide enough for the title even with one or two shapes.
        let plotWidth = max(Double(shapes.count) * (groupWidth + groupGap) + groupGap, 520)
        let bottom = 64.0 + legendRowHeight * Double(kernels.count)
        let width = left + plotWidth + right
        let height = top + plotHeight + bottom

        let maxValue = report.results.map(\.gflops).filter(\.isFinite).max() ?? 0
        let step = niceStep(maxValue / 5)
        let axisMax = max(step * (maxValue / step).rounded(.up), step)
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(value, axisMax) / axisMax) }

        var svg = SVG.header(width: width, height: height, title: "GFLOP/s per shape and kernel")
        let threads = report.machine.threads
        svg += "<text x=\"\(f(left))\" y=\"24\" font-size=\"14\" font-weight=\"bold\">\(escape("Deformable conv2d, float32: GFLOP/s at the median time (higher is better)"))</text>\n"
        var subtitle = "\(report.machine.cpu), \(threads) thread\(threads == 1 ? "" : "s") for multithreaded kernels and peers"
        if let load = report.machine.loadAverage, load >= 0.5 { subtitle += String(format: "; load average %.2f at the start: noisy", load) }
        svg += "<text x=\"\(f(left))\" y=\"40\" fill=\"#555555\">\(escape(subtitle))</text>\n"

        var tick = 0.0
        while tick <= axisMax + step / 2 {
            let ty = y(tick)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(ty))\" stroke=\"#dddddd\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(ty + 4))\" text-anchor=\"end\">\(String(format: "%g", tick))</text>\n"
            tick += step
        }
        svg += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">GFLOP/s</text>\n"
        if let peak = report.machine.peakGflopsAllThreads ?? report.machine.peakGflopsOneThread, peak <= axisMax {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(peak)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(peak)))\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n"
            svg += "<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(y(peak) - 4))\" text-anchor=\"end\" fill=\"#777777\">FMA peak</text>\n"
        }

        for (s, shape) in shapes.enumerated() {
            let x0 = left + groupGap + Double(s) * (groupWidth + groupGap)
            for (k, kernel) in kernels.enumerated() {
                guard let r = result(report, shape, kernel), r.gflops.isFinite else { continue }
                let x = x0 + Double(k) * (barWidth + barGap)
                let barTop = y(r.gflops)
                svg += "<rect x=\"\(f(x))\" y=\"\(f(barTop))\" width=\"\(f(barWidth))\" height=\"\(f(top + plotHeight - barTop))\" fill=\"\(palette[k % palette.count])\">"
                svg += "<title>\(escape("\(label(shape)) \(kernel): \(number(r.gflops)) GFLOP/s, median \(number(r.medianMs)) ms, \(r.threads) thread\(r.threads == 1 ? "" : "s")"))</title></rect>\n"
                svg += "<text transform=\"translate(\(f(x + barWidth / 2 + 3)) \(f(barTop - 3))) rotate(-90)\" font-size=\"9\">\(number(r.gflops))</text>\n"
            }
            svg += "<text x=\"\(f(x0 + groupWidth / 2))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(escape(label(shape)))</text>\n"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333333\"/>\n"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333333\"/>\n"

        for (k, kernel) in kernels.enumerated() {
            let ly = top + plotHeight + 36 + Double(k) * legendRowHeight
            let sample = report.results.first { $0.kernel == kernel }
            var text = kernel
            if let version = sample?.version { text += " \(version)" }
            text += " (\(threadsLabel(report, kernel: kernel))\(sample?.isPeer == true ? ", peer" : ""))"
            svg += "<rect x=\"\(f(left))\" y=\"\(f(ly - 10))\" width=\"12\" height=\"12\" fill=\"\(palette[k % palette.count])\"/>\n"
            svg += "<text x=\"\(f(left + 18))\" y=\"\(f(ly))\">\(escape(text))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Writes performance.md and performance.svg to `folder`, creating it if needed.
    public static func write(_ report: BenchReport, to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: folder)
        try Data(markdown(report).utf8).write(to: base.appendingPathComponent("performance.md"))
        try Data(svg(report).utf8).write(to: base.appendingPathComponent(chartFile))
    }

    // MARK: Helpers

    private static func result(_ report: BenchReport, _ shape: String, _ kernel: String, _ pass: BenchPass = .forward) -> BenchResult? {
        report.results.first { $0.shape == shape && $0.kernel == kernel && $0.pass == pass.rawValue }
    }

    /// The kernels with a result for `pass`, in `report.kernels`' order.
    private static func kernels(_ report: BenchReport, _ pass: BenchPass) -> [String] {
        report.kernels.filter { kernel in report.results.contains { $0.kernel == kernel && $0.pass == pass.rawValue } }
    }

    private static func threadsLabel(_ report: BenchReport, kernel: String) -> String {
        let counts = Set(report.results.filter { $0.kernel == kernel }.map(\.threads)).sorted()
        let text = counts.map(String.init).joined(separator: "/")
        return counts == [1] ? "1 thread" : "\(text) threads"
    }

    /// The descriptor's name, or the whole canonical descriptor when it has none.
    public static func label(_ shape: String) -> String {
        shape.firstIndex(of: ":").map { String(shape[..<$0]) } ?? shape
    }

    /// Times down to the microsecond without an exponent.
    static func milliseconds(_ value: Double) -> String {
        value.isFinite && value > 0 && value < 0.01 ? String(format: "%.4f", value) : number(value)
    }

    /// Three significant digits, without an exponent for everyday magnitudes.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : "∞" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        if magnitude >= 0.01 { return String(format: "%.3g", value) }
        return String(format: "%.2e", value)
    }

    private static func bytes(_ value: Int?) -> String {
        guard let value else { return "–" }
        if value >= 1 << 20 { return String(format: "%.1f MiB", Double(value) / 1_048_576) }
        if value >= 1 << 10 { return String(format: "%.0f KiB", Double(value) / 1024) }
        return "\(value) B"
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    private static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        for factor in [1.0, 2, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }

    private static func f(_ value: Double) -> String { SVG.f(value) }

    private static func escape(_ text: String) -> String { XMLText.escape(text) }
}
