import DeformConv
import XCTest

/// `simd` and `threaded` through their public API: within SPEC section 3's bound of the
/// reference on edge geometries, and exact where the arithmetic is. Each microkernel's bit
/// identity with the scalar model, for any thread count, is MicrokernelConfigurationTests'.
final class TiledKernelTests: XCTestCase {
    /// Geometries chosen for the tiles' edges: pixel counts that are not multiples of
    /// 16 or 64, 1×1 and one-row images, Co = 1, Co not a multiple of 6, C/groups = 1,
    /// offset groups finer and coarser than convolution groups.
    static let descriptors = [
        "ic3ih5oc4kh3ph1pw1", "ic1ih1oc1kh1", "ic2ih1iw1oc3kh3ph1pw1", "ic4ih1iw9oc5kh1kw3pw1",
        "ic3ih7iw1oc7kh3kw1ph1", "ic8ih9oc1kh3", "ic6ih6oc6kh3ph1pw1g6", "ic8ih6oc14kh3g2dg4",
        "ic8ih7oc8kh3ph1pw1g4dg2", "mb2ic5ih11iw9oc7kh3kw2sh2sw1pt1pb0pl2pr1dh2dw1", "ic32ih9oc20kh3ph1pw1",
        "ic16ih12oc6kh1sh2", "mb3ic2ih4oc2kh2",
    ]

    /// The standard tiling and tiles of one, two and three 16-pixel blocks: on a CPU with AVX-512F,
    /// 128 and 32 take the 32-pixel-wide microkernels and 16 and 48 take 6×16.
    static let tilings = [Tiling(), Tiling(pixelsPerTile: 16, reductionRows: 1), Tiling(pixelsPerTile: 32, reductionRows: 20),
                          Tiling(pixelsPerTile: 48, reductionRows: 30)]

    func testWithinTheBoundOfTheReference() throws {
        var rng = TestRNG(seed: 17)
        for descriptor in Self.descriptors {
            let problem = try Self.problem(descriptor, bias: rng.next() % 2 == 0)
            let inputs = Self.randomInputs(problem, &rng)
            Self.checkWithinTheBound(problem, inputs, tilings: Self.tilings, descriptor)
        }
    }

    func testExactCaseIsBitExact() throws {
        // Integers |x| ≤ 8, |w| ≤ 4, offsets and masks multiples of 1/4, bias multiples of 1/64:
        // every intermediate is exact in Float32, so the output must equal the Float64 result.
        var rng = TestRNG(seed: 9)
        for descriptor in ["ic12ih9oc7kh3ph1pw1dg3", "mb2ic6ih5iw8oc6kh3sh2pt1pb2pl0pr1g3"] {
            let problem = try Self.problem(descriptor, bias: true)
            let inputs = Self.exactInputs(problem, &rng)
            let exact = ReferenceKernel().evaluate(problem, inputs.map(Double.init)).y.map(Float.init)
            for tiling in Self.tilings {
                XCTAssertEqual(SimdKernel(tiling: tiling).run(problem, inputs), exact, descriptor)
                XCTAssertEqual(ThreadedKernel(threads: 2, tiling: tiling).run(problem, inputs), exact, descriptor)
            }
        }
    }

    func testFloat16InputsRoundOnce() throws {
        var rng = TestRNG(seed: 3)
        let problem = try DeformConvProblem(validating: ProblemDescriptor(parsing: "ic8ih6oc5kh3ph1pw1dg2").geometry.arguments(dtype: .float16, bias: true))
        let inputs = Self.randomInputs(problem, &rng).map(Float16.init)
        let widened = SimdKernel().run(problem, inputs.map(Float.init)).map(Float16.init)
        XCTAssertEqual(SimdKernel().run(problem, inputs), widened)
        XCTAssertEqual(ThreadedKernel(threads: 2).run(problem, inputs), widened)
    }

    func testNonFiniteInputOutsideTheSampledRegionDoesNotLeak() throws {
        let (problem, inputs) = try Self.infinityNoTapSamples()
        for kernel: any DeformConvKernel in [SimdKernel(), ThreadedKernel(threads: 2), NaiveKernel()] {
            XCTAssertTrue(kernel.run(problem, inputs).allSatisfy(\.isFinite), kernel.name)
        }
    }

    func testRegistryKnowsTheTiledKernels() {
        XCTAssertEqual(KernelRegistry.named("simd")?.name, "simd")
        XCTAssertEqual(KernelRegistry.named("threaded", threads: 3)?.threads, 3)
        XCTAssertTrue(KernelRegistry.names.contains("threaded"))
    }

    // MARK: helpers

