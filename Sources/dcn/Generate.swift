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
        var weights: [Double] = []
        let progress = { (index: Int, total: Int, name: String) in
            guard !quietOption.quiet else { return }
            Terminal.progress(Self.progressLine(index, total, name, weights, since: started))
        }
        let (summary, what): (SuiteSummary, String)
        do {
            (summary, what) = try ReplacingFile(path: out).write { (path: String) throws -> (SuiteSummary, String) in
                if !shape.isEmpty {
                    let shapeSuite = ShapeSuite(descriptors: try shape.map { try $0.descriptor() }, dtypes: dtype.dtypes, bias: bias,
                                                values: values.recipe, offsets: offsets.recipe, masks: masks.recipe, backward: backward)
                    let recipes = try shapeSuite.recipes()
                    weights = recipes.map(shapeSuite.work(of:))
                    let summary = try SuiteGenerator(seed: seed).generate(recipes: recipes, backward: backward, to: path,
                                                                           generator: "dcn \(Dcn.version) generate \(commandLine)", progress: progress)
                    return (summary, "seed \(seed)")
                }
                if let inputs {
                    let inputsSuite = try InputsSuite(path: inputs)
                    try inputsSuite.checkData()
                    weights = inputsSuite.work
                    return (try inputsSuite.generate(to: path, generator: "dcn \(Dcn.version) generate --inputs \(inputs)", progress: progress),
                            "inputs \(inputs)")
                }
                let name = (suite ?? .standard).name
                if name == LargeSuite.name {
                    // Said before the work starts: the run is long and needs this much memory and disk.
                    let gib = { (bytes: Int) in String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
                    Terminal.error("suite large: \(LargeSuite.valid.count) cases, about \(gib(LargeSuite.peakBytes)) of memory at most and \(gib(LargeSuite.fileBytes)) of disk; \(LargeSuite.timeEstimate)")
                }
                let summary = try SuiteGenerator(seed: seed).generate(suite: name, to: path, generator: "dcn \(Dcn.version) generate --suite \(name) --seed \(seed)") { done, total, name in
                    progress(done - 1, total, name)
                }
                return (summary, "suite \(name), seed \(seed)")
            }
        } catch {
            Terminal.clearProgress()
            throw Terminal.usageFailure("\(error)")
        }
        Terminal.clearProgress()
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        print("wrote \(out): \(summary.validCases) valid cases, \(summary.errorCases) error cases, \(summary.tags.count) tags, \(summary.errorCodes.count) error codes, \(size) bytes (\(what); \(summary.redraws) weak draws redrawn) in \(seconds) s")
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

    /// `[2/5] name, 12 s elapsed, about 30 s left`: the estimate follows each case's work when known.
    static func progressLine(_ index: Int, _ total: Int, _ name: String, _ weights: [Double], since started: Date) -> String {
        let elapsed = Date().timeIntervalSince(started)
        var line = "[\(index + 1)/\(total)] \(name), \(Int(elapsed)) s elapsed"
        let done = weights.count == total ? weights.prefix(index).reduce(0, +) : Double(index)
        let all = weights.count == total ? weights.reduce(0, +) : Double(total)
        if done > 0, all > done {
            line += ", about \(Int((elapsed * (all - done) / done).rounded())) s left"
        }
        return line
    }
}
