/// The readable statement of the semantics: SPEC section 1's formula as plain
/// Float32 loops, in the formula's order (bias, then channels, then taps).
///
/// Everything is recomputed for every output element; this kernel is the one to
/// read, not the one to time.
public struct NaiveKernel: Float32Kernel {
    public let name = "naive"
    public let summary = "float32 plain loops in the order of the formula"

    public init() {}

    public func run(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        let sampler = Sampler(p, inputs)
        let g = p.geometry
        var y = [Float](repeating: 0, count: p.outputCount)
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                let group = o / p.outputChannelsPerGroup
                for oh in 0..<p.outputHeight {
                    for ow in 0..<p.outputWidth {
                        var sum = inputs.bias?[o] ?? 0
                        for cg in 0..<p.channelsPerGroup {
                            for i in 0..<g.kernelHeight {
                                for j in 0..<g.kernelWidth {
                                    let w = inputs.weight[((o * p.channelsPerGroup + cg) * g.kernelHeight + i) * g.kernelWidth + j]
                                    sum += w * sampler.sample(n, group * p.channelsPerGroup + cg, i, j, oh, ow)
                                }
                            }
                        }
                        y[((n * g.outputChannels + o) * p.outputHeight + oh) * p.outputWidth + ow] = sum
                    }
                }
            }
        }
        return y
    }

    /// The deformed feature map s = m·B in Float32, laid out [n][group][row][pixel] with
    /// row = c'·kh·kw + i·kw + j: the matrix a convolution group multiplies its weights by.
    public static func samples(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        let sampler = Sampler(p, inputs)
        let g = p.geometry
        var s: [Float] = []
        s.reserveCapacity(p.batch * p.groups * p.reductionLength * p.outputHeight * p.outputWidth)
        for n in 0..<g.batch {
            for c in 0..<g.channels {
                for i in 0..<g.kernelHeight {
                    for j in 0..<g.kernelWidth {
                        for oh in 0..<p.outputHeight {
                            for ow in 0..<p.outputWidth {
                                s.append(sampler.sample(n, c, i, j, oh, ow))
                            }
                        }
                    }
                }
            }
        }
        return s
    }

    /// s[n, c, i, j, ho, wo] = m · B(x[n, c], py, px), SPEC section 1.
    struct Sampler {
        let p: DeformConvProblem
        let inputs: DeformConvInputs<Float>

        init(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>) {
            self.p = p
            self.inputs = inputs
        }

        func sample(_ n: Int, _ c: Int, _ i: Int, _ j: Int, _ oh: Int, _ ow: Int) -> Float {
            let g = p.geometry
            let taps = p.offsetTaps
            let k = (c / p.channelsPerDeformableGroup * g.kernelHeight + i) * g.kernelWidth + j
            let at = { (channel: Int) in ((n * 3 * taps + channel) * p.outputHeight + oh) * p.outputWidth + ow }
            let dx = inputs.offsets[at(k)], dy = inputs.offsets[at(taps + k)], mask = inputs.offsets[at(2 * taps + k)]
            let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
            let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
            // B = 0 outside the window: the sample is 0 whatever the mask, as in the reference and
            // the tiled kernels (a NaN or infinite mask there would otherwise give m·0 = NaN).
            guard py > -1, py < Float(g.height), px > -1, px < Float(g.width) else { return 0 }
            return mask * bilinear(n, c, py, px)
        }

        /// B(x[n, c], py, px): bilinear interpolation with zeros outside the image.
        func bilinear(_ n: Int, _ c: Int, _ py: Float, _ px: Float) -> Float {
            let (height, width) = (p.height, p.width)
            guard py > -1, py < Float(height), px > -1, px < Float(width) else { return 0 }
            let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
            let ly = py - Float(y0), lx = px - Float(x0)
            return (1 - ly) * (1 - lx) * value(n, c, y0, x0) + (1 - ly) * lx * value(n, c, y0, x0 + 1)
                + ly * (1 - lx) * value(n, c, y0 + 1, x0) + ly * lx * value(n, c, y0 + 1, x0 + 1)
        }

        /// x[n, c, a, b] inside the image, 0 outside.
        func value(_ n: Int, _ c: Int, _ a: Int, _ b: Int) -> Float {
            guard a >= 0, a < p.height, b >= 0, b < p.width else { return 0 }
            return inputs.x[((n * p.channels + c) * p.height + a) * p.width + b]
        }
    }
}
