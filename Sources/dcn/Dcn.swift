import ArgumentParser
import Foundation

/// `dcn`: the conformance and performance gate for deformable convolution.
@main
struct Dcn: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dcn",
        abstract: "Conformance and performance gate for deformable convolution (DCNv2, MindSpore's ops.deformable_conv2d).",
        discussion: """
        Exit status: 0 success, 1 a case failed (verify), 2 bad usage or nothing could be read.
        The operator, error codes, tolerance rule and file format are specified in SPEC.md.
        """,
        version: version,
        subcommands: [Verify.self, Generate.self, Export.self, Bench.self, Kernels.self, Study.self, Fuzz.self, MergeReports.self, VerifyFile.self, Compare.self, BaselineCommand.self, ReportCommand.self, RunCommand.self, KillMatrixCommand.self]
    )

    /// Like `ParsableCommand.main()`, except that bad usage exits with 2 (SPEC section 6), not 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Writes to standard error, for progress and diagnostics that must not mix with results on stdout.
enum Terminal {
    static let isInteractive = isatty(STDERR_FILENO) == 1

    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Rewrites one status line on a terminal; prints nothing when stderr is not one.
    static func progress(_ message: String) {
        guard isInteractive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(message)".utf8))
    }

    static func clearProgress() {
        guard isInteractive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// A command failed in a way the user must fix: the message, then exit status 2.
    static func usageFailure(_ message: String) -> ExitCode {
        error("error: \(message)")
        return ExitCode(2)
    }
}
