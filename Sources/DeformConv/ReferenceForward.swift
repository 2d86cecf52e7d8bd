/// ReferenceKernel's forward: y and its magnitudes, spread over threads and vectorised over
/// output pixels without changing a bit.
///
/// Every output element's four sums are taken exactly as SPEC section 1 writes them: the bias
/// first, then the terms of (c', i, j) in that order, each term computed by the same operations
/// in the same order (Float64 has no fused multiply-add here, so lanes of a SIMD vector round
/// like the scalar code). What does not depend on the output channel (the sample m·B, its
/// magnitudes) is computed once per (c, i, j, pixel) in a plan and reused for the Co/groups
/// outputs of the group: r50-c3 has 4.7 M samples and 128 outputs per sample. A tap outside B's
/// window adds nothing (not even a zero, which would turn a −0 sum into +0): its lanes keep
/// their sums by a select.
///
/// Work items are (n, group, tile of 16 output pixels); each is computed whole by one thread.
/// Memory beyond y and its magnitudes: one plan per thread, 5·(C/groups)·kh·kw·16 doubles
/// (737 KB for r50-c3) and a little per offset tap.
struct ReferenceForward {
    typealias Lanes = SIMD8<Double>
    typealias LaneMask = SIMDMask<SIMD8<Int64>>
    /// Output pixels per work item: two vectors of 8 lanes.
    static let vectorsPerTile = 2
    static let pixelsPerTile = vectorsPerTile * Lanes.scalarCount

    let p: DeformConvProblem

    /// The five o-independent values a sample contributes to its four sums, one vector of pixels each.
    private struct PlanEntry {
        /// m·B
        var sample: Lanes
        /// Σ_corners a·|v|
        var bilinearAbs: Lanes
        /// |py|·|∂B/∂py| + |px|·|∂B/∂px|
        var position: Lanes
        /// 1 + |m| + |B|
        var tinyScale: Lanes
        /// |m·B|
        var sampleAbs: Lanes
    }

    /// Where one offset tap samples, for one vector of pixels: what every channel of its
    /// deformable group shares.
    private struct TapEntry {
        var inside: LaneMask
        var maskAbs: Lanes
    }

    /// The scalar geometry of one (offset tap, pixel), in the plan's lane order.
    private struct Position {
        var py = 0.0, px = 0.0, mask = 0.0
        var y0 = 0, x0 = 0
        var ly = 0.0, lx = 0.0
    }

