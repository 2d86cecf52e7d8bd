import Conformance
import DeformConv
import Foundation
import XCTest

/// `dcn fuzz`: a fixed-seed run is clean over every kernel, and planted bugs are caught, reported with what
/// reproduces them, and saved as golden files that `verify` then fails.
final class FuzzTests: XCTestCase {
    func testFixedSeedRunIsCleanOverEveryKernel() throws {
        let kernels: [any DeformConvKernel] = [NaiveKernel(), SimdKernel(), ThreadedKernel(), FP16AccKernel()]
        let summary = FuzzRunner(seed: 1, kernels: kernels).run(count: 400)
        for failure in summary.failures {
            XCTFail("\(failure.kernel) problem \(failure.index): \(failure.problem): \(failure.message)")
        }
        XCTAssertEqual(summary.problems, 400)
        XCTAssertGreaterThan(summary.float16, 30)
        XCTAssertGreaterThan(summary.exact, 30)
        XCTAssertEqual(Set(summary.violationsByCode.keys), Set(ErrorCode.forwardCases), "every rule of SPEC section 2 is broken at least once")
        for tally in summary.kernels { XCTAssertLessThanOrEqual(tally.forward.worstRatio, 1, tally.kernel) }
    }

    /// The seven float32 problems of seed 20261125 whose outputs lie in half's subnormal range: fp16acc gives
    /// the exact result rounded once to half there, which only SPEC section 3's underflow term 2·η·y_tiny admits.
    static let halfSubnormalProblems = [15597, 34915, 37667, 50996, 52908, 66517, 97472]

    func testHalfSubnormalOutputsPassOnlyByTheUnderflowTerm() throws {
        let runner = FuzzRunner(seed: 20261125, kernels: [FP16AccKernel()])
        for index in Self.halfSubnormalProblems {
            let summary = runner.run(first: index, count: 1)
            for failure in summary.failures { XCTFail("problem \(index): \(failure.message)") }
            XCTAssertEqual(summary.valid, 1, "problem \(index) is a valid problem")
            XCTAssertGreaterThan(summary.kernels[0].passedByUnderflowTerm, 0, "problem \(index): the term decides some element")
        }
    }

    func testAnErrorOfTwiceTheUnderflowTermFails() throws {
        let generator = FuzzProblemGenerator(seed: 20261125)
        for index in Self.halfSubnormalProblems {
            let golden = try generator.problem(index).golden
            let output = try XCTUnwrap(golden.output)
            let problem = try DeformConvProblem(validating: golden.arguments)
            let tolerance = Tolerance(kernel: FP16AccKernel(), problem: problem)
            // The element with the smallest nonzero |y|: its bound is mostly the underflow term.
            let element = try XCTUnwrap(output.y.indices.filter { output.y[$0] != 0 }.min { abs(output.y[$0]) < abs(output.y[$1]) })
            var got = output.y
            got[element] += 4 * tolerance.underflowUnit * output.yTiny![element]
            let stats = AccuracyStats(got: got, expected: output.y, yAbs: output.yAbs!, yPos: output.yPos!, yTiny: output.yTiny!,
                                      shape: problem.outputShape, tolerance: tolerance)
            XCTAssertEqual(stats.failedElements, 1, "problem \(index)")
            let failure = try XCTUnwrap(stats.failures.first)
            XCTAssertEqual([failure.expected, failure.got], [output.y[element], got[element]], "problem \(index): the planted element is named")
            XCTAssertEqual(stats.passedByUnderflowTerm, 0, "problem \(index): the exact output needs no term")
        }
    }

    func testProblemsAreReproducibleFromSeedAndIndex() throws {
        let a = FuzzProblemGenerator(seed: 42), b = FuzzProblemGenerator(seed: 42)
        for index in [0, 17, 123] {
            let (p, q) = (try a.problem(index), try b.problem(index))
            XCTAssertEqual(p.summary, q.summary)
            XCTAssertEqual(p.golden.output?.y, q.golden.output?.y)
        }
        XCTAssertNotEqual(try a.problem(1).summary, try a.problem(2).summary)
    }

