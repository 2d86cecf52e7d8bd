import ArgumentParser
import Conformance
import DeformConv
import Foundation

/// `dcn run`: a kernel's outputs for every case of a golden file, written as an outputs file.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Write one kernel's outputs for every case of a golden file to an outputs file (dcn verify --outputs reads it).",
        discussion: """
        For each case: the output y in the case's dtype, or the error the kernel path raised \
        (error_class, error_code, error_message). The root attributes say what made the file: producer, golden, \
        kernel, u_acc, u_s. Run it on two machines and verify both files, or compare them with `dcn verify --outputs`.
        Exit status: 0, or 2 for bad usage or an unreadable golden file.
        """)

    @Argument(help: "The golden file.")
    var golden: String

    @Option(name: .customLong("kernel"), help: ArgumentHelp("The kernel to run (see `dcn kernels`; also plugin:LIB).", valueName: "name"))
    var kernel: SourceSpecification?

    @Option(help: "The outputs file to write.")
    var out: String

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var memoryOptions: MemoryOptions

    @OptionGroup(title: "A C plugin instead of a built-in kernel")
    var external: SourceOptions

    /// The one source to run: --kernel's or --plugin's.
    private func specification() throws(ValidationError) -> SourceSpecification {
        let specifications = try external.specifications(kernel.map { [$0] } ?? [])
        guard specifications.count == 1 else {
            throw ValidationError(specifications.isEmpty ? "give the kernel to run: --kernel NAME or --plugin LIB" : "dcn run runs one kernel, got \(specifications.count)")
        }
        return specifications[0]
    }

    func validate() throws {
        guard external.outputs.isEmpty else { throw ValidationError("dcn run writes outputs files; --outputs is for dcn verify") }
        _ = try specification()
        guard FileManager.default.fileExists(atPath: golden) else { throw ValidationError("no such file: \(golden)") }
    }

    func run() throws {
        let selected = try buildComputingSources([try specification()], threads: threadOptions.threads)[0]
        let name = selected.identity.name
        let producer = (["dcn \(Dcn.version)", "run"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
            + " (kernel \(name), \(selected.threads) thread\(selected.threads == 1 ? "" : "s"), host \(ProcessInfo.processInfo.hostName))"
        let summary: OutputsRecorder.Summary
        do {
            summary = try OutputsRecorder(source: selected, limits: memoryOptions.limits)
                .record(golden: golden, to: out, producer: producer, progress: { index, count, name in
                    Terminal.progress("[case \(index + 1)/\(count)] \(name)")
                })
        } catch {
            Terminal.clearProgress()
            throw Terminal.usageFailure("\(error)")
        }
        Terminal.clearProgress()
        for (name, why) in summary.skipped { print("SKIPPED \(name): \(why)") }
        let backward = selected.passes.contains(.backward) ? ", \(summary.gradients) gradients, \(summary.backwardErrors) backward errors" : ""
        print("\(out): \(summary.outputs) outputs, \(summary.errors) errors\(backward), \(summary.skipped.count) cases skipped (kernel \(name))")
    }
}
