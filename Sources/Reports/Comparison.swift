import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// Bad input to `dcn compare`: a file that is neither a verify nor a bench report,
/// two of one kind on one side, nothing in common between the sides.
public struct CompareError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The regression rule of `dcn compare`.
public struct CompareThresholds: Codable, Sendable, Equatable {
    /// A (shape, kernel) regresses when even the most favourable reading of both runs' spreads
    /// makes B slower than A by more than this fraction (0.1 = 10%).
    public var maxSlowdown: Double
    /// A case regresses when B's accuracy ratio exceeds this factor times A's.
    public var maxAccuracyLoss: Double
    /// Accuracy ratios below this count as this much when compared: a ratio of 0.001
    /// becoming 0.003 is three times worse and still means nothing.
    @Defaulted<StandardAccuracyFloor> public var accuracyFloor: Double
    /// Whether a kernel that ran on every core of its machine (more than one) can regress. On a shared
    /// machine any other process takes a core from it, and its best time doubles for as long as that
    /// lasts (measured on a 2-core machine: minutes at a time), so by default its rows are shown, not gated.
    @Defaulted<DefaultFalse> public var gateAllCores: Bool

    public static let standard = CompareThresholds()

    public init(maxSlowdown: Double = 0.20, maxAccuracyLoss: Double = 2, accuracyFloor: Double = 0.05, gateAllCores: Bool = false) {
        self.maxSlowdown = maxSlowdown
        self.maxAccuracyLoss = maxAccuracyLoss
        self.accuracyFloor = accuracyFloor
        self.gateAllCores = gateAllCores
    }

    /// Comparisons written before `accuracyFloor` existed were made with the standard one.
    public enum StandardAccuracyFloor: DefaultValue {
        public static var value: Double { CompareThresholds.standard.accuracyFloor }
    }
}

/// The comparison of run B against run A (`dcn compare`): timings per (shape, kernel),
/// accuracy per (case, kernel), and the regressions that make it exit 1.
public struct Comparison: Codable, Sendable {
    public struct RunInfo: Codable, Sendable {
        public var files: [String]
        /// The kernel every row of this side is read from, when one kernel is compared with another.
        public var kernel: String?
        public var machine: MachineInfo?
        public var benchCommand: String?
        public var verifyPassed: Int?
        public var verifyFailed: Int?
    }

    /// How a timing or case row came out.
    public enum Verdict: String, Codable, Sendable {
        /// B slower beyond the limit even at the ends of both noise bands; the run exits 1.
        case slower
        /// B faster beyond the limit even at the ends of both noise bands.
        case faster
        /// The bands overlap the limits: no telling.
        case noise
        /// A case that passed in A (or was not there) and fails in B; exits 1.
        case newlyFailing = "newly_failing"
        case newlyPassing = "newly_passing"
        /// B's accuracy ratio above the factor times A's; exits 1.
        case accuracyLoss = "accuracy_loss"
        case accuracyGain = "accuracy_gain"
        case same
        case onlyA = "only_a"
        case onlyB = "only_b"

        public var isRegression: Bool { self == .slower || self == .newlyFailing || self == .accuracyLoss }
    }

    /// One (shape, kernel) timed in both runs.
    public struct TimingRow: Codable, Sendable {
        public var shape: String
        public var kernelA: String
        public var kernelB: String
        public var threadsA: Int?
        public var threadsB: Int?
        public var minMsA: Double?
        public var medianMsA: Double?
        public var minMsB: Double?
        public var medianMsB: Double?
        /// B's best time over A's best: the estimate of how much slower B is (above 1) or faster.
        public var ratio: Double?
        /// The ratio's noise band: B's minimum over A's median to B's median over A's minimum.
        public var ratioLow: Double?
        public var ratioHigh: Double?
        public var verdict: Verdict
        /// False for a kernel that ran on every core of its machine, unless `gateAllCores`: its
        /// verdict is shown but is no regression.
        public var gated: Bool
    }

    /// One (case, kernel) checked in either run.
    public struct CaseRow: Codable, Sendable {
        public var file: String
        public var caseName: String
        public var kernelA: String
        public var kernelB: String
        public var expect: String
        public var statusA: CaseResult.Status?
        public var statusB: CaseResult.Status?
        public var ratioA: Double?
        public var ratioB: Double?
        public var messageB: String?
        public var verdict: Verdict

