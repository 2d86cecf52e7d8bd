import ArgumentParser
import Conformance
import DeformConv
import Foundation

/// `dcn fuzz`: random valid problems against the reference, random single-rule violations against section 2.
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Differential fuzzing: random problems through each kernel against the float64 reference.",
        discussion: """
        Valid problems (shapes, strides, asymmetric padding, dilation, groups, deformable groups, offsets on integer \
        and boundary positions, zero and negative masks, float16 and float32) must be within SPEC section 3's bound, \
        and threaded must equal simd bit for bit (thread count drawn per problem); random single-rule violations \
        of section 2 must raise exactly the broken rule's code. Problem I of seed S is the same on every machine: \
        a failure prints `--seed S --first I --count 1` to reproduce it.
        Exit status: 0 no failure, 1 a kernel failed a problem, 2 bad usage.
        """)

    @Option(help: "Seed of the run (default: drawn from the clock and printed).")
    var seed: UInt64?

    @Option(help: "Problems to run.")
    var count = 1000

    @Option(help: "Index of the first problem (to rerun one problem of a run).")
    var first = 0

    @Option(name: .customLong("kernel"), help: ArgumentHelp("A kernel to fuzz (repeatable; default: every kernel but reference, the oracle).", valueName: "name"))
    var kernels: [KernelName] = []

    @Option(help: "Threads for threaded (default: drawn per problem from 1, 2, 3, 4, 8).")
    var threads: Int?

    @Option(help: "Share of problems that break a rule of SPEC section 2.")
    var violations = 0.2

    @Option(help: "Only problems of this dtype: float16 or float32 (default: both).")
    var dtype: CaseDataType?

    @Option(help: "Write each failing problem as a golden file to this folder (to add to vectors/).")
    var saveFailures: String?

    @Option(name: .customLong("pass"), help: "Which passes to fuzz: forward, backward (problems with gy, against the reference's gradients) or both.")
    var pass: PassSelection = .forward

    @OptionGroup var quietOption: QuietOption

    func validate() throws {
        guard count >= 0, first >= 0 else { throw ValidationError("--count and --first must not be negative") }
        guard (0...1).contains(violations) else { throw ValidationError("--violations must be in 0...1, got \(violations)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if kernels.contains(where: { $0.name == "reference" }) {
            throw ValidationError("reference is the oracle the kernels are fuzzed against; choose from \(KernelRegistry.names.dropFirst().joined(separator: ", "))")
        }
    }

    func run() throws {
        let names = kernels.isEmpty ? KernelRegistry.names.filter { $0 != "reference" } : kernels.map(\.name)
        let selected = names.compactMap { KernelRegistry.named($0, threads: threads) }
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000_007
        var runner = FuzzRunner(seed: seed, kernels: selected, varyThreads: threads == nil, saveFailures: saveFailures,
                                passes: pass.passes)
        runner.generator.violationFraction = violations
        runner.generator.dtype = dtype?.dataType
        let options = (dtype.map { " --dtype \($0.rawValue)" } ?? "") + (pass == .forward ? "" : " --pass \(pass.rawValue)")
        print("dcn fuzz --seed \(seed) --first \(first) --count \(count) --kernel \(names.joined(separator: " --kernel "))\(options)")
        let summary = runner.run(first: first, count: count, onFailure: { failure in
            Terminal.clearProgress()
            print("FAIL \(failure.kernel) problem \(failure.index): \(failure.problem)")
            print("  \(failure.message)")
            let kernel = failure.kernel.split(separator: " ").first.map(String.init) ?? failure.kernel
            print("  reproduce: dcn fuzz --seed \(seed) --first \(failure.index) --count 1 --kernel \(kernel)\(options)")
            if let saved = failure.savedTo { print("  saved: \(saved)") }
        }, progress: { done in
            if done % 50 == 0 || done == count { Terminal.progress("[\(done)/\(count)] problems") }
        })
        Terminal.clearProgress()
        if !quietOption.quiet {
            let codes = (pass == .forward ? ErrorCode.forwardCases : ErrorCode.allCases).map { "\($0.rawValue) \(summary.violationsByCode[$0] ?? 0)" }.joined(separator: ", ")
            print("problems: \(summary.valid) valid (\(summary.float16) float16, \(summary.exact) exact, \(summary.weak) weak), \(summary.violations) violations (\(codes))")
            for tally in summary.kernels {
                let decided = tally.passedByUnderflowTerm
                let underflow = decided > 0 ? "; \(decided) element\(decided == 1 ? "" : "s") within the bound only by its underflow term" : ""
                var backward = ""
                if tally.backward.checked > 0 { backward += "; backward \(tally.backward.checked) checked, worst ratio \(AccuracyReport.format(ratio: tally.backward.worstRatio))" }
                if tally.notImplemented > 0 { backward += "; backward not implemented (\(tally.notImplemented) problems)" }
                let forward = pass == .backward ? "" : ", worst ratio \(AccuracyReport.format(ratio: tally.forward.worstRatio))\(underflow)"
                print("\(tally.kernel): \(summary.valid + summary.violations - tally.failed)/\(summary.valid + summary.violations) passed\(forward)\(backward)")
            }
        }
        let failedProblems = Set(summary.failures.map(\.index)).count
        print("\(summary.problems) problems, \(failedProblems) failed, \(summary.kernels.count) kernels, \(String(format: "%.1f", summary.seconds)) s (seed \(seed))")
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }
}

/// `--dtype`: the two element types the operator accepts.
enum CaseDataType: String, ExpressibleByArgument, CaseIterable {
    case float16, float32

    var dataType: DataType { self == .float16 ? .float16 : .float32 }
}
