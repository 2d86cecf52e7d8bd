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

    func run() throws {
        guard !reports.isEmpty else { throw Terminal.usageFailure("give the shards' JSON reports") }
        let merged: VerifyReport
        do {
            merged = try ReportMerger.merge(paths: reports)
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        do {
            let data = try ReportJSON.encode(merged)
            try data.write(to: URL(fileURLWithPath: json))
            if let junit { try Data(AccuracyReport.junit(merged).utf8).write(to: URL(fileURLWithPath: junit)) }
            if let reportDir {
                try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
                let command = (["dcn", "merge-reports"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
                try Data(AccuracyReport.markdown(merged, command: command).utf8).write(to: URL(fileURLWithPath: "\(reportDir)/accuracy.md"))
                try data.write(to: URL(fileURLWithPath: "\(reportDir)/accuracy.json"))
            }
        } catch {
            throw Terminal.usageFailure("cannot write the report: \(error.localizedDescription)")
        }
        for file in merged.unreadable { print("UNREADABLE \(file.file): \(file.message)") }
        for result in merged.results where result.status == .fail {
            print("FAIL \(result.kernel) \(result.file): \(result.caseName): \(result.message ?? "")")
        }
        let s = merged.summary
        print("merged \(reports.count) reports: \(s.passed) passed, \(s.failed) failed (\(s.cases) cases, \(s.files) files, \(merged.kernels.count) kernels; JSON in \(json))")
        if merged.exitCode != 0 { throw ExitCode(merged.exitCode) }
    }
}
