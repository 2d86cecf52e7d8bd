import ArgumentParser
import Conformance
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a golden file: the built-in suite, with outputs from the float64 reference.",
        discussion: "The same suite and seed give the same inputs and outputs on every machine.")

    @Option(help: "The golden file to write (replaced if it exists).")
    var out: String

    @Option(help: "The suite to write.")
    var suite = SuiteName.standard

    @Option(help: "Seed of the random inputs.")
    var seed = SuiteGenerator.defaultSeed

    func run() throws {
        let generator = SuiteGenerator(seed: seed)
        let summary: SuiteSummary
        do {
            summary = try generator.generate(suite: suite.name, to: out, generator: "dcn \(Dcn.version) generate --suite \(suite.name) --seed \(seed)") { done, total, name in
                Terminal.progress("[\(done)/\(total)] \(name)")
            }
        } catch {
            Terminal.clearProgress()
            throw Terminal.usageFailure("\(error)")
        }
        Terminal.clearProgress()
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("wrote \(out): \(summary.validCases) valid cases, \(summary.errorCases) error cases, \(summary.tags.count) tags, \(summary.errorCodes.count) error codes, \(size) bytes (suite \(suite.name), seed \(seed); \(summary.redraws) weak draws redrawn)")
    }
}
