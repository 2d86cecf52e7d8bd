import ArgumentParser
import Conformance
import Foundation

/// `dcn merge-reports`: joins the JSON reports of `verify --shard I/N` into one.
struct MergeReports: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-reports",
        abstract: "Join the --json reports of `dcn verify --shard I/N` (I = 1…N) into the unsharded run's report.",
        discussion: """
        The merged JSON holds the same results, in the same order, with the same summary as an unsharded run \
        (only each result's measured seconds differ). Every shard of the run must be given exactly once.
        Exit status: 0 all pass, 1 any case failed or a file was unreadable, 2 bad usage or reports that do not make one run.
        """)

    @Argument(help: "The shards' JSON reports.")
    var reports: [String]

    @Option(help: "Write the merged report as JSON to this file.")
    var json: String

    @Option(help: "Also write JUnit XML to this file.")
    var junit: String?

    @Option(help: "Also write accuracy.md and accuracy.json to this folder.")
    var reportDir: String?

    func validate() throws {
        guard !reports.isEmpty else { throw ValidationError("give the shards' JSON reports") }
    }

    func run() throws {
        let merged: VerifyReport
        do {
            merged = try ReportMerger.merge(paths: reports)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        let command = (["dcn", "merge-reports"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
        var files = ReportFiles()
        try files.add(merged, command: command, folder: reportDir, json: json, junit: junit)
        try files.write()
        Verify.printProblems(merged, failures: true)
        let s = merged.summary
        print("merged \(reports.count) reports: \(s.passed) passed, \(s.failed) failed (\(s.cases) cases, \(s.files) files, \(merged.kernels.count) kernels; JSON in \(json))")
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}
