@testable import DeformConv

/// The tiled kernels' arithmetic written element by element from their documented
/// definition, for both accumulations: what every microkernel configuration must
/// reproduce bit for bit.
///
/// - `.float16` (`FP16AccKernel`'s documented sequence): x, weight, masks and bias rounded to
///   Float16, offsets kept as given; each sample s = Float16(Σ (m·(row weight·column weight))·v)
///   with the corners summed as (t00 + t01) + (t10 + t11) and corners outside the image
///   contributing nothing; acc starts at Float16(bias) and takes
///   acc ← Float16(Float(acc) + Float(w)·Float(s)), channel-major, taps row by row.
/// - `.float32`: the same with no rounding to Float16, and acc ← fma(w, s, acc) in Float32.
///
/// For `.float16` the product of two Float16 values is exact in Float32, so the fused and the
/// unfused update are the same and one formula serves both.
enum ScalarModel {
    static func output(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>, accumulation: Accumulation) -> [Float] {
        let h = accumulation == .float16 ? { (value: Float) in Float(Float16(value)) } : { $0 }
        let x = inputs.x.map(h), weight = inputs.weight.map(h), offsets = inputs.offsets, bias = inputs.bias?.map(h)
        let g = p.geometry
        let (ho, wo, taps) = (p.outputHeight, p.outputWidth, p.offsetTaps)
        var y = [Float](repeating: 0, count: p.outputCount)
        for n in 0..<g.batch {
            for o in 0..<g.outputChannels {
                let group = o / p.outputChannelsPerGroup
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var acc = h(bias?[o] ?? 0)
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
                                    let w = weight[((o * p.channelsPerGroup + cg) * g.kernelHeight + i) * g.kernelWidth + j]
                                    acc = h(acc.addingProduct(w, h(sample)))
                                }
                            }
                        }
                        y[((n * g.outputChannels + o) * ho + oh) * wo + ow] = acc
                    }
                }
            }
        }
        return y
    }
}