    /// y and its magnitudes; `work` counts p.outputCount units.
    func run(_ inputs: DeformConvInputs<Double>, _ work: ReferenceWork) -> ReferenceOutput {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        let pixels = p.outputHeight * p.outputWidth
        let tiles = (pixels + Self.pixelsPerTile - 1) / Self.pixelsPerTile
        let items = p.batch * p.groups * tiles
        var out = ReferenceOutput(y: .init(repeating: 0, count: p.outputCount), yAbs: .init(repeating: 0, count: p.outputCount),
                                  yPos: .init(repeating: 0, count: p.outputCount), yTiny: .init(repeating: 0, count: p.outputCount))
        out.y.withUnsafeMutableBufferPointer { y in
            out.yAbs.withUnsafeMutableBufferPointer { yAbs in
                out.yPos.withUnsafeMutableBufferPointer { yPos in
                    out.yTiny.withUnsafeMutableBufferPointer { yTiny in
                        let outputs = Outputs(y: y.baseAddress!, yAbs: yAbs.baseAddress!, yPos: yPos.baseAddress!, yTiny: yTiny.baseAddress!)
                        work.share(items) { nextItem in
                            let taps = p.kernelHeight * p.kernelWidth
                            let plan = UnsafeMutablePointer<PlanEntry>.allocate(capacity: p.channelsPerGroup * taps * Self.vectorsPerTile)
                            let tapPlan = UnsafeMutablePointer<TapEntry>.allocate(capacity: p.offsetTaps * Self.vectorsPerTile)
                            let positions = UnsafeMutablePointer<Position>.allocate(capacity: p.offsetTaps * Self.pixelsPerTile)
                            defer { plan.deallocate(); tapPlan.deallocate(); positions.deallocate() }
                            while let item = nextItem() {
                                let (image, tile) = item.quotientAndRemainder(dividingBy: tiles)
                                let (n, group) = image.quotientAndRemainder(dividingBy: p.groups)
                                let first = tile * Self.pixelsPerTile
                                let count = min(Self.pixelsPerTile, pixels - first)
                                locate(inputs.offsets, n: n, group: group, firstPixel: first, count: count, positions, tapPlan)
                                sample(inputs.x, n: n, group: group, count: count, positions, tapPlan, plan)
                                accumulate(inputs, n: n, group: group, firstPixel: first, count: count, tapPlan, plan, outputs)
                                work.finished(p.outputChannelsPerGroup * count)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The outputs, written by the threads at disjoint elements.
    private struct Outputs: @unchecked Sendable {
        let y, yAbs, yPos, yTiny: UnsafeMutablePointer<Double>
    }

    /// The offset taps of deformable groups a group's channels read.
    private func offsetGroups(of group: Int) -> ClosedRange<Int> {
        let firstChannel = group * p.channelsPerGroup
        return (firstChannel / p.channelsPerDeformableGroup)...((firstChannel + p.channelsPerGroup - 1) / p.channelsPerDeformableGroup)
    }

    /// Positions, masks and whether each tap of the group's offset groups is inside B's window,
    /// for the tile's pixels; lanes past the image's last pixel are outside.
    private func locate(_ offsets: [Double], n: Int, group: Int, firstPixel: Int, count: Int,
                        _ positions: UnsafeMutablePointer<Position>, _ tapPlan: UnsafeMutablePointer<TapEntry>) {
        let g = p.geometry
        let (taps, kernelTaps, pixels) = (p.offsetTaps, p.kernelHeight * p.kernelWidth, p.outputHeight * p.outputWidth)
        for dg in offsetGroups(of: group) {
            for tap in 0..<kernelTaps {
                let k = dg * kernelTaps + tap
                let (i, j) = tap.quotientAndRemainder(dividingBy: g.kernelWidth)
                for vector in 0..<Self.vectorsPerTile {
                    var inside = LaneMask(repeating: false), maskAbs = Lanes(repeating: 0)
                    for lane in 0..<Lanes.scalarCount {
                        let slot = vector * Lanes.scalarCount + lane
                        guard slot < count else { continue }
                        let pixel = firstPixel + slot
                        let (oh, ow) = pixel.quotientAndRemainder(dividingBy: p.outputWidth)
                        let at = { (channel: Int) in (n * 3 * taps + channel) * pixels + pixel }
                        let dx = offsets[at(k)], dy = offsets[at(taps + k)], mask = offsets[at(2 * taps + k)]
                        let py = Double(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
                        let px = Double(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
                        // Written so that NaN positions take the zero branch instead of trapping in floor().
                        guard py > -1, py < Double(g.height), px > -1, px < Double(g.width) else { continue }
                        let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                        positions[k * Self.pixelsPerTile + slot] = Position(py: py, px: px, mask: mask, y0: y0, x0: x0,
                                                                            ly: py - Double(y0), lx: px - Double(x0))
                        inside[lane] = true
                        maskAbs[lane] = Swift.abs(mask)
                    }
                    tapPlan[k * Self.vectorsPerTile + vector] = TapEntry(inside: inside, maskAbs: maskAbs)
                }
            }
        }
    }

    /// The plan: each channel's samples at the positions `locate` found (zero outside the window,
    /// where they are not used).
    private func sample(_ x: [Double], n: Int, group: Int, count: Int, _ positions: UnsafePointer<Position>,
                        _ tapPlan: UnsafePointer<TapEntry>, _ plan: UnsafeMutablePointer<PlanEntry>) {
        let g = p.geometry
        let kernelTaps = p.kernelHeight * p.kernelWidth
        x.withUnsafeBufferPointer { x in
            for cg in 0..<p.channelsPerGroup {
                let c = group * p.channelsPerGroup + cg
                let plane = (n * g.channels + c) * g.height
                func v(_ a: Int, _ b: Int) -> Double {
                    (0..<g.height).contains(a) && (0..<g.width).contains(b) ? x[(plane + a) * g.width + b] : 0
                }
                for tap in 0..<kernelTaps {
                    let k = c / p.channelsPerDeformableGroup * kernelTaps + tap
                    for vector in 0..<Self.vectorsPerTile {
                        let inside = tapPlan[k * Self.vectorsPerTile + vector].inside
                        var entry = PlanEntry(sample: .zero, bilinearAbs: .zero, position: .zero, tinyScale: .zero, sampleAbs: .zero)
                        for lane in 0..<Lanes.scalarCount where inside[lane] {
                            let s = positions[k * Self.pixelsPerTile + vector * Lanes.scalarCount + lane]
                            let (y0, x0, ly, lx) = (s.y0, s.x0, s.ly, s.lx)
                            let v00 = v(y0, x0), v01 = v(y0, x0 + 1), v10 = v(y0 + 1, x0), v11 = v(y0 + 1, x0 + 1)
                            let a00 = (1 - ly) * (1 - lx), a01 = (1 - ly) * lx, a10 = ly * (1 - lx), a11 = ly * lx
                            let bilinear = a00 * v00 + a01 * v01 + a10 * v10 + a11 * v11
                            let dBdy = (1 - lx) * (v10 - v00) + lx * (v11 - v01)
                            let dBdx = (1 - ly) * (v01 - v00) + ly * (v11 - v10)
                            entry.sample[lane] = s.mask * bilinear
                            entry.bilinearAbs[lane] = a00 * Swift.abs(v00) + a01 * Swift.abs(v01) + a10 * Swift.abs(v10) + a11 * Swift.abs(v11)
                            entry.position[lane] = Swift.abs(s.py) * Swift.abs(dBdy) + Swift.abs(s.px) * Swift.abs(dBdx)
                            entry.tinyScale[lane] = 1 + Swift.abs(s.mask) + Swift.abs(bilinear)
                            entry.sampleAbs[lane] = Swift.abs(s.mask * bilinear)
                        }
                        plan[(cg * kernelTaps + tap) * Self.vectorsPerTile + vector] = entry
                    }
                }
            }
        }
    }

    /// The four sums of each output channel of the group over the tile's pixels.
    private func accumulate(_ inputs: DeformConvInputs<Double>, n: Int, group: Int, firstPixel: Int, count: Int,
                            _ tapPlan: UnsafePointer<TapEntry>, _ plan: UnsafePointer<PlanEntry>, _ out: Outputs) {
        let kernelTaps = p.kernelHeight * p.kernelWidth
        let pixels = p.outputHeight * p.outputWidth
        // R + 1 with SPEC's R = (C/groups)·kh·kw + 1: a rounding per accumulator update and the bias.
        let tinyStart = Double(p.reductionLength + 2)
        inputs.weight.withUnsafeBufferPointer { weight in
            for o in (group * p.outputChannelsPerGroup)..<((group + 1) * p.outputChannelsPerGroup) {
                let bias = inputs.bias?[o] ?? 0
                for vector in 0..<Self.vectorsPerTile where vector * Lanes.scalarCount < count {
                    var sum = Lanes(repeating: bias), magnitude = Lanes(repeating: Swift.abs(bias))
                    var position = Lanes(repeating: 0), tiny = Lanes(repeating: tinyStart)
                    for cg in 0..<p.channelsPerGroup {
                        let firstK = (group * p.channelsPerGroup + cg) / p.channelsPerDeformableGroup * kernelTaps
                        for tap in 0..<kernelTaps {
                            let w = weight[(o * p.channelsPerGroup + cg) * kernelTaps + tap], wAbs = Swift.abs(w)
                            let at = tapPlan[(firstK + tap) * Self.vectorsPerTile + vector]
                            let s = plan[(cg * kernelTaps + tap) * Self.vectorsPerTile + vector]
                            sum.replace(with: sum + w * s.sample, where: at.inside)
                            let scale = wAbs * at.maskAbs
                            magnitude.replace(with: magnitude + scale * s.bilinearAbs, where: at.inside)
                            position.replace(with: position + scale * s.position, where: at.inside)
                            tiny.replace(with: tiny + (wAbs * s.tinyScale + s.sampleAbs), where: at.inside)
                        }
                    }
                    let base = (n * p.outputChannels + o) * pixels + firstPixel + vector * Lanes.scalarCount
                    for lane in 0..<min(Lanes.scalarCount, count - vector * Lanes.scalarCount) {
                        out.y[base + lane] = sum[lane]
                        out.yAbs[base + lane] = magnitude[lane]
                        out.yPos[base + lane] = position[lane]
                        out.yTiny[base + lane] = tiny[lane]
                    }
                }
            }
        }
    }
}