        enum CodingKeys: String, CodingKey {
            case file, caseName = "case", kernelA, kernelB, expect, statusA, statusB, ratioA, ratioB, messageB, verdict
        }
    }

    /// Per kernel pair: both runs' pass counts and worst ratios, what changed, and the time ratios.
    public struct KernelRow: Codable, Sendable {
        public var kernelA: String
        public var kernelB: String
        public var casesA: Int = 0
        public var casesB: Int = 0
        public var passedA: Int = 0
        public var passedB: Int = 0
        public var worstRatioA: Double?
        public var worstRatioB: Double?
        public var newlyFailing = 0
        public var newlyPassing = 0
        public var accuracyLosses = 0
        /// Geometric mean of the time ratios over the shapes both runs timed.
        public var timeRatioGeomean: Double?
        public var shapes = 0
        public var slowerShapes = 0
        public var fasterShapes = 0
    }

    public var a: RunInfo
    public var b: RunInfo
    public var thresholds: CompareThresholds
    public var kernels: [KernelRow] = []
    public var timing: [TimingRow] = []
    public var cases: [CaseRow] = []
    /// One sentence per regression; empty when B is accepted.
    public var regressions: [String] = []
    /// Caveats: other machines, thread counts, rows only one side has.
    public var notes: [String] = []

    /// 0 when B is accepted, 1 when it regresses (bad usage is 2, found before a comparison exists).
    public var exitCode: Int32 { regressions.isEmpty ? 0 : 1 }

    /// B against A. With `kernelA` and `kernelB` given, every row reads that kernel of A and that of
    /// B (two kernels of one run when A and B are the same files); otherwise kernels of the same name.
    public init(a sideA: CompareSide, b sideB: CompareSide, thresholds: CompareThresholds = .standard,
                kernelA: String? = nil, kernelB: String? = nil) throws(CompareError) {
        func info(_ side: CompareSide, _ kernel: String?) -> RunInfo {
            RunInfo(files: side.files, kernel: kernel, machine: side.bench?.machine, benchCommand: side.bench?.command,
                    verifyPassed: side.verify?.summary.passed, verifyFailed: side.verify?.summary.failed)
        }
        a = info(sideA, kernelA)
        b = info(sideB, kernelB)
        self.thresholds = thresholds
        guard (kernelA == nil) == (kernelB == nil) else {
            throw CompareError("give both --kernel-a and --kernel-b, or neither")
        }
        let pairs = (sideA.verify != nil && sideB.verify != nil ? 1 : 0) + (sideA.bench != nil && sideB.bench != nil ? 1 : 0)
        guard pairs > 0 else {
            throw CompareError("nothing to compare: A has \(Self.kinds(sideA)), B has \(Self.kinds(sideB)); give the same kind of report on both sides")
        }
        if sideA.verify != nil && sideB.verify == nil { notes.append("A has a verify report and B has none: accuracy is not compared") }
        if sideB.verify != nil && sideA.verify == nil { notes.append("B has a verify report and A has none: accuracy is not compared") }
        if sideA.bench != nil && sideB.bench == nil { notes.append("A has a bench report and B has none: times are not compared") }
        if sideB.bench != nil && sideA.bench == nil { notes.append("B has a bench report and A has none: times are not compared") }

        var order: [(String, String)] = []
        func note(_ pair: (String, String)) { if !order.contains(where: { $0 == pair }) { order.append(pair) } }
        if let va = sideA.verify, let vb = sideB.verify {
            try compareCases(va, vb, kernelA: kernelA, kernelB: kernelB)
            for row in cases { note((row.kernelA, row.kernelB)) }
        }
        if let ba = sideA.bench, let bb = sideB.bench {
            try compareTimes(ba, bb, kernelA: kernelA, kernelB: kernelB)
            for row in timing { note((row.kernelA, row.kernelB)) }
        }
        kernels = order.map { summary(kernelA: $0.0, kernelB: $0.1) }
        if cases.isEmpty && timing.isEmpty {
            throw CompareError("A and B have no case and no (shape, kernel) in common" + (kernelA.map { " for kernels \($0) and \(kernelB!)" } ?? ""))
        }
    }

