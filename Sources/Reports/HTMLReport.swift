import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// `reports/index.html`: one static page with inline CSS and SVG, no script and no network,
/// rendered from the data models alone (`VerifyReport`, `BenchReport`, `Comparison`): the state of
/// every kernel at a glance. Its tables are the ones the Markdown renderers build, in HTML.
public enum HTMLReport {
    public struct Inputs: Sendable {
        public var verify: VerifyReport?
        public var verifyPath: String?
        public var bench: BenchReport?
        public var benchPath: String?
        public var comparison: Comparison?
        public var comparisonSource: String?
        /// When the page was written, shown in its header.
        public var generated: Date

        public init(verify: VerifyReport? = nil, verifyPath: String? = nil, bench: BenchReport? = nil, benchPath: String? = nil,
                    comparison: Comparison? = nil, comparisonSource: String? = nil, generated: Date = Date()) {
            self.verify = verify
            self.verifyPath = verifyPath
            self.bench = bench
            self.benchPath = benchPath
            self.comparison = comparison
            self.comparisonSource = comparisonSource
            self.generated = generated
        }
    }

    static func h(_ text: String) -> String { XMLText.escape(text) }

    public static func page(_ inputs: Inputs) -> String {
        var body = header(inputs)
        body += glance(inputs)
        body += accuracySection(inputs)
        body += performanceSection(inputs)
        body += comparisonSection(inputs)
        body += machineSection(inputs)
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>dcn: state of the kernels</title>
        <style>
        \(css)
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    static let css = """
    body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1360px; padding: 16px 24px 48px; color: #1d1d1f; background: #fff; line-height: 1.4; }
    h1 { font-size: 1.6em; margin: 0.3em 0 0.1em; }
    h2 { font-size: 1.25em; margin: 1.6em 0 0.5em; padding-bottom: 4px; border-bottom: 2px solid #e3e3e3; }
    h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
    p.meta, .meta { color: #555; font-size: 0.9em; }
    nav a { margin-right: 14px; color: #2b5f9e; }
    table { border-collapse: collapse; margin: 8px 0 12px; font-size: 0.88em; }
    th, td { border: 1px solid #d9d9d9; padding: 3px 8px; text-align: right; white-space: nowrap; }
    th { background: #f2f4f7; font-weight: 600; }
    td.l, th.l { text-align: left; }
    td.wrap { white-space: normal; min-width: 12em; max-width: 18em; }
    td.state { white-space: normal; min-width: 10em; }
    td.state .badge { margin: 1px 0; }
    tbody tr:nth-child(even) { background: #fafafa; }
    .pass { background: #e3f4e1 !important; }
    .fail { background: #fbdcdc !important; font-weight: 600; }
    .warn { background: #fff1cc !important; }
    .muted { color: #888; }
    .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 0.85em; }
    .badge.ok { background: #2e7d32; color: #fff; }
    .badge.bad { background: #c62828; color: #fff; }
    .badge.neutral { background: #777; color: #fff; }
    .scroll { overflow-x: auto; }
    svg { max-width: 100%; height: auto; }
    ul.notes li { margin: 2px 0; }
    code { background: #f2f2f2; padding: 0 3px; border-radius: 3px; }
    """

    // MARK: Header and glance

    private static func header(_ inputs: Inputs) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime, .withTimeZone]
        var out = "<header>\n<h1>dcn: state of the kernels</h1>\n"
        out += "<p class=\"meta\">Deformable convolution (DCNv2, MindSpore's ops.deformable_conv2d): accuracy against the golden vectors, speed, "
        out += "and the latest comparison. Written by <code>dcn report</code> on \(h(formatter.string(from: inputs.generated))) from "
        let sources = [inputs.verifyPath, inputs.benchPath, inputs.comparisonSource].compactMap { $0 }
        out += sources.isEmpty ? "no report" : sources.map { "<code>\(h($0))</code>" }.joined(separator: ", ")
        out += ".</p>\n<nav><a href=\"#glance\">At a glance</a><a href=\"#accuracy\">Accuracy</a><a href=\"#performance\">Performance</a>"
        out += "<a href=\"#comparison\">Comparison</a><a href=\"#machine\">Machine</a></nav>\n</header>\n"
        return out
    }

    /// One row per kernel: accuracy, speed and the comparison's verdict.
    private static func glance(_ inputs: Inputs) -> String {
        var kernels: [String] = []
        func add(_ names: [String]) { for name in names where !kernels.contains(name) { kernels.append(name) } }
        add(inputs.verify?.kernels.map(\.name) ?? [])
        add(inputs.bench?.results.filter { !$0.isPeer }.map(\.kernel) ?? [])
        var out = "<section id=\"glance\">\n<h2>At a glance</h2>\n"
        if let verify = inputs.verify {
            let s = verify.summary
            let ok = s.failed == 0 && verify.unreadable.isEmpty
            out += "<p>\(badge(ok ? "PASS" : "FAIL", ok)) verify: \(s.passed) passed, \(s.failed) failed (\(s.cases) cases in \(s.files) file\(s.files == 1 ? "" : "s") × \(verify.kernels.count) kernels)"
            if let c = inputs.comparison {
                out += " &nbsp; \(badge(c.regressions.isEmpty ? "NO REGRESSION" : "REGRESSION", c.regressions.isEmpty)) against the baseline"
            }
            out += "</p>\n"
        } else if let c = inputs.comparison {
            out += "<p>\(badge(c.regressions.isEmpty ? "NO REGRESSION" : "REGRESSION", c.regressions.isEmpty)) against the baseline</p>\n"
        }
        guard !kernels.isEmpty else { return out + "<p class=\"muted\">No verify or bench report was found.</p>\n</section>\n" }
        out += "<div class=\"scroll\"><table id=\"glance-table\">\n<thead><tr><th class=\"l\">kernel</th><th class=\"l\">what it is</th><th>u_acc</th>"
        out += "<th>cases passed</th><th>worst ratio</th><th>GFLOP/s (geomean)</th><th>threads</th>"
        out += "<th>time vs baseline</th><th class=\"l\">state</th></tr></thead>\n<tbody>\n"
        let tags = inputs.verify.map { AccuracyReport.tagTable($0).filter { $0.tag == "all" } } ?? []
        for kernel in kernels {
            let description = inputs.verify?.kernels.first { $0.name == kernel }
            let row = tags.first { $0.kernel == kernel }
            let bench = inputs.bench?.results.filter { $0.kernel == kernel && !$0.isPeer } ?? []
            let compare = inputs.comparison?.kernels.first { $0.kernelB == kernel }
            var problems: [String] = []
            var notImplemented = 0
            out += "<tr><td class=\"l\"><b>\(h(kernel))</b></td><td class=\"l wrap\">\(h(description?.summary ?? "–"))</td>"
            out += "<td>\(description.map { "2<sup>\(Int(log2($0.uAcc)))</sup>" } ?? "–")</td>"
            if let row {
                let failing = row.results.cases - row.results.passed - row.notImplemented
                let ok = failing == 0
                if !ok { problems.append("\(failing) failing") }
                notImplemented = row.notImplemented
                out += "<td class=\"\(ok ? "pass" : "fail")\">\(row.results.passed)/\(row.results.cases)</td><td>\(h(AccuracyReport.format(ratio: row.results.worstRatio)))</td>"
            } else {
                out += "<td class=\"muted\">–</td><td class=\"muted\">–</td>"
            }
            let logs = bench.map(\.gflops).filter { $0 > 0 && $0.isFinite }.map { log($0) }
            out += logs.isEmpty ? "<td class=\"muted\">–</td><td class=\"muted\">–</td>"
                : "<td>\(PerformanceReport.number(exp(logs.reduce(0, +) / Double(logs.count)))) (\(logs.count))</td><td>\(Set(bench.map(\.threads)).sorted().map(String.init).joined(separator: "/"))</td>"
            if let compare, compare.shapes > 0 {
                let cls = compare.slowerShapes > 0 ? "fail" : compare.fasterShapes > 0 ? "pass" : ""
                out += "<td class=\"\(cls)\">\(compare.timeRatioGeomean.map(Comparison.factor) ?? "–")"
                if compare.slowerShapes > 0 { out += " (\(compare.slowerShapes) slower)" }
                out += "</td>"
            } else {
                out += "<td class=\"muted\">–</td>"
            }
            if let compare {
                if compare.newlyFailing > 0 { problems.append("\(compare.newlyFailing) newly failing") }
                if compare.accuracyLosses > 0 { problems.append("\(compare.accuracyLosses) accuracy losses") }
                if compare.slowerShapes > 0 { problems.append("slower on \(compare.slowerShapes) shape\(compare.slowerShapes == 1 ? "" : "s")") }
            }
            let ungated = inputs.comparison?.timing.filter { $0.kernelB == kernel && !$0.gated && $0.verdict == .slower }.count ?? 0
            out += "<td class=\"l state\">\(problems.isEmpty ? badge("OK", true) : badge(problems.joined(separator: ", "), false))"
            if ungated > 0 {
                out += " <span class=\"badge neutral\" title=\"it ran on every core: on a shared machine others' work slows it, so its times are shown, not gated\">slower on \(ungated) shape\(ungated == 1 ? "" : "s"), not gated</span>"
            }
            if notImplemented > 0 {
                out += " <span class=\"badge neutral\" title=\"counted apart, never a pass (SPEC section 7)\">backward not implemented on \(notImplemented) case\(notImplemented == 1 ? "" : "s")</span>"
            }
            out += "</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        out += "<p class=\"meta\">Worst ratio: the largest accuracy ratio, error / bound of SPEC section 3, at most 1 passes. GFLOP/s: geometric mean over the shapes timed. Time vs baseline: B's best time over A's, geometric mean over the shapes both timed (below 1× is faster).</p>\n"
        return out + "</section>\n"
    }

    private static func badge(_ text: String, _ ok: Bool) -> String {
        "<span class=\"badge \(ok ? "ok" : "bad")\">\(h(text))</span>"
    }

    // MARK: Accuracy

    private static func accuracySection(_ inputs: Inputs) -> String {
        var out = "<section id=\"accuracy\">\n<h2>Accuracy per kernel and tag</h2>\n"
        guard let verify = inputs.verify else { return out + "<p class=\"muted\">No verify report (run <code>dcn verify</code>).</p>\n</section>\n" }
        let rows = AccuracyReport.tagTable(verify)
        let kernels = verify.kernels.map(\.name)
        var tags: [String] = []
        for row in rows where !tags.contains(row.tag) { tags.append(row.tag) }
        out += "<p class=\"meta\">Each cell: cases passed / cases with the tag, and the worst accuracy ratio (error/bound; ≤ 1 passes, "
            + "exact cases allow no error). A worst ratio near 1 on float16 outputs and for the reference is the final rounding to the output type, which the bound allows.</p>\n"
        out += "<div class=\"scroll\"><table id=\"accuracy-table\">\n<thead><tr><th class=\"l\">tag</th>"
        out += kernels.map { "<th>\(h($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for tag in tags {
            out += "<tr><td class=\"l\">\(tag == "all" ? "<b>all</b>" : h(tag))</td>"
            for kernel in kernels {
                guard let row = rows.first(where: { $0.kernel == kernel && $0.tag == tag }) else {
                    out += "<td class=\"muted\">–</td>"
                    continue
                }
                // Not implemented is never a pass, but no failure either: the cell is not red for it.
                let ok = row.results.passed + row.notImplemented == row.results.cases && row.backward.passed == row.backward.cases
                var title = "max abs error \(AccuracyReport.format(row.maxAbsError)), max rel error \(AccuracyReport.format(row.maxRelError)), RMS rel error \(AccuracyReport.format(row.rmsRelError))"
                var backward = ""
                if row.backward.cases > 0 {
                    backward = " · backward \(row.backward.passed)/\(row.backward.cases) · \(AccuracyReport.format(ratio: row.backward.worstRatio))"
                    title += "; backward worst ratio \(AccuracyReport.format(ratio: row.backward.worstRatio))"
                }
                if row.notImplemented > 0 { title += "; \(row.notImplemented) not implemented" }
                out += "<td class=\"\(ok ? "pass" : "fail")\" title=\"\(h(title))\">\(row.results.passed)/\(row.results.cases) · \(h(AccuracyReport.format(ratio: row.results.worstRatio)))\(h(backward))</td>"
            }
            out += "</tr>\n"
        }
        out += "</tbody></table></div>\n"
        let failures = verify.results.filter { $0.status == .fail }
        out += "<h3>Failures</h3>\n"
        if failures.isEmpty && verify.unreadable.isEmpty {
            out += "<p>None.</p>\n"
        } else {
            out += "<ul class=\"notes\">\n"
            for file in verify.unreadable { out += "<li><b>unreadable file</b> \(h(file.file)): \(h(file.message))</li>\n" }
            for r in failures.prefix(50) {
                out += "<li><b>\(h(r.caseName))</b> (\(h(r.file))) with <b>\(h(r.kernel))</b>: \(h(r.message ?? "failed"))</li>\n"
            }
            if failures.count > 50 { out += "<li>… and \(failures.count - 50) more (see accuracy.md)</li>\n" }
            out += "</ul>\n"
        }
        out += nondeterminismList(verify)
        out += backwardTable(verify)
        out += CoverageSection.html(verify)
        return out + "</section>\n"
    }

    /// Determinism mode's findings (`verify --repeat N`), as the accuracy report lists them; nothing when the mode was off.
    private static func nondeterminismList(_ verify: VerifyReport) -> String {
        guard let info = verify.determinism else { return "" }
        var out = "<h3>Nondeterministic results</h3>\n<p class=\"meta\">\(h(AccuracyReport.determinismIntroduction(info)))</p>\n"
        let found = verify.results.filter { $0.nondeterministic != nil }
        guard !found.isEmpty else { return out + "<p id=\"nondeterministic\">None.</p>\n" }
        out += "<ul class=\"notes\" id=\"nondeterministic\">\n"
        for r in found {
            out += "<li class=\"\(r.status == .fail ? "fail" : "warn")\"><b>\(h(r.caseName))</b> (\(h(r.file))) with <b>\(h(r.kernel))</b>: \(h(r.nondeterministic ?? ""))</li>\n"
        }
        return out + "</ul>\n"
    }

    /// The backward table of SPEC section 7 (the rows the accuracy report renders too).
    private static func backwardTable(_ verify: VerifyReport) -> String {
        let rows = BackwardSection.rows(verify)
        guard !rows.isEmpty else { return "" }
        let tensors = GradientStats.tensorNames
        var out = "<h3>Backward</h3>\n<p class=\"meta\">Per kernel: backward cases passed, failed and not implemented (counted, never a pass), "
        out += "and the worst ratio of each gradient tensor (SPEC section 7; ≤ 1 passes).</p>\n"
        out += "<div class=\"scroll\"><table id=\"backward-table\">\n<thead><tr><th class=\"l\">kernel</th><th>cases</th><th>passed</th><th>failed</th><th>not implemented</th>"
        out += tensors.map { "<th>\(h($0))</th>" }.joined() + "<th class=\"l\">other convention</th></tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr><td class=\"l\">\(h(row.kernel))</td><td>\(row.cases)</td><td>\(row.passed)</td><td>\(row.failed)</td><td>\(row.notImplemented)</td>"
            out += tensors.map { "<td>\(h(AccuracyReport.format(ratio: row.worstRatios[$0] ?? nil)))</td>" }.joined()
            out += "<td class=\"l\">\(h(row.conventions))</td></tr>\n"
        }
        return out + "</tbody></table></div>\n"
    }

    // MARK: Performance

    private static func performanceSection(_ inputs: Inputs) -> String {
        var out = "<section id=\"performance\">\n<h2>Performance per shape and kernel</h2>\n"
        guard let bench = inputs.bench else { return out + "<p class=\"muted\">No bench report (run <code>dcn bench</code>).</p>\n</section>\n" }
        if let command = bench.command { out += "<p class=\"meta\"><code>\(h(command))</code></p>\n" }
        out += "<div class=\"scroll\">\(SVG.inline(PerformanceReport.svg(bench)))</div>\n"
        let kernels = bench.kernels
        out += "<p class=\"meta\">GFLOP/s at the median time (SPEC section 5's FLOPs), and below it the median wall time of one call in ms; peers are other libraries timed on the same shapes.</p>\n"
        out += "<div class=\"scroll\"><table id=\"performance-table\">\n<thead><tr><th class=\"l\">shape</th><th class=\"l\">descriptor</th>"
        for kernel in kernels {
            let sample = bench.results.first { $0.kernel == kernel }
            out += "<th>\(h(kernel))\(sample?.isPeer == true ? " <span class=\"muted\">(peer)</span>" : "")</th>"
        }
        out += "</tr></thead>\n<tbody>\n"
        for shape in bench.shapes {
            out += "<tr><td class=\"l\"><b>\(h(PerformanceReport.label(shape)))</b></td><td class=\"l\"><code>\(h(Comparison.geometry(shape)))</code></td>"
            let row = kernels.map { kernel in bench.results.first { $0.shape == shape && $0.kernel == kernel } }
            let best = row.compactMap { $0?.gflops }.max()
            for result in row {
                guard let r = result else { out += "<td class=\"muted\">–</td>"; continue }
                let cls = r.gflops == best ? " class=\"pass\"" : ""
                out += "<td\(cls)>\(PerformanceReport.number(r.gflops))<br><span class=\"muted\">\(PerformanceReport.milliseconds(r.medianMs)) ms</span></td>"
            }
            out += "</tr>\n"
        }
        out += "</tbody></table></div>\n"
        let skipped = bench.skipped
        if !skipped.isEmpty || !bench.notes.isEmpty {
            out += "<ul class=\"notes\">\n"
            for skip in skipped { out += "<li><b>\(h(skip.kernel))</b> not timed\(skip.shape.map { " on \(h(PerformanceReport.label($0)))" } ?? ""): \(h(skip.reason))</li>\n" }
            for note in bench.notes { out += "<li>\(h(note))</li>\n" }
            out += "</ul>\n"
        }
        return out + "</section>\n"
    }

    // MARK: Comparison

    private static func comparisonSection(_ inputs: Inputs) -> String {
        var out = "<section id=\"comparison\">\n<h2>Latest comparison</h2>\n"
        guard let c = inputs.comparison else {
            return out + "<p class=\"muted\">No comparison: run <code>dcn compare reports/baseline reports --json reports/comparison.json</code>, or accept a baseline with <code>dcn baseline</code>.</p>\n</section>\n"
        }
        out += "<p>\(badge(c.regressions.isEmpty ? "NO REGRESSION" : "REGRESSION: \(c.regressions.count)", c.regressions.isEmpty))"
        if let source = inputs.comparisonSource { out += " <span class=\"meta\">from \(h(source))</span>" }
        out += "</p>\n<p class=\"meta\">\(h(CompareReport.rule(c.thresholds)))</p>\n"
        out += "<table id=\"comparison-runs\"><thead><tr><th class=\"l\">run</th><th class=\"l\">files</th><th class=\"l\">kernel</th><th class=\"l\">machine</th></tr></thead><tbody>\n"
        for (name, run) in [("A (baseline)", c.a), ("B", c.b)] {
            out += "<tr><td class=\"l\">\(name)</td><td class=\"l\">\(run.files.map { "<code>\(h($0))</code>" }.joined(separator: "<br>"))</td>"
            out += "<td class=\"l\">\(h(run.kernel ?? "each"))</td><td class=\"l\">\(h(CompareReport.machine(run)))</td></tr>\n"
        }
        out += "</tbody></table>\n"
        if !c.regressions.isEmpty {
            out += "<h3>Regressions</h3>\n<ul class=\"notes\">\n" + c.regressions.map { "<li class=\"fail\">\(h($0))</li>\n" }.joined() + "</ul>\n"
        }
        out += "<h3>Kernels</h3>\n<div class=\"scroll\"><table id=\"comparison-kernels\">\n<thead><tr><th class=\"l\">kernel</th><th>passed A</th><th>passed B</th>"
        out += "<th>worst ratio A</th><th>worst ratio B</th><th>newly failing</th><th>newly passing</th><th>accuracy losses</th><th>time B/A</th><th>slower</th><th>faster</th></tr></thead>\n<tbody>\n"
        for k in c.kernels {
            let hasCases = k.casesA + k.casesB > 0
            out += "<tr><td class=\"l\"><b>\(h(CompareReport.kernelName(k.kernelA, k.kernelB)))</b></td>"
            out += hasCases ? "<td>\(k.passedA)/\(k.casesA)</td><td class=\"\(k.passedB == k.casesB ? "pass" : "fail")\">\(k.passedB)/\(k.casesB)</td>" : "<td class=\"muted\">–</td><td class=\"muted\">–</td>"
            out += "<td>\(h(AccuracyReport.format(ratio: k.worstRatioA)))</td><td>\(h(AccuracyReport.format(ratio: k.worstRatioB)))</td>"
            out += hasCases ? "\(count(k.newlyFailing, bad: true))<td>\(k.newlyPassing)</td>\(count(k.accuracyLosses, bad: true))" : "<td class=\"muted\">–</td><td class=\"muted\">–</td><td class=\"muted\">–</td>"
            out += k.shapes > 0 ? "<td>\(k.timeRatioGeomean.map(Comparison.factor) ?? "–")</td>\(count(k.slowerShapes, bad: true))<td>\(k.fasterShapes)</td>" : "<td class=\"muted\">–</td><td class=\"muted\">–</td><td class=\"muted\">–</td>"
            out += "</tr>\n"
        }
        out += "</tbody></table></div>\n"
        if !c.timing.isEmpty {
            let limit = 1 + c.thresholds.maxSlowdown
            let bands = c.timing.compactMap { row -> SVG.Band? in
                guard let low = row.ratioLow, let ratio = row.ratio, let high = row.ratioHigh else { return nil }
                let color = row.verdict == .slower ? (row.gated ? "#c62828" : "#ef6c00") : row.verdict == .faster ? "#2e7d32" : "#4c78a8"
                return SVG.Band(label: "\(PerformanceReport.label(row.shape)) · \(CompareReport.kernelName(row.kernelA, row.kernelB))",
                                low: low, value: ratio, high: high, color: color)
            }
            out += "<h3>Times</h3>\n<div class=\"scroll\">"
            out += SVG.bandChart(title: "Time of B over A with its noise band (min/median of each run)", rows: bands,
                                 references: [(1, "1×"), (limit, "limit \(Comparison.factor(limit))")])
            out += "</div>\n<div class=\"scroll\"><table id=\"comparison-times\">\n<thead><tr><th class=\"l\">shape</th><th class=\"l\">kernel</th><th>threads</th>"
            out += "<th>A ms (min – median)</th><th>B ms (min – median)</th><th>B/A</th><th>band</th><th class=\"l\">verdict</th></tr></thead>\n<tbody>\n"
            for row in c.timing {
                let cls = row.verdict == .slower ? (row.gated ? "fail" : "warn") : row.verdict == .faster ? "pass" : ""
                let threads = row.threadsA == row.threadsB ? "\(row.threadsA ?? 0)" : "\(row.threadsA ?? 0) → \(row.threadsB ?? 0)"
                out += "<tr class=\"\(cls)\"><td class=\"l\">\(h(PerformanceReport.label(row.shape)))</td><td class=\"l\">\(h(CompareReport.kernelName(row.kernelA, row.kernelB)))</td>"
                out += "<td>\(threads)</td><td>\(h(CompareReport.span(row.minMsA, row.medianMsA)))</td><td>\(h(CompareReport.span(row.minMsB, row.medianMsB)))</td>"
                out += "<td>\(row.ratio.map(Comparison.factor) ?? "–")</td><td>\(h(CompareReport.band(row)))</td>"
                out += "<td class=\"l\">\(h(CompareReport.timingVerdict(row).replacingOccurrences(of: "**", with: "")))</td></tr>\n"
            }
            out += "</tbody></table></div>\n"
        }
        if !c.cases.isEmpty {
            let changed = CompareReport.changedCases(c).sorted { CompareReport.order($0.verdict) < CompareReport.order($1.verdict) }
            out += "<h3>Cases that changed</h3>\n<p class=\"meta\">\(c.cases.count - changed.count) of \(c.cases.count) (case, kernel) results are unchanged.</p>\n"
            if !changed.isEmpty {
                out += "<div class=\"scroll\"><table id=\"comparison-cases\">\n<thead><tr><th class=\"l\">case</th><th class=\"l\">kernel</th><th class=\"l\">expect</th>"
                out += "<th class=\"l\">A</th><th class=\"l\">B</th><th>ratio A</th><th>ratio B</th><th class=\"l\">verdict</th></tr></thead>\n<tbody>\n"
                for row in changed.prefix(200) {
                    let cls = row.verdict.isRegression ? "fail" : row.verdict == .newlyPassing || row.verdict == .accuracyGain ? "pass" : ""
                    out += "<tr class=\"\(cls)\"><td class=\"l\">\(h(row.caseName))</td><td class=\"l\">\(h(CompareReport.kernelName(row.kernelA, row.kernelB)))</td>"
                    out += "<td class=\"l\">\(h(row.expect))</td><td class=\"l\">\(row.statusA?.rawValue ?? "–")</td><td class=\"l\">\(row.statusB?.rawValue ?? "–")</td>"
                    out += "<td>\(h(AccuracyReport.format(ratio: row.ratioA)))</td><td>\(h(AccuracyReport.format(ratio: row.ratioB)))</td>"
                    out += "<td class=\"l\">\(h(CompareReport.verdictText(row.verdict).replacingOccurrences(of: "**", with: "")))</td></tr>\n"
                }
                out += "</tbody></table></div>\n"
                if changed.count > 200 { out += "<p class=\"meta\">… and \(changed.count - 200) more in the comparison JSON.</p>\n" }
            }
        }
        if !c.notes.isEmpty { out += "<ul class=\"notes\">\n" + c.notes.map { "<li>\(h($0))</li>\n" }.joined() + "</ul>\n" }
        return out + "</section>\n"
    }

    private static func count(_ value: Int, bad: Bool) -> String {
        value > 0 && bad ? "<td class=\"fail\">\(value)</td>" : "<td>\(value)</td>"
    }

    // MARK: Machine

    private static func machineSection(_ inputs: Inputs) -> String {
        var out = "<section id=\"machine\">\n<h2>Machine</h2>\n"
        guard let m = inputs.bench?.machine ?? inputs.comparison?.b.machine else {
            return out + "<p class=\"muted\">No bench report: the machine is not known.</p>\n</section>\n"
        }
        var rows: [(String, String)] = [("CPU", m.cpu), ("logical cores", "\(m.cores)"), ("threads of multithreaded kernels and peers", "\(m.threads)")]
        if let os = m.os { rows.append(("operating system", os)) }
        if let bytes = m.memoryBytes { rows.append(("memory", String(format: "%.1f GiB", Double(bytes) / 1_073_741_824))) }
        if let one = m.peakGflopsOneThread { rows.append(("FMA peak, 1 thread", "\(PerformanceReport.number(one)) GFLOP/s")) }
        if let all = m.peakGflopsAllThreads { rows.append(("FMA peak, \(m.threads) threads", "\(PerformanceReport.number(all)) GFLOP/s")) }
        if let extensions = m.vectorExtensions { rows.append(("vector extensions", extensions.joined(separator: ", "))) }
        if let load = m.loadAverage {
            rows.append(("load average at the start", String(format: "%.2f on %d cores", load, m.cores) + (load >= 0.5 ? " (other work competed: times are noisy)" : "")))
        }
        if let runtime = m.runtime { rows.append(("runtime", runtime)) }
        if let method = m.peakMethod { rows.append(("peak method", method)) }
        if let settings = inputs.bench?.settings {
            rows.append(("timing", "\(settings.warmupRuns) warm-up, up to \(settings.runs) timed runs within \(PerformanceReport.number(settings.maxSeconds)) s per shape and kernel, seed \(settings.seed)"))
        }
        out += "<table id=\"machine-table\"><tbody>\n"
        for (key, value) in rows { out += "<tr><th class=\"l\">\(h(key))</th><td class=\"l\" style=\"white-space: normal\">\(h(value))</td></tr>\n" }
        return out + "</tbody></table>\n</section>\n"
    }

    /// Reads what exists of the inputs and writes the page.
    public static func write(_ inputs: Inputs, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try Data(page(inputs).utf8).write(to: URL(fileURLWithPath: path))
    }
}
