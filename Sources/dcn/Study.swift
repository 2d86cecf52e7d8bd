import ArgumentParser
import Conformance
import Foundation

struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy studies written as reports.",
        subcommands: [FP16.self])

    struct FP16: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fp16",
            abstract: "How half-precision accumulation loses accuracy as the reduction grows.",
            discussion: """
            For R = 9…4608 (C/groups 1…512 at 3×3) on random float16 inputs: RMS and maximum error of fp16acc, \
            of simd on float16 inputs and of blocked half accumulation (b = 16, 64, 256) against the float64 \
            reference, with the √R·u and R·u lines, and which pass SPEC section 3's bound. Writes fp16-study.md, \
            fp16-study.json and two SVG plots.
            """)

        @Option(help: "Seed of the random inputs.")
        var seed = SuiteGenerator.defaultSeed

        @Option(help: "Random problems per reduction length.")
        var problems = 3

        @Option(help: "Folder for the report.")
        var reportDir = "reports"

        func run() throws {
            guard problems >= 1 else { throw Terminal.usageFailure("--problems must be at least 1") }
            var study = FP16Study()
            study.seed = seed
            study.problemsPerPoint = problems
            let result = try study.run { Terminal.progress("fp16 study: \($0)") }
            Terminal.clearProgress()
            let command = (["dcn", "study", "fp16"] + CommandLine.arguments.dropFirst(3)).joined(separator: " ")
            let charts = result.charts()
            do {
                try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
                let folder = URL(fileURLWithPath: reportDir)
                try Data(result.markdown(command: command).utf8).write(to: folder.appendingPathComponent("fp16-study.md"))
                try ReportJSON.encode(result).write(to: folder.appendingPathComponent("fp16-study.json"))
                try Data(charts.rms.utf8).write(to: folder.appendingPathComponent("fp16-study-rms.svg"))
                try Data(charts.max.utf8).write(to: folder.appendingPathComponent("fp16-study-max.svg"))
            } catch {
                throw Terminal.usageFailure("cannot write the report: \(error.localizedDescription)")
            }
            print(result.findings())
            print("wrote \(reportDir)/fp16-study.md, fp16-study.json, fp16-study-rms.svg, fp16-study-max.svg")
        }
    }
}