    private static func kinds(_ side: CompareSide) -> String {
        let kinds = [side.verify != nil ? "a verify report" : nil, side.bench != nil ? "a bench report" : nil].compactMap { $0 }
        return kinds.isEmpty ? "nothing" : kinds.joined(separator: " and ")
    }

    // MARK: Accuracy

    private mutating func compareCases(_ va: VerifyReport, _ vb: VerifyReport, kernelA: String?, kernelB: String?) throws(CompareError) {
        if let kernelA, !va.results.contains(where: { $0.kernel == kernelA }) {
            throw CompareError("A's verify report has no kernel '\(kernelA)'; it has \(Self.names(va.results.map(\.kernel)))")
        }
        if let kernelB, !vb.results.contains(where: { $0.kernel == kernelB }) {
            throw CompareError("B's verify report has no kernel '\(kernelB)'; it has \(Self.names(vb.results.map(\.kernel)))")
        }
        let resultsA = va.results.filter { kernelA == nil || $0.kernel == kernelA }
        let resultsB = vb.results.filter { kernelB == nil || $0.kernel == kernelB }
        // Cases are matched by name when names are unique within each run (so a renamed or moved
        // golden file still matches), otherwise by file name and case name.
        let byName = Self.unique(resultsA) && Self.unique(resultsB)
        func key(_ r: CaseResult) -> String {
            let kernel = kernelA == nil ? r.kernel : ""
            return (byName ? "" : (r.file as NSString).lastPathComponent + "\u{1}") + r.caseName + "\u{1}" + kernel
        }
        var indexB: [String: CaseResult] = [:]
        for r in resultsB { indexB[key(r)] = r }
        var matched = Set<String>()
        for ra in resultsA {
            let k = key(ra)
            let rb = indexB[k]
            if rb != nil { matched.insert(k) }
            cases.append(caseRow(ra, rb, kernelA: ra.kernel, kernelB: kernelB ?? ra.kernel))
        }
        for rb in resultsB where !matched.contains(key(rb)) {
            cases.append(caseRow(nil, rb, kernelA: kernelA ?? rb.kernel, kernelB: rb.kernel))
        }
        let onlyA = cases.count { $0.verdict == .onlyA }, onlyB = cases.filter { $0.statusA == nil }.count
        if onlyA > 0 { notes.append("\(onlyA) (case, kernel) pair\(onlyA == 1 ? "" : "s") of A \(onlyA == 1 ? "is" : "are") not in B") }
        if onlyB > 0 { notes.append("\(onlyB) (case, kernel) pair\(onlyB == 1 ? "" : "s") of B \(onlyB == 1 ? "is" : "are") not in A (failing ones count as newly failing)") }
        for row in cases {
            let name = "\(row.caseName) with \(row.kernelB)"
            switch row.verdict {
            case .newlyFailing:
                regressions.append("\(name) newly fails\(row.statusA == nil ? " (a case A did not have)" : "")\(row.messageB.map { ": \($0)" } ?? "")")
            case .accuracyLoss:
                regressions.append("\(name): accuracy ratio \(AccuracyReport.format(ratio: row.ratioA)) → \(AccuracyReport.format(ratio: row.ratioB)), "
                    + "worse than \(Self.factor(thresholds.maxAccuracyLoss)) the baseline")
            default: break
            }
        }
    }

    private static func unique(_ results: [CaseResult]) -> Bool {
        var seen = Set<String>()
        for r in results where !seen.insert(r.caseName + "\u{1}" + r.kernel).inserted { return false }
        return true
    }

    private func caseRow(_ ra: CaseResult?, _ rb: CaseResult?, kernelA: String, kernelB: String) -> CaseRow {
        let any = (ra ?? rb)!
        var row = CaseRow(file: rb?.file ?? any.file, caseName: any.caseName, kernelA: kernelA, kernelB: kernelB, expect: any.expect,
                          statusA: ra?.status, statusB: rb?.status, ratioA: ra?.ratio, ratioB: rb?.ratio,
                          messageB: rb?.status == .fail ? rb?.message : nil, verdict: .same)
        row.verdict = verdict(row)
        return row
    }

