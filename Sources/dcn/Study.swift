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

        func validate() throws {
            guard problems >= 1 else { throw ValidationError("--problems must be at least 1, got \(problems)") }
        }

        func run() throws {
            var study = FP16Study()
            study.seed = seed
            study.problemsPerPoint = problems
            let result = try study.run { Terminal.progress("fp16 study: \($0)") }
            Terminal.clearProgress()
            let command = (["dcn", "study", "fp16"] + CommandLine.arguments.dropFirst(3)).joined(separator: " ")
            let charts = result.charts()
            var files = ReportFiles()
            files.add(Data(result.markdown(command: command).utf8), named: "fp16-study.md", in: reportDir)
            files.add(try ReportFiles.json(result), named: "fp16-study.json", in: reportDir)
            files.add(Data(charts.rms.utf8), named: "fp16-study-rms.svg", in: reportDir)
            files.add(Data(charts.max.utf8), named: "fp16-study-max.svg", in: reportDir)
            try files.write()
            print(result.findings())
            print("wrote \(reportDir)/fp16-study.md, fp16-study.json, fp16-study-rms.svg, fp16-study-max.svg")
        }
    }
}
