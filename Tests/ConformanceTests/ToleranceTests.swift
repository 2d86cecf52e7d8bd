import Conformance
import DeformConv
import XCTest

final class ToleranceTests: XCTestCase {
    func testUnitInTheLastPlace() {
        XCTAssertEqual(Tolerance.ulp(of: 1, in: .float32), 0x1p-23)
        XCTAssertEqual(Tolerance.ulp(of: 1.999, in: .float32), 0x1p-23)
        XCTAssertEqual(Tolerance.ulp(of: -0.75, in: .float32), 0x1p-24)
        XCTAssertEqual(Tolerance.ulp(of: 0, in: .float32), 0x1p-149)
        XCTAssertEqual(Tolerance.ulp(of: 1e-40, in: .float32), 0x1p-149, "subnormal spacing")
        XCTAssertEqual(Tolerance.ulp(of: 1, in: .float16), 0x1p-10)
        XCTAssertEqual(Tolerance.ulp(of: 1000, in: .float16), 0.5)
        XCTAssertEqual(Tolerance.ulp(of: 1e-6, in: .float16), 0x1p-24)
        // Agrees with the standard library where the binade is unambiguous.
        for value: Float in [3, 0.1, 12345.678, 1e-30] {
            XCTAssertEqual(Tolerance.ulp(of: Double(value), in: .float32), Double(value.ulp))
        }
    }

    func testGamma() {
        XCTAssertEqual(Tolerance.gamma(10, 0x1p-24), 10 * 0x1p-24 / (1 - 10 * 0x1p-24))
        XCTAssertEqual(Tolerance.gamma(2048, 0x1p-11), .infinity, "n·u ≥ 1: no rigorous bound")
    }

    func testBoundFollowsSpecSection3() throws {
        let problem = try DeformConvProblem(validating: ProblemDescriptor(parsing: "ic4ih5oc2kh3").geometry.arguments())
        let tolerance = Tolerance(kernel: NaiveKernel(), problem: problem)
        XCTAssertEqual(tolerance.reductionLength, 4 * 9 + 1)
        let u = 0x1p-24, (y, yAbs, yPos, yTiny) = (1.5, 10.0, 3.0, 50.0)
        let expected = Double(45) * u / (1 - Double(45) * u) * yAbs + 8 * u * yAbs + 2 * u * yPos + 0.5 * 0x1p-23
        let bound = tolerance.bound(y: y, yAbs: yAbs, yPos: yPos, yTiny: yTiny)
        XCTAssertEqual(bound.total, expected, accuracy: expected * 1e-12)
        // 2·η·y_tiny = 2·2⁻¹⁵⁰·50 ≈ 7e-44 for a float32 kernel: absorbed by the rest, so float32 ratios do not change.
        XCTAssertEqual(bound.total, bound.withoutUnderflow)
        let stored = Tolerance(kernel: NaiveKernel(), problem: problem, storedType: .float16)
        XCTAssertEqual(stored.bound(y: y, yAbs: yAbs, yPos: yPos, yTiny: yTiny).total, expected + 0.5 * 0x1p-10, accuracy: expected * 1e-12)
        let exact = Tolerance(kernel: NaiveKernel(), problem: problem, exact: true)
        XCTAssertEqual(exact.bound(y: y, yAbs: yAbs, yPos: yPos, yTiny: yTiny).total, 0)
    }

    /// SPEC section 3's underflow term 2·η·y_tiny, η half the smallest subnormal of the coarser of u_acc and u_s.
    func testUnderflowTermUsesTheWorkingPrecisionsSubnormalSpacing() throws {
        let problem = try DeformConvProblem(validating: ProblemDescriptor(parsing: "ic4ih5oc2kh3").geometry.arguments())
        func unit(_ uAcc: Double, _ uS: Double) -> Double {
            Tolerance(accumulationUnitRoundoff: uAcc, samplingUnitRoundoff: uS, problem: problem).underflowUnit
        }
        XCTAssertEqual(Tolerance(kernel: FP16AccKernel(), problem: problem).underflowUnit, 0x1p-25)
        XCTAssertEqual(Tolerance(kernel: NaiveKernel(), problem: problem).underflowUnit, 0x1p-150)
        // 2⁻¹⁰⁷⁵ is half the smallest double and rounds to 0 there: the term vanishes for float64 kernels.
        XCTAssertEqual(Tolerance(kernel: ReferenceKernel(), problem: problem).underflowUnit, 0)
        XCTAssertEqual(unit(UnitRoundoff.float32, UnitRoundoff.float16), 0x1p-25, "the coarser of the two units decides")
        XCTAssertEqual(unit(0x1p-8, 0x1p-8), 0x1p-25, "coarser than half (bfloat16): half's η, the larger")
        // For a half kernel the term is what lets a tiny output pass: y = 1e-7 with y_abs = 1e-6 on a float32 case.
        let half = Tolerance(kernel: FP16AccKernel(), problem: problem)
        let bound = half.bound(y: 1e-7, yAbs: 1e-6, yPos: 0, yTiny: 40)
        XCTAssertEqual(bound.total - bound.withoutUnderflow, 80 * 0x1p-25, accuracy: 1e-20)
        XCTAssertLessThan(bound.withoutUnderflow, 0x1p-25, "without the term, half a subnormal of half is already out of bounds")
    }

    func testStatsLocateTheWorstElement() {
        let expected: [Double] = [1, 2, 3, 4, 5, 6]
        var got = expected
        got[4] += 0.5
        got[1] = .nan
        let tolerance = Tolerance(kernel: NaiveKernel(), problem: try! DeformConvProblem(
            validating: ProblemDescriptor(parsing: "mb1ic1ih3iw4oc2kh1kw2").geometry.arguments()))
        let stats = AccuracyStats(got: got, expected: expected, yAbs: expected, yPos: [Double](repeating: 0, count: 6),
                                  yTiny: [Double](repeating: 0, count: 6),
                                  shape: [1, 2, 1, 3], tolerance: tolerance)
        XCTAssertFalse(stats.passed)
        XCTAssertEqual(stats.failedElements, 2)
        XCTAssertTrue(stats.worstRatio.isNaN, "a NaN output is the worst result")
        XCTAssertEqual(stats.failures.map { [$0.n, $0.o, $0.ho, $0.wo] }, [[0, 0, 0, 1], [0, 1, 0, 1]])
    }
}
