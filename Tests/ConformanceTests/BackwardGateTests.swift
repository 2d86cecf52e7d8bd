import Conformance
import DeformConv
import Foundation
import XCTest

/// The gate over gradients (SPEC section 7): the committed suite's backward cases, planted gradient
/// bugs named by tensor and element, kernels without a backward counted apart, backward-only errors.
final class BackwardGateTests: XCTestCase {
    private static var committedSuite: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("vectors/dcn-default.h5").path
    }

    func testNaiveAndSimdPassEveryBackwardCaseOfTheCommittedSuiteAndFP16AccIsNotImplemented() throws {
        let report = Verifier(kernels: [NaiveKernel(), SimdKernel(), FP16AccKernel()], passes: [.backward]).run(files: [Self.committedSuite])
        let naive = report.results.filter { $0.kernel == "naive" }
        let simd = report.results.filter { $0.kernel == "simd" }
        let fp16acc = report.results.filter { $0.kernel == "fp16acc" }
        XCTAssertGreaterThanOrEqual(naive.count, 70, "every valid case of the suite has gy")
        XCTAssertEqual(simd.count, naive.count)
        for result in naive + simd {
            XCTAssertEqual(result.status, .pass, "\(result.caseName): \(result.message ?? "")")
            guard result.expect == "ok" else { continue }
            XCTAssertEqual(result.backward?.tensors.map(\.tensor).prefix(5), ["gx", "gweight", "x_offset", "y_offset", "mask"], result.caseName)
        }
        XCTAssertTrue(naive.contains { $0.backward?.tensors.last?.tensor == "gbias" }, "cases with a bias report gbias")
        XCTAssertTrue(fp16acc.allSatisfy { $0.status == .notImplemented && $0.backward?.status == .notImplemented })
        XCTAssertEqual(report.summary.notImplemented, fp16acc.count)
        XCTAssertEqual(report.summary.passed, naive.count + simd.count, "not implemented is never a pass")
        XCTAssertEqual(report.summary.failed, 0)
        XCTAssertGreaterThan(report.summary.casesWithoutPass, 0, "the error cases have no backward part")
        XCTAssertEqual(report.exitCode, 0)
        // Exact backward cases are held to a bound of zero: naive and simd reproduce them bit for bit.
        let exact = (naive + simd).filter { $0.tags.contains("exact") }
        XCTAssertFalse(exact.isEmpty)
        for result in exact { XCTAssertEqual(result.backward?.ratio, 0, result.caseName) }
    }

    func testAPlantedGradientErrorFailsWithTheTensorAndElementNamed() throws {
        for (tensor, index) in [("gx", 5), ("y_offset", 3), ("mask", 7), ("gweight", 2)] {
            let bug = PlantedGradientBug(tensor: tensor, index: index, relativeChange: 1e-3)
            let report = Verifier(kernels: [bug], passes: [.backward]).run(files: [Self.committedSuite])
            let failed = report.results.filter { $0.status == .fail }
            XCTAssertFalse(failed.isEmpty, tensor)
            for result in failed {
                let backward = try XCTUnwrap(result.backward)
                XCTAssertEqual(backward.tensors.filter { !$0.passed }.map(\.tensor), [tensor], result.caseName)
                XCTAssertTrue(backward.message?.contains("\(tensor): 1 of") == true, backward.message ?? "")
                XCTAssertTrue(result.message?.hasPrefix("backward: ") == true, result.message ?? "")
            }
        }
    }

    func testOneUlpOnAnExactCasesGradientFails() throws {
        let bug = PlantedGradientBug(tensor: "gx", index: 0, relativeChange: 0, ulps: 1)
        let report = Verifier(kernels: [bug], passes: [.backward]).run(files: [Self.committedSuite])
        let exact = report.results.filter { $0.tags.contains("exact") }
        XCTAssertFalse(exact.isEmpty)
        for result in exact {
            XCTAssertEqual(result.status, .fail, result.caseName)
            XCTAssertEqual(result.backward?.ratio, .infinity, "an exact case allows no error: \(result.caseName)")
        }
    }

    /// gy of the wrong shape must be grad_shape, raised by the backward validation; the forward pass of
    /// such a case has nothing to check, and a kernel without a backward cannot pass it.
    func testBackwardOnlyErrorCaseIsCheckedByTheBackwardValidation() throws {
        var broken = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 3, backward: true).0
        broken.name = "grad-shape"
        broken.expect = .error(.gradShape)
        broken.output = nil
        broken.tags = ["error"]
        if let gy = broken.gy {
            var shape = gy.shape
            shape[3] += 1
            broken.gy = StoredTensor(shape: shape, data: .float32([Float](repeating: 0.5, count: shape.reduce(1, *))))
        }
        let file = try writeGolden([broken], to: try temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel(), SimdKernel(), FP16AccKernel()]).run(files: [file])
        for name in ["naive", "simd"] {
            let result = try XCTUnwrap(report.results.first { $0.kernel == name })
            XCTAssertEqual(result.status, .pass, "\(name): \(result.message ?? "")")
            XCTAssertEqual(result.backward?.errorCode, "grad_shape", name)
        }
        let fp16acc = try XCTUnwrap(report.results.first { $0.kernel == "fp16acc" })
        XCTAssertEqual(fp16acc.status, .notImplemented, fp16acc.message ?? "")
    }

    /// A backward that follows another convention is named as such over the committed suite. The
    /// derivative from the left agrees with mmcv's wherever the only integer positions are at −1
    /// (both are zero there), and mmcv's is reported first then, being the smaller difference.
    func testEachConventionIsNamedOverTheCommittedSuite() throws {
        let named: [DerivativeConvention: Set<String>] = [
            .zeroAtMinusOne: ["zero_at_minus_one"], .fromTheLeft: ["from_the_left", "zero_at_minus_one"], .central: ["central"],
        ]
        for convention in DerivativeConvention.alternatives {
            let report = Verifier(kernels: [ConventionKernel(convention: convention)], passes: [.backward]).run(files: [Self.committedSuite])
            let failed = report.results.compactMap(\.backward).filter { $0.status == .fail }
            XCTAssertFalse(failed.isEmpty, "\(convention)")
            for backward in failed {
                XCTAssertTrue(named[convention]!.contains(backward.convention ?? "none"), "\(convention): \(backward.message ?? "")")
                XCTAssertTrue(backward.message?.contains("matches \(DerivativeConvention(rawValue: backward.convention ?? "")?.summary ?? "?")") == true)
            }
            XCTAssertTrue(failed.contains { $0.convention == convention.rawValue }, "\(convention)")
        }
    }

    /// Failures at integer positions alone that no convention explains (the contract's offsets
    /// gradient doubled there) are re-scored and name none.
    func testIntegerPositionFailuresNoConventionExplainsNameNone() throws {
        let report = Verifier(kernels: [ConventionKernel(convention: .fromTheRight, scaleAtIntegerPositions: 2)], passes: [.backward])
            .run(files: [Self.committedSuite])
        let failed = report.results.compactMap(\.backward).filter { $0.status == .fail }
        XCTAssertFalse(failed.isEmpty)
        for backward in failed {
            let offsets = backward.tensors.filter { !$0.passed }
            XCTAssertTrue(offsets.allSatisfy { $0.failsOnlyAtIntegerPositions }, backward.message ?? "")
            XCTAssertNil(backward.convention, backward.message ?? "")
        }
    }
}