    private func verdict(_ row: CaseRow) -> Verdict {
        guard let statusB = row.statusB else { return .onlyA }
        guard let statusA = row.statusA else { return statusB == .fail ? .newlyFailing : .onlyB }
        if statusA == .pass && statusB == .fail { return .newlyFailing }
        if statusA == .fail && statusB == .pass { return .newlyPassing }
        guard let ratioA = row.ratioA, let ratioB = row.ratioB else { return .same }
        let floor = thresholds.accuracyFloor, factor = thresholds.maxAccuracyLoss
        if AccuracyStats.isWorse(ratioB, than: factor * max(ratioA, floor)) { return .accuracyLoss }
        if AccuracyStats.isWorse(ratioA, than: factor * max(ratioB, floor)) { return .accuracyGain }
        return .same
    }

    // MARK: Times

    private mutating func compareTimes(_ ba: BenchReport, _ bb: BenchReport, kernelA: String?, kernelB: String?) throws(CompareError) {
        // Peers are timed by other libraries: shown in the report, never a regression of dcn's kernels.
        let ownA = ba.results.filter { !$0.isPeer }, ownB = bb.results.filter { !$0.isPeer }
        if let kernelA, !ownA.contains(where: { $0.kernel == kernelA }) {
            throw CompareError("A's bench report has no kernel '\(kernelA)'; it has \(Self.names(ownA.map(\.kernel)))")
        }
        if let kernelB, !ownB.contains(where: { $0.kernel == kernelB }) {
            throw CompareError("B's bench report has no kernel '\(kernelB)'; it has \(Self.names(ownB.map(\.kernel)))")
        }
        let peers = Set((ba.results + bb.results).filter(\.isPeer).map(\.kernel))
        if !peers.isEmpty { notes.append("peers (\(peers.sorted().joined(separator: ", "))) are shown in the reports but not compared: they are not dcn's kernels") }
        let resultsA = ownA.filter { kernelA == nil || $0.kernel == kernelA }
        let resultsB = ownB.filter { kernelB == nil || $0.kernel == kernelB }
        // Shapes match by geometry, so a renamed descriptor still matches.
        func key(_ r: BenchResult) -> String { Self.geometry(r.shape) + "\u{1}" + (kernelA == nil ? r.kernel : "") }
        var indexB: [String: BenchResult] = [:]
        for r in resultsB where indexB[key(r)] == nil { indexB[key(r)] = r }
        var matched = Set<String>()
        var onlyA = 0, onlyB = 0
        for ra in resultsA {
            guard let rb = indexB[key(ra)] else { onlyA += 1; continue }
            matched.insert(key(ra))
            timing.append(timingRow(ra, rb, coresA: ba.machine.cores, coresB: bb.machine.cores))
        }
        for rb in resultsB where !matched.contains(key(rb)) { onlyB += 1 }
        if onlyA > 0 { notes.append("\(onlyA) (shape, kernel) pair\(onlyA == 1 ? "" : "s") timed in A \(onlyA == 1 ? "was" : "were") not timed in B") }
        if onlyB > 0 { notes.append("\(onlyB) (shape, kernel) pair\(onlyB == 1 ? "" : "s") timed in B \(onlyB == 1 ? "was" : "were") not timed in A") }
        let ma = ba.machine, mb = bb.machine
        if ma.cpu != mb.cpu || ma.cores != mb.cores {
            notes.append("A ran on \(ma.cpu) (\(ma.cores) cores), B on \(mb.cpu) (\(mb.cores) cores): the time ratios compare machines as well as kernels")
        }
        if timing.contains(where: { $0.threadsA != $0.threadsB }) {
            notes.append("some kernels ran on different thread counts in A and B (see the threads columns)")
        }
        for (label, load) in [("A", ma.loadAverage), ("B", mb.loadAverage)] {
            if let load, load >= 0.5 * Double(max(ma.cores, 1)) {
                notes.append(String(format: "load average %.2f when %@ started: other work competed for the cores, so its times are noisy and the bands wide", load, label))
            }
        }
        let ungated = timing.filter { !$0.gated }.map(\.kernelB)
        if !ungated.isEmpty {
            notes.append("\(Self.names(ungated)) ran on every core of the machine: \(ungated.count) row\(ungated.count == 1 ? " is" : "s are") shown but not gated, "
                + "since on a shared machine any other process halves such a kernel's speed for as long as it runs (give --gate-all-cores on a dedicated machine)")
        }
        for row in timing where row.verdict == .slower && row.gated {
            regressions.append("\(PerformanceReport.label(row.shape)) with \(row.kernelB): \(Self.factor(row.ratio!)) the time of A "
                + "(band \(Self.factor(row.ratioLow!))–\(Self.factor(row.ratioHigh!)), wholly above the limit \(Self.factor(1 + thresholds.maxSlowdown)))")
        }
    }

