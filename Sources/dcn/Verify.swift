import ArgumentParser
import Conformance
import DeformConv
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every case of every golden file against each kernel: the CI gate.",
        discussion: """
        A valid case passes when every output element is within SPEC section 3's bound for the kernel; \
        an error case passes when the kernel path raises exactly the expected class and code. \
        Writes accuracy.md and accuracy.json to the report folder.
        Exit status: 0 all pass, 1 any case fails, 2 bad usage or no case could be read.
        """)

    @Argument(help: "Golden files, or folders searched for *.h5.")
    var paths: [String] = ["vectors"]

    @Option(name: .customLong("kernel"), help: ArgumentHelp("A kernel to check (repeatable; default: all): a name of `dcn kernels`, framework, framework:DATASET, outputs:FILE or plugin:LIB.", valueName: "name"))
    var kernels: [SourceSpecification] = []

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var reportOptions: ReportOptions

    @Option(help: "Write JUnit XML for CI systems to this file.")
    var junit: String?

    @OptionGroup var memoryOptions: MemoryOptions

    @OptionGroup var quietOption: QuietOption

    @Option(help: ArgumentHelp("Check only part I of N of the (file, case, kernel) list, for CI fleets; join the parts' --json with `dcn merge-reports`.",
                               valueName: "I/N"))
    var shard: Shard?

    @Flag(help: "Read the golden files in this process instead of one child process per file (faster on many tiny files; a file that crashes libhdf5 then crashes dcn).")
    var inProcess = false

    @Option(help: "Seconds a case may run before its reader process is killed and the case fails (not with --in-process).")
    var caseTimeout: Double = 600

    @Option(name: .customLong("pass"), help: "Which passes to check: forward, backward (the cases with gy, SPEC section 7) or both.")
    var pass: PassSelection = .both

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Determinism mode: run each case N times on each kernel or plugin (and at 1 thread and at every core for those that take a thread count); a case whose output or gradient bits differ between runs is reported nondeterministic, a warning.", valueName: "N"))
    var repeats = 1

    @Flag(help: "With --repeat: a nondeterministic case fails.")
    var requireDeterministic = false

    @OptionGroup(title: "Results computed elsewhere (SourceOptions.swift)")
    var external: SourceOptions

    var determinism: Determinism { Determinism(repeats: repeats, requireDeterministic: requireDeterministic) }

    func validate() throws {
        guard caseTimeout > 0 else { throw ValidationError("--case-timeout must be positive, got \(caseTimeout)") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1 (2 or more to check determinism), got \(repeats)") }
        guard !requireDeterministic || repeats >= 2 else { throw ValidationError("--require-deterministic needs --repeat N with N ≥ 2") }
        _ = try external.specifications(kernels)
    }

    func run() throws {
        // --outputs / --plugin join --kernel's sources; the reader child processes receive them as JSON.
        let threads = threadOptions.threads
        let given = try external.specifications(kernels)
        let specifications = (given.isEmpty ? SourceSpecification.allKernels() : given).map { $0.with(threads: threads) }
        let sources = try buildSources(specifications, threads: threads)
        let files: [String]
        do {
            files = try Verifier.goldenFiles(in: paths)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        guard !files.isEmpty else { throw Terminal.usageFailure("no .h5 files under \(paths.joined(separator: ", "))") }

        let limits = memoryOptions.limits
        let progress = { @Sendable (step: VerifyProgress) in
            let file = step.fileCount > 1 ? "file \(step.fileNumber)/\(step.fileCount) " : ""
            Terminal.progress("[\(file)case \(step.done)/\(step.total)] \(step.file): \(step.caseName)")
        }
        let determinism = self.determinism
        let notRepeated = determinism.isOn ? zip(specifications, sources).filter { !$0.0.computes }.map(\.1.identity.name) : []
        if !notRepeated.isEmpty {
            print("note: --repeat does not apply to \(notRepeated.joined(separator: ", ")): recorded results cannot be run again")
        }
        var report: VerifyReport
        if inProcess {
            let variants = determinism.isOn ? Determinism.threadVariants(of: specifications, sources: sources) : []
            report = Verifier(sources: sources, limits: limits, shard: shard, passes: pass.passes, determinism: determinism, variants: variants)
                .run(files: files, progress: progress)
        } else {
            // One child process per file: a file that crashes libhdf5 fails its case instead of the gate.
            report = IsolatedVerifier(executable: IsolatedVerifier.currentExecutable, specifications: specifications,
                                      identities: sources.map(\.identity), limits: limits, shard: shard, passes: pass.passes,
                                      caseTimeout: caseTimeout, determinism: determinism)
                .run(files: files, progress: progress)
        }
        Terminal.clearProgress()
        if determinism.isOn {
            report.determinism = DeterminismInfo(repeats: determinism.repeats, requireDeterministic: determinism.requireDeterministic,
                                                 threadCounts: Determinism.threadCounts, notRepeated: notRepeated)
        }

        let command = (["dcn", "verify"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
        var reportFiles = ReportFiles()
        try reportFiles.add(report, command: command, folder: reportOptions.reportDir, json: reportOptions.json, junit: junit)
        try reportFiles.write()
        printSummary(report)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// The files that could not be read, then (with `failures`) each failed (case, kernel): the lines
    /// that `verify` and `merge-reports` print before their summary.
    static func printProblems(_ report: VerifyReport, failures: Bool) {
        for file in report.unreadable {
            print("UNREADABLE \(file.file): \(file.message)")
        }
        guard failures else { return }
        for result in report.results where result.status == .fail {
            print("FAIL \(result.kernel) \(result.file): \(result.caseName): \(result.message ?? "")")
        }
        for result in report.results where result.status != .fail {
            if let finding = result.nondeterministic {
                print("NONDETERMINISTIC \(result.kernel) \(result.file): \(result.caseName): \(finding)")
            }
        }
    }

    private func printSummary(_ report: VerifyReport) {
        let quiet = quietOption.quiet
        Self.printProblems(report, failures: !quiet)
        if !quiet {
            for kernel in report.kernels.map(\.name) {
                let results = report.results.filter { $0.kernel == kernel }
                let passed = results.count { $0.status == .pass }
                let worst = results.compactMap(\.ratio).max { AccuracyStats.isWorse($1, than: $0) }
                print("\(kernel): \(passed)/\(results.count) passed, worst ratio \(AccuracyReport.format(ratio: worst))" + backwardLine(results))
            }
        }
        let s = report.summary
        if let shard = report.shard {
            print("shard \(shard.index)/\(shard.count): \(report.results.count) of \(shard.totalPairs) (case, kernel) pairs of \(shard.totalCases) cases")
        }
        let notImplemented = s.notImplemented > 0 ? ", \(s.notImplemented) not implemented" : ""
        let without = s.casesWithoutPass > 0 ? "; \(s.casesWithoutPass) (case, kernel) pairs have no \(pass.rawValue) part" : ""
        let nondeterministic = s.nondeterministic.map { ", \($0) nondeterministic" } ?? ""
        print("\(s.passed) passed, \(s.failed) failed\(notImplemented)\(nondeterministic) (\(s.cases) cases, \(s.files) files, \(report.kernels.count) kernels\(without); report in \(reportOptions.reportDir)/accuracy.md)")
    }

    /// "; backward 70/70 passed, worst ratio 0.41", or "; backward not implemented (70 cases)".
    private func backwardLine(_ results: [CaseResult]) -> String {
        let parts = results.compactMap(\.backward)
        guard !parts.isEmpty else { return "" }
        let implemented = parts.filter { $0.status != .notImplemented }
        guard !implemented.isEmpty else { return "; backward not implemented (\(parts.count) cases)" }
        let worst = implemented.compactMap(\.ratio).max { AccuracyStats.isWorse($1, than: $0) }
        let passed = implemented.count { $0.status == .pass }
        return "; backward \(passed)/\(implemented.count) passed, worst ratio \(AccuracyReport.format(ratio: worst))"
    }
}

/// `dcn verify-file` (hidden): the reader child of `verify`. Verifies one file, prints
/// one line per event for the parent and writes its `FileOutcome` as JSON.
struct VerifyFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-file", abstract: "Verify one golden file for a parent `dcn verify` (internal).",
        shouldDisplay: false)

    @Argument var file: String
    @Option var fileIndex = 0
    @Option var outcome: String
    @Option var sources: SpecificationList
    @OptionGroup var memoryOptions: MemoryOptions
    @Option var shard: Shard?
    @Option(name: .customLong("pass")) var pass: PassSelection = .both
    @Option(name: .customLong("skip-case")) var skipCases: [Int] = []
    @Option(name: .customLong("repeat")) var repeats = 1
    @Flag var requireDeterministic = false

    func run() throws {
        let specifications = sources.specifications
        let built = try buildSources(specifications, threads: nil)
        let determinism = Determinism(repeats: repeats, requireDeterministic: requireDeterministic)
        let variants = determinism.isOn ? Determinism.threadVariants(of: specifications, sources: built) : []
        let verifier = Verifier(sources: built, limits: memoryOptions.limits, shard: shard, passes: pass.passes,
                                determinism: determinism, variants: variants)
        let result = verifier.verifyFile(file, index: fileIndex, skip: Set(skipCases)) { event in
            FileHandle.standardOutput.write(Data(IsolatedVerifier.line(for: event).utf8))
        }
        do {
            try IsolatedVerifier.encode(result).write(to: URL(fileURLWithPath: outcome))
        } catch {
            throw Terminal.usageFailure("cannot write \(outcome): \(error.localizedDescription)")
        }
    }
}