    /// Every element of `simd` and `threaded` (2 threads) with each tiling within SPEC section 3's bound of the reference.
    static func checkWithinTheBound(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, tilings: [Tiling], _ label: String) {
        let reference = ReferenceKernel().evaluate(problem, inputs.map(Double.init))
        for tiling in tilings {
            for kernel: any DeformConvKernel in [SimdKernel(tiling: tiling), ThreadedKernel(threads: 2, tiling: tiling)] {
                let y = kernel.run(problem, inputs)
                for index in y.indices {
                    let bound = float32Bound(reference, index, reduction: problem.reductionLength + 1)
                    XCTAssertLessThanOrEqual(abs(Double(y[index]) - reference.y[index]), bound,
                                             "\(kernel.name) \(label) tiling \(tiling) element \(index)")
                }
            }
        }
    }

    /// Integers |x| ≤ 8, |w| ≤ 4, offsets and masks multiples of 1/4, bias multiples of 1/64:
    /// every intermediate is exact in Float32, so the output must equal the Float64 result.
    static func exactInputs(_ problem: DeformConvProblem, _ rng: inout TestRNG) -> DeformConvInputs<Float> {
        DeformConvInputs<Float>(
            x: (0..<problem.xCount).map { _ in Float(rng.int(-8, 8)) },
            weight: (0..<problem.weightCount).map { _ in Float(rng.int(-4, 4)) },
            offsets: (0..<problem.offsetsCount).map { _ in Float(rng.int(-8, 8)) / 4 },
            bias: (0..<problem.outputChannels).map { _ in Float(rng.int(-4096, 4096)) / 64 })
    }

    /// A corner outside the image has weight 0; 0 × Inf would be NaN, so such inputs must not be read
    /// through a zero weight. Here x holds an Inf that no tap samples: every tap samples pixel (0, 0)
    /// of its channel exactly (dx = −ow, dy = −oh, mask 1).
    static func infinityNoTapSamples() throws -> (DeformConvProblem, DeformConvInputs<Float>) {
        let problem = try Self.problem("ic2ih6oc3kh1", bias: false)
        var rng = TestRNG(seed: 1)
        var inputs = Self.randomInputs(problem, &rng)
        let plane = problem.outputHeight * problem.outputWidth
        for p in 0..<plane {
            inputs.offsets[p] = -Float(p % problem.outputWidth)
            inputs.offsets[plane + p] = -Float(p / problem.outputWidth)
            inputs.offsets[2 * plane + p] = 1
        }
        inputs.x[5] = .infinity
        return (problem, inputs)
    }

    static func problem(_ descriptor: String, bias: Bool) throws -> DeformConvProblem {
        try DeformConvProblem(validating: ProblemDescriptor(parsing: descriptor).geometry.arguments(dtype: .float32, bias: bias))
    }

    /// x, weight, bias in [−1, 1); offsets in [−2.5, 2.5) with a fifth of them integers; masks in [−0.5, 1).
    static func randomInputs(_ p: DeformConvProblem, _ rng: inout TestRNG) -> DeformConvInputs<Float> {
        let plane = p.outputHeight * p.outputWidth
        let offsets = (0..<p.offsetsCount).map { index -> Float in
            let isMask = index / plane % (3 * p.offsetTaps) >= 2 * p.offsetTaps
            if isMask { return rng.uniform(-0.5, 1) }
            return rng.int(0, 4) == 0 ? Float(rng.int(-2, 2)) : rng.uniform(-2.5, 2.5)
        }
        return DeformConvInputs(
            x: (0..<p.xCount).map { _ in rng.uniform(-1, 1) },
            weight: (0..<p.weightCount).map { _ in rng.uniform(-1, 1) },
            offsets: offsets,
            bias: p.hasBias ? (0..<p.outputChannels).map { _ in rng.uniform(-1, 1) } : nil)
    }

    /// SPEC section 3 for a Float32 kernel: γ_{R+8}(u)·y_abs + 8u·y_abs + 2u·y_pos + ½ ulp(y), u = 2⁻²⁴.
    static func float32Bound(_ r: ReferenceOutput, _ i: Int, reduction: Int) -> Double {
        let u = 0x1p-24
        let n = Double(reduction + 8)
        let halfUlp = r.y[i] == 0 ? 0x1p-150 : 0.5 * Double(Float(abs(r.y[i])).ulp)
        return n * u / (1 - n * u) * r.yAbs[i] + 8 * u * r.yAbs[i] + 2 * u * r.yPos[i] + halfUlp
    }
}

extension TestRNG {
    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * Float(next() >> 40) * 0x1p-24 }
    mutating func int(_ low: Int, _ high: Int) -> Int { int(low...high) }
}
