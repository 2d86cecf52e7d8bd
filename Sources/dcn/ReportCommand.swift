import ArgumentParser
import Conformance
import Foundation

/// `dcn report`: the browsable page, reports/index.html, from the JSON reports.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write reports/index.html: accuracy per kernel and tag, performance per shape and kernel, the latest comparison and the machine.",
        discussion: """
        One static page with inline CSS and SVG, no script and no network. Each input is optional; by default \
        reports/accuracy.json and reports/performance.json (peers included when the bench merged them). The comparison \
        is --compare FILE (a `dcn compare --json` file) when given; otherwise the baseline in --baseline against the \
        verify and bench reports, when the baseline folder exists; otherwise reports/comparison.json when it exists.
        Exit status: 0, or 2 when a named input cannot be read or the page cannot be written.
        """)

    @Option(help: "The verify JSON (default: reports/accuracy.json when it exists).")
    var verify: String?

    @Option(help: "The bench JSON (default: reports/performance.json when it exists).")
    var bench: String?

    @Option(name: .customLong("compare"), help: "A comparison written by `dcn compare --json`.")
    var comparisonFile: String?

    @Option(help: "The baseline folder to compare the reports with when no --compare is given.")
    var baseline = Baseline.defaultFolder

    @Option(help: "The page to write.")
    var out = "reports/index.html"

    func run() throws {
        let manager = FileManager.default
        var inputs = HTMLReport.Inputs()
        let verifyPath = verify ?? (manager.fileExists(atPath: "reports/accuracy.json") ? "reports/accuracy.json" : nil)
        let benchPath = bench ?? (manager.fileExists(atPath: "reports/performance.json") ? "reports/performance.json" : nil)
        do {
            if let verifyPath {
                inputs.verify = try ReportJSON.decode(VerifyReport.self, contentsOf: verifyPath)
                inputs.verifyPath = verifyPath
            }
            if let benchPath {
                inputs.bench = try ReportJSON.decode(BenchReport.self, contentsOf: benchPath)
                inputs.benchPath = benchPath
            }
        } catch {
            throw Terminal.usageFailure("cannot read \(inputs.verify == nil ? verifyPath ?? "" : benchPath ?? ""): \(error.localizedDescription)")
        }
        if let comparisonFile {
            do {
                inputs.comparison = try ReportJSON.decode(Comparison.self, contentsOf: comparisonFile)
                inputs.comparisonSource = comparisonFile
            } catch {
                throw Terminal.usageFailure("cannot read the comparison \(comparisonFile): \(error)")
            }
        } else if manager.fileExists(atPath: baseline), verifyPath != nil || benchPath != nil {
            do {
                let current = try CompareSide.load([verifyPath, benchPath].compactMap { $0 })
                inputs.comparison = try Comparison(a: try CompareSide.load([baseline]), b: current)
                inputs.comparisonSource = "the baseline in \(baseline) against the reports above"
            } catch {
                Terminal.error("note: no comparison with the baseline: \(error)")
            }
        } else if manager.fileExists(atPath: "reports/comparison.json") {
            inputs.comparison = try? ReportJSON.decode(Comparison.self, contentsOf: "reports/comparison.json")
            inputs.comparisonSource = inputs.comparison == nil ? nil : "reports/comparison.json"
        }
        do {
            try HTMLReport.write(inputs, to: out)
        } catch {
            throw Terminal.usageFailure("cannot write \(out): \(error.localizedDescription)")
        }
        let parts = [inputs.verifyPath.map { "accuracy from \($0)" }, inputs.benchPath.map { "performance from \($0)" },
                     inputs.comparisonSource.map { "comparison: \($0)" }].compactMap { $0 }
        print("wrote \(out) (\(parts.isEmpty ? "no reports found" : parts.joined(separator: "; ")))")
    }
}
