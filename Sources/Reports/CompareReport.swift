import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// The renderer of a `Comparison`: its Markdown, for people (the JSON, written by `ReportJSON`, is for scripts).
public enum CompareReport {
    public static func markdown(_ c: Comparison, command: String? = nil) -> String {
        var out = "# Comparison: B against A\n\n"
        if let command { out += "`\(command)`\n\n" }
        out += c.regressions.isEmpty
            ? "**NO REGRESSION**: B is accepted.\n\n"
            : "**REGRESSION**: \(c.regressions.count) regression\(c.regressions.count == 1 ? "" : "s") of B against A.\n\n"
        out += rule(c.thresholds) + "\n\n"
        out += "| run | files | kernel | machine |\n|---|---|---|---|\n"
        for (name, run) in [("A", c.a), ("B", c.b)] {
            out += "| \(name) | \(run.files.map { "`\($0)`" }.joined(separator: ", ")) | \(run.kernel ?? "each") | \(machine(run)) |\n"
        }
        if !c.regressions.isEmpty {
            out += "\n## Regressions\n\n" + c.regressions.map { "- \($0)\n" }.joined()
        }
        out += kernelSection(c)
        out += timingSection(c)
        out += caseSection(c)
        if !c.notes.isEmpty { out += "\n## Notes\n\n" + c.notes.map { "- \($0)\n" }.joined() }
        return out
    }

    /// The regression rule in one paragraph.
    public static func rule(_ t: CompareThresholds) -> String {
        "A (shape, kernel) regresses when B's time over A's is above \(Comparison.factor(1 + t.maxSlowdown)) across its whole noise band "
            + "(B's minimum / A's median to B's median / A's minimum); a case regresses when it newly fails, or when its accuracy ratio "
            + "exceeds \(Comparison.factor(t.maxAccuracyLoss)) A's (ratios below \(String(format: "%g", t.accuracyFloor)) count as \(String(format: "%g", t.accuracyFloor)))."
    }

    static func machine(_ run: Comparison.RunInfo) -> String {
        guard let m = run.machine else { return "–" }
        var text = "\(m.cpu), \(m.cores) cores, \(m.threads) thread\(m.threads == 1 ? "" : "s")"
        if let load = m.loadAverage { text += String(format: ", load %.2f", load) }
        return text
    }

    static func kernelName(_ a: String, _ b: String) -> String { a == b ? a : "\(a) → \(b)" }

