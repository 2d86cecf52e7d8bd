/// The readable statement of the semantics: SPEC section 1's formula as plain
/// Float32 loops, in the formula's order (bias, then channels, then taps).
///
/// Everything is recomputed for every output element; this kernel is the one to
/// read, not the one to time.
public struct NaiveKernel: DeformConvKernel {
    public let name = "naive"
    public let summary = "float32 plain loops in the order of the formula"
    public let accumulationUnitRoundoff = UnitRoundoff.float32
    public let samplingUnitRoundoff = UnitRoundoff.float32

    public init() {}

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }

    public func run(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        let g = p.geometry
        let (ho, wo, kh, kw, taps) = (p.outputHeight, p.outputWidth, g.kernelHeight, g.kernelWidth, p.offsetTaps)
        let (height, width) = (g.height, g.width)
        let x = inputs.x, weight = inputs.weight, offsets = inputs.offsets

        /// x[n, c, a, b] inside the image, 0 outside.
        func value(_ n: Int, _ c: Int, _ a: Int, _ b: Int) -> Float {
            guard a >= 0, a < height, b >= 0, b < width else { return 0 }
            return x[((n * g.channels + c) * height + a) * width + b]
        }

        /// B(x[n, c], py, px): bilinear interpolation with zeros outside the image.
        func bilinear(_ n: Int, _ c: Int, _ py: Float, _ px: Float) -> Float {
            guard py > -1, py < Float(height), px > -1, px < Float(width) else { return 0 }
            let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
            let ly = py - Float(y0), lx = px - Float(x0)
            return (1 - ly) * (1 - lx) * value(n, c, y0, x0) + (1 - ly) * lx * value(n, c, y0, x0 + 1)
                + ly * (1 - lx) * value(n, c, y0 + 1, x0) + ly * lx * value(n, c, y0 + 1, x0 + 1)
        }

        var y = [Float](repeating: 0, count: p.outputCount)
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                let group = o / p.outputChannelsPerGroup
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var sum = inputs.bias?[o] ?? 0
                        for cg in 0..<p.channelsPerGroup {
                            let c = group * p.channelsPerGroup + cg
                            let offsetGroup = c / p.channelsPerDeformableGroup
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let k = (offsetGroup * kh + i) * kw + j
                                    let at = { (channel: Int) in ((n * 3 * taps + channel) * ho + oh) * wo + ow }
                                    let dx = offsets[at(k)], dy = offsets[at(taps + k)], mask = offsets[at(2 * taps + k)]
                                    let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
                                    let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
                                    let sample = mask * bilinear(n, c, py, px)
                                    sum += weight[((o * p.channelsPerGroup + cg) * kh + i) * kw + j] * sample
                                }
                            }
                        }
                        y[((n * g.outputChannels + o) * ho + oh) * wo + ow] = sum
                    }
                }
            }
        }
        return y
    }
}
