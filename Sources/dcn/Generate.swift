import ArgumentParser
import Conformance
import DeformConv
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a golden file with outputs (and gradients) from the float64 reference.",
        discussion: """
        One source of cases per run. --suite NAME: a built-in suite (default: the committed one; \
        large: x past 2^31 bytes, about 6 GiB of memory and 4 GiB of disk). --shape DESC (repeatable): \
        one case per shape and dtype, e.g. --shape r50-c3:mb1ic128ih64oc128kh3ph1pw1. --inputs FILE: \
        your own tensors in a golden file's case layout without outputs (README, "Golden vectors from \
        your own tensors").

        The same arguments give the same bytes on every machine. The file is written to a temporary \
        name and renamed at the end: a failed run leaves nothing behind.
        """)

    @Option(help: "The golden file to write (replaced if it exists).")
    var out: String

    @Option(help: "The built-in suite to write (not with --shape or --inputs).")
    var suite: SuiteName?

    @Option(help: ArgumentHelp("A problem descriptor (SPEC section 5), NAME:DESC to name the case; repeatable.", valueName: "DESC"))
    var shape: [ShapeArgument] = []

    @Option(help: ArgumentHelp("An HDF5 file of your own inputs, one group /cases/<name> per case.", valueName: "INPUTS.h5"))
    var inputs: String?

    @Option(help: "With --shape: the dtype of the cases; both makes two cases per shape.")
    var dtype = DtypeChoice.float32

    @Option(help: "With --shape: x, weight and bias uniform in [-1, 1), exact small integers, or all ones.")
    var values = ValueStyle.uniform

    @Option(help: "With --shape: offsets uniform in [-2, 2) (small), over the whole image (large), integers, on the image's edges (boundary), within an ulp of integers (near-integer), multiples of 1/4 (quarter), or a per-element mix of those.")
    var offsets = OffsetStyle.small

    @Option(help: "With --shape: masks all ones, uniform in [0, 1), uniform in [-1, 1) (signed), 40% zero (zero-heavy), or multiples of 1/4.")
    var masks = MaskStyle.uniform

    @Flag(inversion: .prefixedNo, help: "With --shape: give the cases a bias.")
    var bias = true

    @Flag(help: "With --shape: add an incoming gradient gy and the exact gradients (SPEC section 7).")
    var backward = false

    @Option(help: "Seed of the random inputs.")
    var seed = SuiteGenerator.defaultSeed

    @OptionGroup var quietOption: QuietOption

    func validate() throws {
        let sources = [suite != nil, !shape.isEmpty, inputs != nil].filter { $0 }.count
        guard sources <= 1 else { throw ValidationError("--suite, --shape and --inputs are exclusive: give one of them") }
        if shape.isEmpty, dtype != .float32 || values != .uniform || offsets != .small || masks != .uniform || !bias || backward {
            throw ValidationError("--dtype, --values, --offsets, --masks, --no-bias and --backward apply to --shape only")
        }
        for argument in shape { _ = try argument.descriptor() }
    }

    func run() throws {
        let started = Date()
        // No handler at all when nothing is shown: the reference then skips its progress counting.
        let progress = quietOption.quiet || !Terminal.isInteractive ? nil : ProgressLine(started: started).show
        let (summary, what): (SuiteSummary, String)
        do {
            (summary, what) = try ReplacingFile(path: out).write { (path: String) throws -> (SuiteSummary, String) in
                if !shape.isEmpty {
                    let shapeSuite = ShapeSuite(descriptors: try shape.map { try $0.descriptor() }, dtypes: dtype.dtypes, bias: bias,
                                                values: values.recipe, offsets: offsets.recipe, masks: masks.recipe, backward: backward)
                    let summary = try SuiteGenerator(seed: seed).generate(recipes: try shapeSuite.recipes(), backward: backward, to: path,
                                                                           generator: "dcn \(Dcn.version) generate \(commandLine)", progress: progress)
                    return (summary, "seed \(seed)")
                }
                if let inputs {
                    let inputsSuite = try InputsSuite(path: inputs)
                    try inputsSuite.checkData()
                    return (try inputsSuite.generate(to: path, generator: "dcn \(Dcn.version) generate --inputs \(inputs)", progress: progress),
                            "inputs \(inputs)")
                }
                let name = (suite ?? .standard).name
                if name == LargeSuite.name {
                    // Said before the work starts: the run is long and needs this much memory and disk.
                    let gib = { (bytes: Int) in String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
                    Terminal.error("suite large: \(LargeSuite.valid.count) cases, about \(gib(LargeSuite.peakBytes)) of memory at most and \(gib(LargeSuite.fileBytes)) of disk; \(LargeSuite.timeEstimate)")
                }
                let summary = try SuiteGenerator(seed: seed).generate(suite: name, to: path, generator: "dcn \(Dcn.version) generate --suite \(name) --seed \(seed)",
                                                                       progress: progress)
                return (summary, "suite \(name), seed \(seed)")
            }
        } catch {
            Terminal.clearProgress()
            throw Terminal.usageFailure("\(error)")
        }
        Terminal.clearProgress()
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        let counts = [Self.counted(summary.validCases, "valid case"), Self.counted(summary.errorCases, "error case"),
                      Self.counted(summary.tags.count, "tag"), Self.counted(summary.errorCodes.count, "error code"), Self.counted(size, "byte")]
        print("wrote \(out): \(counts.joined(separator: ", ")) (\(what); \(Self.counted(summary.redraws, "weak draw")) redrawn) in \(seconds) s")
    }

    /// `1 tag`, `2 tags`, `0 tags`.
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    /// The options that shape the cases, in a fixed order, for the file's `generator` attribute.
    private var commandLine: String {
        var parts = shape.map { "--shape \($0.text)" }
        parts += ["--dtype \(dtype.rawValue)", "--values \(values.rawValue)", "--offsets \(offsets.rawValue)", "--masks \(masks.rawValue)",
                  bias ? "--bias" : "--no-bias"]
        if backward { parts.append("--backward") }
        parts.append("--seed \(seed)")
        return parts.joined(separator: " ")
    }

    /// `[3/12] r50-c3.float16: 41% of 2.1 M outputs · backward 12% · 4.1 s elapsed, about 9 s left`; the
    /// time left is the elapsed time scaled by the work left over the work done (`GenerationProgress`).
    static func progressLine(_ progress: GenerationProgress, elapsed: Double) -> String {
        var line = "[\(progress.caseIndex + 1)/\(progress.cases)] \(progress.name)"
        let percent = { (done: Int, total: Int) in "\(100 * done / max(1, total))%" }
        if progress.outputs > 0 {
            line += ": \(percent(progress.outputsDone, progress.outputs)) of \(Self.elements(progress.outputs)) outputs"
        }
        if progress.backwardSamples > 0 {
            line += " · backward \(percent(progress.backwardDone, progress.backwardSamples))"
        }
        if progress.writing { line += " · writing" }
        line += " · \(Self.duration(elapsed)) elapsed"
        let fraction = progress.fractionDone
        if fraction > 0, fraction < 1 {
            line += ", about \(Self.duration(elapsed * (1 - fraction) / fraction)) left"
        }
        return line
    }

    /// `512`, `41.5 k`, `2.1 M`.
    static func elements(_ count: Int) -> String {
        switch count {
        case ..<1_000: "\(count)"
        case ..<1_000_000: String(format: "%.1f k", Double(count) / 1e3)
        case ..<1_000_000_000: String(format: "%.1f M", Double(count) / 1e6)
        default: String(format: "%.1f G", Double(count) / 1e9)
        }
    }

    /// `4.1 s`, `37 s`, `5 min 07 s`.
    static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<10: String(format: "%.1f s", seconds)
        case ..<120: "\(Int(seconds.rounded())) s"
        default: String(format: "%ld min %02ld s", Int(seconds) / 60, Int(seconds) % 60)
        }
    }
}

/// The progress line of one generation on the terminal: redrawn when a case starts and at most
/// ten times a second within one, since small cases report hundreds of times in milliseconds.
private final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let started: Date
    private var shownCase = -1
    private var shownAt = Date.distantPast

    init(started: Date) {
        self.started = started
    }

    func show(_ progress: GenerationProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard progress.caseIndex != shownCase || now.timeIntervalSince(shownAt) >= 0.1 else { return }
        (shownCase, shownAt) = (progress.caseIndex, now)
        Terminal.progress(Generate.progressLine(progress, elapsed: now.timeIntervalSince(started)))
    }
}