    private static func kernelSection(_ c: Comparison) -> String {
        var out = "\n## Kernels\n\n"
        out += "| kernel | passed A | passed B | worst ratio A | worst ratio B | newly failing | newly passing | accuracy losses | time B/A (geometric mean) | slower | faster |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for k in c.kernels {
            let cases = k.casesA + k.casesB > 0
            out += "| \(kernelName(k.kernelA, k.kernelB)) | "
            out += cases ? "\(k.passedA)/\(k.casesA) | \(k.passedB)/\(k.casesB) | " : "– | – | "
            out += "\(AccuracyReport.format(ratio: k.worstRatioA)) | \(AccuracyReport.format(ratio: k.worstRatioB)) | "
            out += cases ? "\(bold(k.newlyFailing)) | \(k.newlyPassing) | \(bold(k.accuracyLosses)) | " : "– | – | – | "
            out += k.shapes > 0
                ? "\(k.timeRatioGeomean.map(Comparison.factor) ?? "–") (\(k.shapes) shape\(k.shapes == 1 ? "" : "s")) | \(bold(k.slowerShapes)) | \(k.fasterShapes) |\n"
                : "– | – | – |\n"
        }
        return out
    }

    private static func bold(_ count: Int) -> String { count > 0 ? "**\(count)**" : "0" }

    private static func timingSection(_ c: Comparison) -> String {
        guard !c.timing.isEmpty else { return "" }
        var out = "\n## Times\n\n"
        out += "Wall-clock milliseconds of one call, minimum – median of each run. B/A is B's minimum over A's minimum; "
            + "the band runs from B's minimum / A's median to B's median / A's minimum.\n\n"
        out += "| shape | kernel | threads | A ms (min – median) | B ms (min – median) | B/A | band | verdict |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---|\n"
        for row in c.timing {
            let threads = row.threadsA == row.threadsB ? "\(row.threadsA ?? 0)" : "\(row.threadsA ?? 0) → \(row.threadsB ?? 0)"
            out += "| \(PerformanceReport.label(row.shape)) | \(kernelName(row.kernelA, row.kernelB)) | \(threads) | "
            out += "\(span(row.minMsA, row.medianMsA)) | \(span(row.minMsB, row.medianMsB)) | "
            out += "\(row.ratio.map(Comparison.factor) ?? "–") | \(band(row)) | \(timingVerdict(row)) |\n"
        }
        return out
    }

    static func span(_ low: Double?, _ high: Double?) -> String {
        guard let low, let high else { return "–" }
        return "\(PerformanceReport.milliseconds(low)) – \(PerformanceReport.milliseconds(high))"
    }

    static func band(_ row: Comparison.TimingRow) -> String {
        guard let low = row.ratioLow, let high = row.ratioHigh else { return "–" }
        return "\(Comparison.factor(low)) – \(Comparison.factor(high))"
    }

    /// A timing row's verdict, marked when the row is not gated.
    public static func timingVerdict(_ row: Comparison.TimingRow) -> String {
        guard !row.gated else { return verdictText(row.verdict) }
        return (row.verdict == .slower ? "slower" : verdictText(row.verdict)) + " (all cores: not gated)"
    }

    public static func verdictText(_ verdict: Comparison.Verdict) -> String {
        switch verdict {
        case .slower: "**slower**"
        case .faster: "faster"
        case .noise: "within noise"
        case .newlyFailing: "**newly failing**"
        case .newlyPassing: "newly passing"
        case .accuracyLoss: "**accuracy loss**"
        case .accuracyGain: "accuracy gain"
        case .same: "same"
        case .onlyA: "only in A"
        case .onlyB: "only in B"
        }
    }

    /// The cases whose status or accuracy changed, or that only one side has; the rest are counted.
    public static func changedCases(_ c: Comparison) -> [Comparison.CaseRow] {
        c.cases.filter { $0.verdict != .same || $0.statusA != $0.statusB || changed($0.ratioA, $0.ratioB) }
    }

    /// Ratios that differ by more than 10% (and not both below 0.01).
    static func changed(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return (a == nil) != (b == nil) }
        if a.isNaN || b.isNaN { return a.isNaN != b.isNaN }
        if max(a, b) < 0.01 { return false }
        return max(a, b) > 1.1 * min(a, b)
    }

    private static func caseSection(_ c: Comparison) -> String {
        guard !c.cases.isEmpty else { return "" }
        let changed = changedCases(c)
        var out = "\n## Cases that changed\n\n"
        out += "Every (case, kernel) whose status changed, whose accuracy ratio changed by more than 10%, or that only one run has; "
            + "\(c.cases.count - changed.count) of \(c.cases.count) are unchanged.\n\n"
        if changed.isEmpty { return out + "None.\n" }
        out += "| case | kernel | expect | A | B | ratio A | ratio B | verdict |\n|---|---|---|---|---|---:|---:|---|\n"
        for row in changed.sorted(by: { order($0.verdict) < order($1.verdict) }) {
            out += "| \(row.caseName) | \(kernelName(row.kernelA, row.kernelB)) | \(row.expect) | \(row.statusA?.rawValue ?? "–") | "
            out += "\(row.statusB?.rawValue ?? "–") | \(AccuracyReport.format(ratio: row.ratioA)) | \(AccuracyReport.format(ratio: row.ratioB)) | \(verdictText(row.verdict)) |\n"
        }
        return out
    }

    /// Regressions first.
    static func order(_ verdict: Comparison.Verdict) -> Int {
        verdict.isRegression ? 0 : verdict == .newlyPassing || verdict == .accuracyGain ? 1 : 2
    }
}