    /// The descriptor without its name.
    static func geometry(_ shape: String) -> String {
        shape.firstIndex(of: ":").map { String(shape[shape.index(after: $0)...]) } ?? shape
    }

    private func timingRow(_ ra: BenchResult, _ rb: BenchResult, coresA: Int, coresB: Int) -> TimingRow {
        let allCores = (ra.threads > 1 && ra.threads >= coresA) || (rb.threads > 1 && rb.threads >= coresB)
        var row = TimingRow(shape: ra.shape, kernelA: ra.kernel, kernelB: rb.kernel, threadsA: ra.threads, threadsB: rb.threads,
                            minMsA: ra.minMs, medianMsA: ra.medianMs, minMsB: rb.minMs, medianMsB: rb.medianMs, verdict: .noise,
                            gated: thresholds.gateAllCores || !allCores)
        let (band, ratio) = Self.band(minA: ra.minMs, medianA: ra.medianMs, minB: rb.minMs, medianB: rb.medianMs)
        row.ratio = ratio
        row.ratioLow = band?.lowerBound
        row.ratioHigh = band?.upperBound
        row.verdict = Self.timeVerdict(band: band, maxSlowdown: thresholds.maxSlowdown)
        return row
    }

    /// The time ratio B/A from the best times, and its noise band: the ratios both runs' spreads
    /// (minimum to median) allow, B's minimum over A's median to B's median over A's minimum.
    public static func band(minA: Double, medianA: Double, minB: Double, medianB: Double) -> (band: ClosedRange<Double>?, ratio: Double?) {
        guard minA > 0, minB > 0, minA.isFinite, minB.isFinite, medianA.isFinite, medianB.isFinite else { return (nil, nil) }
        let low = minB / max(medianA, minA), high = max(medianB, minB) / minA
        return (low...high, minB / minA)
    }

    /// Slower when the whole band lies above 1 + limit, faster when it lies wholly below 1 / (1 + limit).
    public static func timeVerdict(band: ClosedRange<Double>?, maxSlowdown: Double) -> Verdict {
        guard let band else { return .noise }
        if band.lowerBound > 1 + maxSlowdown { return .slower }
        if band.upperBound < 1 / (1 + maxSlowdown) { return .faster }
        return .noise
    }

    // MARK: Summary

    private func summary(kernelA: String, kernelB: String) -> KernelRow {
        var row = KernelRow(kernelA: kernelA, kernelB: kernelB)
        for c in cases where c.kernelA == kernelA && c.kernelB == kernelB {
            if let s = c.statusA { row.casesA += 1; if s == .pass { row.passedA += 1 } }
            if let s = c.statusB { row.casesB += 1; if s == .pass { row.passedB += 1 } }
            if let r = c.ratioA, c.statusA != nil { row.worstRatioA = AccuracyReport.worse(row.worstRatioA, r) }
            if let r = c.ratioB, c.statusB != nil { row.worstRatioB = AccuracyReport.worse(row.worstRatioB, r) }
            switch c.verdict {
            case .newlyFailing: row.newlyFailing += 1
            case .newlyPassing: row.newlyPassing += 1
            case .accuracyLoss: row.accuracyLosses += 1
            default: break
            }
        }
        let times = timing.filter { $0.kernelA == kernelA && $0.kernelB == kernelB }
        let logs = times.compactMap(\.ratio).filter { $0 > 0 && $0.isFinite }.map { log($0) }
        row.shapes = times.count
        row.timeRatioGeomean = logs.isEmpty ? nil : exp(logs.reduce(0, +) / Double(logs.count))
        row.slowerShapes = times.count { $0.verdict == .slower && $0.gated }
        row.fasterShapes = times.count { $0.verdict == .faster }
        return row
    }

    static func names(_ kernels: [String]) -> String {
        var seen: [String] = []
        for k in kernels where !seen.contains(k) { seen.append(k) }
        return seen.isEmpty ? "none" : seen.joined(separator: ", ")
    }

    /// "1.31×"
    public static func factor(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : "∞" }
        return String(format: value >= 10 ? "%.1f×" : "%.2f×", value)
    }
}
