import ArgumentParser
import Conformance
import Foundation

/// `dcn compare`: run B against run A, side by side, exit 1 on a regression.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two runs (verify and/or bench JSON): side-by-side tables, exit 1 when B regresses against A.",
        discussion: """
        Each side is a verify report, a bench report, or both; the kind of each file is told by its content. \
        A folder stands for its accuracy.json and performance.json (what verify and bench write to --report-dir), \
        so `dcn compare reports/baseline reports` compares the latest run with the accepted baseline.

          dcn compare A B            A the baseline, B the candidate
          dcn compare A1 A2 B1 B2    an even count: first half A, second B
          dcn compare --a F ... --b F ...   any number per side
          dcn compare RUN --kernel-a simd --kernel-b threaded

        Several bench files on one side are runs of one build, read as their best: per shape and kernel \
        the lowest minimum and the lowest median. Peers (onnxruntime, …) are never compared.

        Times: B/A is B's minimum over A's minimum; its noise band runs from B's minimum / A's median to \
        B's median / A's minimum. A (shape, kernel) regresses when the whole band lies above 1 + --max-slowdown. \
        A kernel that ran on every core of its machine is shown but not gated unless --gate-all-cores.
        Accuracy: a case regresses when it newly fails (it passed in A or A did not have it), or when its \
        accuracy ratio (error/bound, SPEC section 3) exceeds --max-accuracy-loss times A's.

        Prints Markdown on stdout (or JSON with --json -).
        Exit status: 0 no regression, 1 B regresses, 2 bad usage or unreadable reports.
        """)

    @Argument(help: ArgumentHelp("Reports or report folders: A then B (see above).", valueName: "path"))
    var paths: [String] = []

    @Option(name: .customLong("a"), help: ArgumentHelp("A report or report folder of run A, the baseline (repeatable).", valueName: "path"))
    var aPaths: [String] = []

    @Option(name: .customLong("b"), help: ArgumentHelp("A report or report folder of run B, the candidate (repeatable).", valueName: "path"))
    var bPaths: [String] = []

    @Option(help: ArgumentHelp("Largest slowdown in percent B may show beyond its noise band.", valueName: "PCT"))
    var maxSlowdown: Double = CompareThresholds.standard.maxSlowdown * 100

    @Option(help: ArgumentHelp("Largest factor by which a case's accuracy ratio may grow.", valueName: "FACTOR"))
    var maxAccuracyLoss: Double = CompareThresholds.standard.maxAccuracyLoss

    @Option(help: ArgumentHelp("Accuracy ratios below this count as this much when compared.", valueName: "RATIO"))
    var accuracyFloor: Double = CompareThresholds.standard.accuracyFloor

    @Flag(help: "Gate kernels that ran on every core too (on a dedicated machine; on a shared one others' work halves their speed).")
    var gateAllCores = false

    @Option(help: "Read this kernel of A for every row (with --kernel-b).")
    var kernelA: String?

    @Option(help: "Read this kernel of B for every row (with --kernel-a).")
    var kernelB: String?

    @Option(help: ArgumentHelp("Write the comparison as JSON to this file; - prints it instead of the Markdown.", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Also write the Markdown to this file.", valueName: "file"))
    var markdown: String?

    func validate() throws {
        guard maxSlowdown >= 0 else { throw ValidationError("--max-slowdown must be 0 or more, got \(maxSlowdown)") }
        guard maxAccuracyLoss >= 1 else { throw ValidationError("--max-accuracy-loss must be at least 1, got \(maxAccuracyLoss)") }
        guard accuracyFloor >= 0 else { throw ValidationError("--accuracy-floor must be 0 or more, got \(accuracyFloor)") }
        _ = try sides()
    }

    /// The reports of A and of B, from the paths or --a and --b (see the discussion).
    private func sides() throws(ValidationError) -> (a: [String], b: [String]) {
        var a = aPaths, b = bPaths
        switch paths.count {
        case 0: break
        case 1 where kernelA != nil && a.isEmpty && b.isEmpty:
            (a, b) = (paths, paths)
        case let n where n % 2 == 0 && a.isEmpty && b.isEmpty:
            (a, b) = (Array(paths.prefix(n / 2)), Array(paths.suffix(n / 2)))
        default:
            if a.isEmpty && b.isEmpty {
                throw ValidationError("give A's and B's reports: two paths (A B), an even number (A's then B's), or --a and --b; "
                    + "one path needs --kernel-a and --kernel-b")
            }
            if !paths.isEmpty { throw ValidationError("give the paths either positionally or with --a and --b, not both") }
        }
        if a.isEmpty || b.isEmpty { throw ValidationError("run \(a.isEmpty ? "A" : "B") has no report") }
        return (a, b)
    }

    func run() throws {
        let (a, b) = try sides()
        let thresholds = CompareThresholds(maxSlowdown: maxSlowdown / 100, maxAccuracyLoss: maxAccuracyLoss,
                                           accuracyFloor: accuracyFloor, gateAllCores: gateAllCores)
        let comparison: Comparison
        do {
            comparison = try Comparison(a: try CompareSide.load(a), b: try CompareSide.load(b), thresholds: thresholds,
                                        kernelA: kernelA, kernelB: kernelB)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        let command = (["dcn", "compare"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
        let text = CompareReport.markdown(comparison, command: command)
        do {
            if let json {
                let data = try ReportJSON.encode(comparison)
                if json == "-" {
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                } else {
                    try data.write(to: URL(fileURLWithPath: json))
                }
            }
            if let markdown { try Data(text.utf8).write(to: URL(fileURLWithPath: markdown)) }
        } catch {
            throw Terminal.usageFailure("cannot write the comparison: \(error.localizedDescription)")
        }
        if json != "-" { print(text, terminator: "") }
        Terminal.error(comparison.regressions.isEmpty
            ? "no regression (\(comparison.timing.count) timings, \(comparison.cases.count) case results compared)"
            : "REGRESSION: \(comparison.regressions.count) regression\(comparison.regressions.count == 1 ? "" : "s") of B against A")
        if comparison.exitCode != 0 { throw ExitCode(comparison.exitCode) }
    }
}
