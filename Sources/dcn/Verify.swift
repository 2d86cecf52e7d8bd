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

    @Option(name: .customLong("kernel"), help: "A kernel to check (repeatable; default: all). See `dcn kernels`.")
    var kernels: [String] = []

    @Option(help: "Threads for multithreaded kernels (default: one per core).")
    var threads: Int?

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write JUnit XML for CI systems to this file.")
    var junit: String?

    @Option(help: "Folder for accuracy.md and accuracy.json.")
    var reportDir = "reports"

    @Option(help: "Largest working memory one case may need, in bytes; larger cases fail with too_large.")
    var maxMemory = ResourceLimits.standard.maxWorkingBytes

    @Flag(help: "Print only the summary line.")
    var quiet = false

    func run() throws {
        let selected = try selectKernels(kernels, threads: threads)
        let files: [String]
        do {
            files = try Verifier.goldenFiles(in: paths)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        guard !files.isEmpty else { throw Terminal.usageFailure("no .h5 files under \(paths.joined(separator: ", "))") }

        let verifier = Verifier(kernels: selected, limits: ResourceLimits(maxWorkingBytes: maxMemory))
        let report = verifier.run(files: files) { step in
            Terminal.progress("[\(step.done)/\(step.total)] \(step.file): \(step.caseName)")
        }
        Terminal.clearProgress()

        let command = (["dcn", "verify"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
        do {
            try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
            let jsonData = try Report.json(report)
            try Data(Report.markdown(report, command: command).utf8).write(to: URL(fileURLWithPath: "\(reportDir)/accuracy.md"))
            try jsonData.write(to: URL(fileURLWithPath: "\(reportDir)/accuracy.json"))
            if let json { try jsonData.write(to: URL(fileURLWithPath: json)) }
            if let junit { try Data(Report.junit(report).utf8).write(to: URL(fileURLWithPath: junit)) }
        } catch {
            throw Terminal.usageFailure("cannot write the report: \(error.localizedDescription)")
        }
        printSummary(report)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    private func printSummary(_ report: VerifyReport) {
        for file in report.unreadable {
            print("UNREADABLE \(file.file): \(file.message)")
        }
        if !quiet {
            for result in report.results where result.status == .fail {
                print("FAIL \(result.kernel) \(result.file): \(result.caseName): \(result.message ?? "")")
            }
            for kernel in report.kernels.map(\.name) {
                let results = report.results.filter { $0.kernel == kernel }
                let passed = results.count { $0.status == .pass }
                let worst = results.compactMap(\.ratio).max { AccuracyStats.isWorse($1, than: $0) }
                print("\(kernel): \(passed)/\(results.count) passed, worst ratio \(Report.format(ratio: worst))")
            }
        }
        let s = report.summary
        print("\(s.passed) passed, \(s.failed) failed (\(s.cases) cases, \(s.files) files, \(report.kernels.count) kernels; report in \(reportDir)/accuracy.md)")
    }
}

/// The kernels named on the command line, or all of them; `threads` for the multithreaded ones.
func selectKernels(_ names: [String], threads: Int?) throws -> [any DeformConvKernel] {
    if let threads, threads < 1 { throw Terminal.usageFailure("--threads must be at least 1, got \(threads)") }
    if names.isEmpty { return KernelRegistry.all(threads: threads) }
    return try names.map { name in
        guard let kernel = KernelRegistry.named(name, threads: threads) else {
            throw Terminal.usageFailure("unknown kernel '\(name)'; kernels: \(KernelRegistry.names.joined(separator: ", "))")
        }
        return kernel
    }
}
