import ArgumentParser
import Conformance
import Foundation

/// `dcn baseline`: accept a run as the baseline that `dcn compare` gates against.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Accept a run as the new baseline: copy its verify report and the best of its bench reports to reports/baseline/.",
        discussion: """
        PATH: verify or bench JSON files, or folders holding accuracy.json and performance.json (default: reports). \
        Two or more bench files of the same build are kept as their best (per shape and kernel the lowest minimum \
        and the lowest median), a steadier baseline than one run on a shared machine.
        Exit status: 0, or 2 when a report cannot be read or written.
        """)

    @Argument(help: "Reports or report folders of the accepted run.")
    var paths: [String] = ["reports"]

    @Option(help: "The baseline folder.")
    var to = Baseline.defaultFolder

    func run() throws {
        let accepted: Baseline.Accepted
        do {
            accepted = try Baseline.accept(paths, to: to)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        for warning in accepted.warnings { Terminal.error("note: \(warning)") }
        print("accepted as the baseline: \(accepted.files.joined(separator: ", "))")
    }
}
