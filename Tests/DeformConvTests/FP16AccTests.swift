import DeformConv
import XCTest

/// `fp16acc` against a scalar model of the same rounding sequence, written here
/// from the kernel's documented definition: bit-identical on small cases.
final class FP16AccTests: XCTestCase {
    /// The documented sequence, element by element: x, weight, masks and bias rounded to
    /// Float16, offsets kept as given; each sample
    /// s = Float16(Σ (m·(row weight·column weight))·v) with the corners summed as
    /// (t00 + t01) + (t10 + t11) and corners outside the image contributing nothing;
    /// acc starts at Float16(bias) and takes acc ← Float16(Float(acc) + Float(w)·Float(s)),
    /// channel-major, taps row by row.
    static func model(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        let h = { (value: Float) in Float(Float16(value)) }
        let x = inputs.x.map(h), weight = inputs.weight.map(h), offsets = inputs.offsets, bias = inputs.bias?.map(h)
        let g = p.geometry
        let (ho, wo, taps) = (p.outputHeight, p.outputWidth, p.offsetTaps)
        var y = [Float](repeating: 0, count: p.outputCount)
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                let group = o / p.outputChannelsPerGroup
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var acc = Float16(bias?[o] ?? 0)
                        for cg in 0..<p.channelsPerGroup {
                            let c = group * p.channelsPerGroup + cg
                            for i in 0..<g.kernelHeight {
                                for j in 0..<g.kernelWidth {
                                    let k = (c / p.channelsPerDeformableGroup * g.kernelHeight + i) * g.kernelWidth + j
                                    let at = { (channel: Int) in ((n * 3 * taps + channel) * ho + oh) * wo + ow }
                                    let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + offsets[at(taps + k)]
                                    let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + offsets[at(k)]
                                    let mask = h(offsets[at(2 * taps + k)])
                                    var sample: Float = 0
                                    if py > -1, py < Float(g.height), px > -1, px < Float(g.width) {
                                        let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                                        let ly = py - Float(y0), lx = px - Float(x0)
                                        func term(_ r: Int, _ rw: Float, _ col: Int, _ cw: Float) -> Float {
                                            guard r >= 0, r < g.height, col >= 0, col < g.width else { return 0 }
                                            return (mask * (rw * cw)) * x[((n * g.channels + c) * g.height + r) * g.width + col]
                                        }
                                        sample = (term(y0, 1 - ly, x0, 1 - lx) + term(y0, 1 - ly, x0 + 1, lx))
                                            + (term(y0 + 1, ly, x0, 1 - lx) + term(y0 + 1, ly, x0 + 1, lx))
                                    }
                                    let s = Float16(sample)
                                    let w = Float16(weight[((o * p.channelsPerGroup + cg) * g.kernelHeight + i) * g.kernelWidth + j])
                                    acc = Float16(Float(acc) + Float(w) * Float(s))
                                }
                            }
                        }
                        y[((n * g.outputChannels + o) * ho + oh) * wo + ow] = Float(acc)
                    }
                }
            }
        }
        return y
    }

    func testBitIdenticalToTheScalarModel() throws {
        var rng = TestRNG(seed: 41)
        for descriptor in TiledKernelTests.descriptors {
            let problem = try TiledKernelTests.problem(descriptor, bias: rng.next() % 2 == 0)
            var inputs = TiledKernelTests.randomInputs(problem, &rng)
            // Values of several binades, so that roundings of every kind happen, tiny accumulators included.
            inputs.x = inputs.x.map { $0 * Float(rng.int(1, 300)) }
            let expected = Self.model(problem, inputs)
            for tiling in TiledKernelTests.tilings {
                let y = FP16AccKernel(tiling: tiling).run(problem, inputs)
                XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern), "\(descriptor), \(tiling)")
            }
        }
    }

    func testFloat16ProblemsGiveTheSameBits() throws {
        var rng = TestRNG(seed: 2)
        let problem = try DeformConvProblem(validating: ProblemDescriptor(parsing: "ic8ih7oc5kh3ph1pw1dg2").geometry.arguments(dtype: .float16, bias: true))
        let inputs = TiledKernelTests.randomInputs(problem, &rng).map(Float16.init)
        XCTAssertEqual(FP16AccKernel().run(problem, inputs).map(Float.init), Self.model(problem, inputs.map(Float.init)))
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