    func testPlantedBugsAreCaughtAndSavedAsGoldenFiles() throws {
        let folder = try temporaryFolder(self)
        let bugs: [any DeformConvKernel] = [PlantedOutputBug(index: 0, relativeChange: 1e-3), PlantedErrorCodeBug()]
        var reported: [FuzzFailure] = []
        let summary = FuzzRunner(seed: 3, kernels: bugs, saveFailures: folder).run(count: 120) { reported.append($0) }
        XCTAssertEqual(reported.count, summary.failures.count)
        let output = try XCTUnwrap(summary.failures.first { $0.kernel == "planted-output" })
        let code = try XCTUnwrap(summary.failures.first { $0.kernel == "planted-error-code" })
        XCTAssertTrue(code.message.contains("bias_shape") && code.problem.contains("offsets_shape"), code.message)
        XCTAssertTrue(output.message.contains("outside the bound"), output.message)
        // The saved file is a golden file: the bug fails it, naive passes it.
        let saved = try XCTUnwrap(output.savedTo)
        XCTAssertTrue(saved.hasSuffix("fuzz-3-\(output.index).h5"), saved)
        let report = Verifier(kernels: [bugs[0], NaiveKernel()]).run(files: [saved])
        XCTAssertEqual(report.results.map(\.status), [.fail, .pass])
        let codeReport = Verifier(kernels: [bugs[1], NaiveKernel()]).run(files: [try XCTUnwrap(code.savedTo)])
        XCTAssertEqual(codeReport.results.map(\.status), [.fail, .pass])
    }

    /// SPEC section 1: s = m·B with B = 0 outside the window, so a tap sampled outside contributes
    /// nothing whatever its mask, NaN included, in every kernel (naive used to give m·0 = NaN).
    func testNonFiniteMasksOutsideTheWindowContributeNothing() throws {
        let problem = try DeformConvProblem(validating: try ProblemDescriptor(parsing: "ic2ih4oc2kh3ph1pw1").geometry.arguments())
        var inputs = DeformConvInputs<Float>(x: (0..<problem.xCount).map { Float($0 % 7) / 7 },
                                             weight: (0..<problem.weightCount).map { Float($0 % 5) / 5 - 0.4 },
                                             offsets: [Float](repeating: 0.25, count: problem.offsetsCount))
        // Tap (0, 0) of pixel (0, 0) samples (−0.75, −0.75) + (−1, −1): outside; its mask is NaN, then infinite.
        let plane = problem.outputHeight * problem.outputWidth
        inputs.offsets[0] = -1
        inputs.offsets[problem.offsetTaps * plane] = -1
        for mask in [Float.nan, .infinity] {
            inputs.offsets[2 * problem.offsetTaps * plane] = mask
            let reference = ReferenceKernel().run(problem, inputs)
            XCTAssertTrue(reference.allSatisfy(\.isFinite))
            for kernel in [NaiveKernel(), SimdKernel(), ThreadedKernel()] as [any DeformConvKernel] {
                let y = kernel.run(problem, inputs)
                XCTAssertTrue(y.allSatisfy(\.isFinite), "\(kernel.name) with mask \(mask)")
                for (a, b) in zip(y, reference) { XCTAssertEqual(a, b, accuracy: 1e-5, kernel.name) }
            }
        }
    }

    func testCommandLine() throws {
        let folder = try temporaryFolder(self)
        let clean = try runDcn(["fuzz", "--seed", "7", "--count", "40"])
        XCTAssertEqual(clean.status, 0, clean.stdout + clean.stderr)
        XCTAssertTrue(clean.stdout.contains("40 problems, 0 failed, 4 kernels"), clean.stdout)
        XCTAssertEqual(try runDcn(["fuzz", "--kernel", "reference"]).status, 2, "the reference is the oracle")
        XCTAssertEqual(try runDcn(["fuzz", "--kernel", "nope"]).status, 2)
        let one = try runDcn(["fuzz", "--seed", "7", "--first", "12", "--count", "1", "--kernel", "simd", "--save-failures", folder])
        XCTAssertEqual(one.status, 0, one.stdout)
    }
}
