@testable import DeformConv
import XCTest

/// `fp16acc` through its public API against `ScalarModel`'s Float16 sequence, written from
/// the kernel's documented definition: the kernel's own rounding of its inputs, both dtypes,
/// and a case where rounding at every step shows. Each microkernel on every tiling is
/// MicrokernelConfigurationTests'.
final class FP16AccTests: XCTestCase {
    func testBitIdenticalToTheScalarModel() throws {
        var rng = TestRNG(seed: 41)
        for descriptor in TiledKernelTests.descriptors {
            let problem = try TiledKernelTests.problem(descriptor, bias: rng.next() % 2 == 0)
            var inputs = TiledKernelTests.randomInputs(problem, &rng)
            // Values of several binades, so that roundings of every kind happen, tiny accumulators included.
            inputs.x = inputs.x.map { $0 * Float(rng.int(1, 300)) }
            let expected = ScalarModel.output(problem, inputs, accumulation: .float16)
            XCTAssertEqual(FP16AccKernel().run(problem, inputs).map(\.bitPattern), expected.map(\.bitPattern), descriptor)
        }
    }

    func testFloat16ProblemsGiveTheSameBits() throws {
        var rng = TestRNG(seed: 2)
        let problem = try DeformConvProblem(validating: ProblemDescriptor(parsing: "ic8ih7oc5kh3ph1pw1dg2").geometry.arguments(dtype: .float16, bias: true))
        let inputs = TiledKernelTests.randomInputs(problem, &rng).map(Float16.init)
        XCTAssertEqual(FP16AccKernel().run(problem, inputs).map(Float.init), ScalarModel.output(problem, inputs.map(Float.init), accumulation: .float16))
    }

    func testAccumulationIsRoundedAtEveryStep() throws {
        // 2048 + 1 + 1 + … in Float16: 2049 is not representable (spacing 2 there) and ties to 2048,
        // so a faithful half accumulator never leaves 2048, while Float32 reaches 2048 + 8.
        let problem = try TiledKernelTests.problem("ic8ih1oc1kh1", bias: true)
        let inputs = DeformConvInputs<Float>(x: Array(repeating: 1, count: 8), weight: Array(repeating: 1, count: 8),
                                             offsets: [0, 0, 1], bias: [2048])
        XCTAssertEqual(FP16AccKernel().run(problem, inputs), [2048])
        XCTAssertEqual(SimdKernel().run(problem, inputs), [2056])
    }
}