/// The float64 reference's backward under a derivative convention, rounded to the case's dtype;
/// with `scaleAtIntegerPositions` the x- and y-offset elements at integer positions are scaled.
struct ConventionKernel: DeformConvKernel, Float32Units {
    var convention: DerivativeConvention
    var scaleAtIntegerPositions = 1.0
    var name: String { "convention-\(convention.rawValue)" }
    let summary = "the reference's backward under another derivative convention"

    var passes: Set<KernelPass> { [.forward, .backward] }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] { NaiveKernel().run(problem, inputs) }
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] { runWidened(problem, inputs) }

    func gradients(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Double>, gy: [Double]) -> DeformConvGradients<Double> {
        let reference = ReferenceKernel().evaluateBackward(problem, inputs, gy: gy, convention: convention)
        var values = reference.values
        for (i, integer) in reference.integerPositions.enumerated() where integer { values.goffsets[i] *= scaleAtIntegerPositions }
        return values
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        gradients(problem, inputs.map(Double.init), gy: gy.map(Double.init)).map(Float.init)
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        gradients(problem, inputs.map(Double.init), gy: gy.map(Double.init)).map(Float16.init)
    }
}

/// naive, with one element of one gradient tensor perturbed (by a relative change, or by whole ulps).
struct PlantedGradientBug: DeformConvKernel, Float32Units {
    let name = "planted-gradient"
    let summary = "naive with one gradient element perturbed"
    var tensor: String
    var index: Int
    var relativeChange: Float
    var ulps = 0

    var passes: Set<KernelPass> { [.forward, .backward] }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] { NaiveKernel().run(problem, inputs) }
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] { runWidened(problem, inputs) }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        guard var g = NaiveKernel().backward(problem, inputs, gy: gy) else { return nil }
        func perturb(_ values: inout [Float], _ at: Int) {
            guard at < values.count else { return }
            var value = values[at] + relativeChange * max(abs(values[at]), 1)
            for _ in 0..<ulps { value = value.nextUp }
            values[at] = value
        }
        let blocks = problem.offsetTaps * problem.outputHeight * problem.outputWidth
        switch tensor {
        case "gx": perturb(&g.gx, index)
        case "gweight": perturb(&g.gweight, index)
        case "x_offset": perturb(&g.goffsets, index)
        case "y_offset": perturb(&g.goffsets, blocks + index)
        case "mask": perturb(&g.goffsets, 2 * blocks + index)
        default: break
        }
        return g
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        backward(problem, inputs.map(Float.init), gy: gy.map(Float.init))?.map(Float16.init)
    }
}
