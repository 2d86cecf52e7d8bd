/// The readable statement of the backward pass: SPEC section 7's formulas as plain Float32
/// loops, in their order. For each sample the column gradient t = Σ_o gy·w comes first,
/// then it is scattered into gx and reduced into the offsets gradient, and gy·m·B into gweight.
extension NaiveKernel {
    public var passes: Set<KernelPass> { [.forward, .backward] }

    public func backward(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        precondition(gy.count == p.outputCount, "gy does not match the output's shape")
        let g = p.geometry
        let (ho, wo, taps) = (p.outputHeight, p.outputWidth, p.offsetTaps)
        let sampler = Sampler(p, inputs)
        var grad = DeformConvGradients<Float>(
            gx: .init(repeating: 0, count: p.xCount), gweight: .init(repeating: 0, count: p.weightCount),
            goffsets: .init(repeating: 0, count: p.offsetsCount), gbias: p.hasBias ? .init(repeating: 0, count: g.outputChannels) : nil)
        func gyAt(_ n: Int, _ o: Int, _ oh: Int, _ ow: Int) -> Float { gy[((n * g.outputChannels + o) * ho + oh) * wo + ow] }

        for n in 0..<g.batch {
            for c in 0..<g.channels {
                let group = c / p.channelsPerGroup, cg = c % p.channelsPerGroup
                let outputs = (group * p.outputChannelsPerGroup)..<((group + 1) * p.outputChannelsPerGroup)
                for i in 0..<g.kernelHeight {
                    for j in 0..<g.kernelWidth {
                        let k = (c / p.channelsPerDeformableGroup * g.kernelHeight + i) * g.kernelWidth + j
                        let tap = (cg * g.kernelHeight + i) * g.kernelWidth + j
                        for oh in 0..<ho {
                            for ow in 0..<wo {
                                let at = { (channel: Int) in ((n * 3 * taps + channel) * ho + oh) * wo + ow }
                                let mask = inputs.offsets[at(2 * taps + k)]
                                let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + inputs.offsets[at(taps + k)]
                                let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + inputs.offsets[at(k)]
                                // The derivative from the right sees row (column) 0 from p = −1 on;
                                // beyond, every corner is outside the image and nothing is owed.
                                guard py >= -1, py < Float(g.height), px >= -1, px < Float(g.width) else { continue }

                                var t: Float = 0
                                for o in outputs {
                                    t += gyAt(n, o, oh, ow) * inputs.weight[o * p.reductionLength + tap]
                                }

                                let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                                let ly = py - Float(y0), lx = px - Float(x0)
                                let v00 = sampler.value(n, c, y0, x0), v01 = sampler.value(n, c, y0, x0 + 1)
                                let v10 = sampler.value(n, c, y0 + 1, x0), v11 = sampler.value(n, c, y0 + 1, x0 + 1)
                                let mt = mask * t
                                grad.goffsets[at(taps + k)] += mt * ((1 - lx) * (v10 - v00) + lx * (v11 - v01))
                                grad.goffsets[at(k)] += mt * ((1 - ly) * (v01 - v00) + ly * (v11 - v10))

                                // On the lines p = −1 the sample itself is 0 (B's window is open
                                // there), so only the position gradients above are owed.
                                guard py > -1, px > -1 else { continue }
                                let corners = [(0, 0, (1 - ly) * (1 - lx)), (0, 1, (1 - ly) * lx), (1, 0, ly * (1 - lx)), (1, 1, ly * lx)]
                                for (a, b, weight) in corners where (0..<g.height).contains(y0 + a) && (0..<g.width).contains(x0 + b) {
                                    grad.gx[((n * g.channels + c) * g.height + y0 + a) * g.width + x0 + b] += mt * weight
                                }
                                let bilinear = sampler.bilinear(n, c, py, px)
                                grad.goffsets[at(2 * taps + k)] += t * bilinear
                                let sample = mask * bilinear
                                for o in outputs {
                                    grad.gweight[o * p.reductionLength + tap] += gyAt(n, o, oh, ow) * sample
                                }
                            }
                        }
                    }
                }
            }
        }
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        grad.gbias?[o] += gyAt(n, o, oh, ow)
                    }
                }
            }
        }
        return grad
    }
}
