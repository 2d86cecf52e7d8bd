/// The exact output of a problem in Float64, with the magnitudes SPEC section 3
/// builds its error bound from.
public struct ReferenceOutput: Sendable {
    /// y, NCHW (N, Co, Ho, Wo).
    public var y: [Double]
    /// y_abs = |bias| + Σ |w|·|m|·Σ_corners a·|v|: what cancellation in the sum can cost.
    public var yAbs: [Double]
    /// y_pos = Σ |w|·|m|·(|py|·|∂B/∂py| + |px|·|∂B/∂px|): what rounding the sampling position can cost.
    public var yPos: [Double]
    /// y_tiny = R + 1 + Σ |w|·(1 + |m| + |B|) + Σ |m·B| over the taps inside the window: how many
    /// roundings into the subnormal range a half-precision kernel can make, each weighted by what
    /// multiplies it (SPEC section 3, gradual underflow).
    public var yTiny: [Double]
}

/// The golden implementation: SPEC section 1's formulas evaluated in Float64.
///
/// Products of Float32 or Float16 inputs are exact in Float64 and the sampling
/// position base + offset is too, so the only rounding is in the bilinear weights
/// and the sums, far below the Float32 tolerances it is used to check.
public struct ReferenceKernel: DeformConvKernel {
    public let name = "reference"
    public let summary = "float64 evaluation of the formulas; generates golden vectors"
    public let accumulationUnitRoundoff = UnitRoundoff.float64
    public let samplingUnitRoundoff = UnitRoundoff.float64

    public init() {}

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        evaluate(problem, inputs.map(Double.init)).y.map(Float.init)
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        evaluate(problem, inputs.map(Double.init)).y.map(Float16.init)
    }

    /// y, y_abs, y_pos and y_tiny of a problem on inputs given (or widened to) Float64.
    public func evaluate(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Double>) -> ReferenceOutput {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        let g = p.geometry
        let (ho, wo) = (p.outputHeight, p.outputWidth)
        let (kh, kw) = (g.kernelHeight, g.kernelWidth)
        let taps = p.offsetTaps
        var out = ReferenceOutput(y: .init(repeating: 0, count: p.outputCount),
                                  yAbs: .init(repeating: 0, count: p.outputCount),
                                  yPos: .init(repeating: 0, count: p.outputCount),
                                  yTiny: .init(repeating: 0, count: p.outputCount))
        let x = inputs.x, weight = inputs.weight, offsets = inputs.offsets
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                let group = o / p.outputChannelsPerGroup
                let bias = inputs.bias?[o] ?? 0
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var sum = bias, magnitude = abs(bias), position = 0.0
                        // R + 1 with SPEC's R = (C/groups)·kh·kw + 1: a rounding per accumulator update and the bias.
                        var tiny = Double(p.reductionLength + 2)
                        for cg in 0..<p.channelsPerGroup {
                            let c = group * p.channelsPerGroup + cg
                            let offsetGroup = c / p.channelsPerDeformableGroup
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let k = (offsetGroup * kh + i) * kw + j
                                    let at = { (channel: Int) in ((n * 3 * taps + channel) * ho + oh) * wo + ow }
                                    let dx = offsets[at(k)], dy = offsets[at(taps + k)], mask = offsets[at(2 * taps + k)]
                                    let py = Double(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
                                    let px = Double(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
                                    // Written so that NaN positions take the zero branch instead of trapping in floor().
                                    guard py > -1, py < Double(g.height), px > -1, px < Double(g.width) else { continue }
                                    let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                                    let ly = py - Double(y0), lx = px - Double(x0)
                                    let plane = (n * g.channels + c) * g.height
                                    func v(_ a: Int, _ b: Int) -> Double {
                                        (0..<g.height).contains(a) && (0..<g.width).contains(b) ? x[(plane + a) * g.width + b] : 0
                                    }
                                    let v00 = v(y0, x0), v01 = v(y0, x0 + 1), v10 = v(y0 + 1, x0), v11 = v(y0 + 1, x0 + 1)
                                    let a00 = (1 - ly) * (1 - lx), a01 = (1 - ly) * lx, a10 = ly * (1 - lx), a11 = ly * lx
                                    let bilinear = a00 * v00 + a01 * v01 + a10 * v10 + a11 * v11
                                    let w = weight[((o * p.channelsPerGroup + cg) * kh + i) * kw + j]
                                    sum += w * (mask * bilinear)
                                    let scale = abs(w) * abs(mask)
                                    magnitude += scale * (a00 * abs(v00) + a01 * abs(v01) + a10 * abs(v10) + a11 * abs(v11))
                                    let dBdy = (1 - lx) * (v10 - v00) + lx * (v11 - v01)
                                    let dBdx = (1 - ly) * (v01 - v00) + ly * (v11 - v10)
                                    position += scale * (abs(py) * abs(dBdy) + abs(px) * abs(dBdx))
                                    // The sample m·B (times w), the conversions of x (times w·m), m (times w·B) and w (times m·B).
                                    tiny += abs(w) * (1 + abs(mask) + abs(bilinear)) + abs(mask * bilinear)
                                }
                            }
                        }
                        let index = ((n * g.outputChannels + o) * ho + oh) * wo + ow
                        out.y[index] = sum
                        out.yAbs[index] = magnitude
                        out.yPos[index] = position
                        out.yTiny[index] = tiny
                    }
                }
            }
        }
        return out
    }
}
