/// SPEC section 7's backward formulas evaluated in Float64 for one problem and gy, with
/// every gradient element's abs, pos, jump and L.
///
/// Samples are visited once each, in (n, c, i, j, ho, wo) order; for each, the column
/// gradient t = Σ_o gy·w is formed, then scattered into gx and the offsets gradient and
/// reduced into gweight. gy and weight are transposed so that the loops over the output
/// channels of a group read contiguous memory: r50-c3 has 4.7 M samples of 128 channels.
struct ReferenceBackward {
    let p: DeformConvProblem
    let inputs: DeformConvInputs<Double>
    let samplingUnitRoundoff: Double
    /// Which one-sided derivative the offsets gradient takes at integer positions.
    let convention: DerivativeConvention
    /// gy as [n][ho][wo][o].
    let gyByPixel: [Double]
    /// weight as [c'][i][j][o].
    let weightByTap: [Double]

    var gx: ReferenceGradient
    var goffsets: ReferenceGradient
    /// Per offsets-gradient element, whether its axis' position is an integer (ReferenceGradients).
    var integerPositions: [Bool]
    /// gweight's value, abs and pos as [c'][i][j][o], transposed back at the end.
    var gweightByTap: [Double]
    var gweightAbsByTap: [Double]
    var gweightPosByTap: [Double]

    init(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Double>, gy: [Double], samplingUnitRoundoff: Double,
         convention: DerivativeConvention) {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        precondition(gy.count == p.outputCount, "gy does not match the output's shape")
        self.p = p
        self.inputs = inputs
        self.samplingUnitRoundoff = samplingUnitRoundoff
        self.convention = convention
        let (co, pixels, taps) = (p.outputChannels, p.outputHeight * p.outputWidth, p.reductionLength)
        var gyByPixel = [Double](repeating: 0, count: p.outputCount)
        for n in 0..<p.batch {
            for o in 0..<co {
                for pixel in 0..<pixels {
                    gyByPixel[(n * pixels + pixel) * co + o] = gy[(n * co + o) * pixels + pixel]
                }
            }
        }
        var weightByTap = [Double](repeating: 0, count: p.weightCount)
        for o in 0..<co {
            for tap in 0..<taps {
                weightByTap[tap * co + o] = inputs.weight[o * taps + tap]
            }
        }
        self.gyByPixel = gyByPixel
        self.weightByTap = weightByTap
        gx = ReferenceGradient(count: p.xCount, reductionLength: p.outputChannelsPerGroup)
        goffsets = ReferenceGradient(count: p.offsetsCount, reductionLength: p.outputChannelsPerGroup + p.channelsPerDeformableGroup)
        integerPositions = .init(repeating: false, count: p.offsetsCount)
        gweightByTap = .init(repeating: 0, count: p.weightCount)
        gweightAbsByTap = gweightByTap
        gweightPosByTap = gweightByTap
    }

    mutating func run() -> ReferenceGradients {
        let (kernelTaps, pixels) = (p.kernelHeight * p.kernelWidth, p.outputHeight * p.outputWidth)
        for n in 0..<p.batch {
            for c in 0..<p.channels {
                for tap in 0..<kernelTaps {
                    for pixel in 0..<pixels {
                        let (i, j) = tap.quotientAndRemainder(dividingBy: p.kernelWidth)
                        let (oh, ow) = pixel.quotientAndRemainder(dividingBy: p.outputWidth)
                        sample(n, c, i, j, oh, ow)
                    }
                }
            }
        }
        return ReferenceGradients(gx: gx, gweight: gweight(), goffsets: goffsets, gbias: gbias(), integerPositions: integerPositions)
    }

    /// The contributions of sample (n, c, i, j, ho, wo) to every gradient it enters.
    private mutating func sample(_ n: Int, _ c: Int, _ i: Int, _ j: Int, _ oh: Int, _ ow: Int) {
        let g = p.geometry
        let taps = p.offsetTaps
        let k = (c / p.channelsPerDeformableGroup * g.kernelHeight + i) * g.kernelWidth + j
        let pixels = p.outputHeight * p.outputWidth, pixel = oh * p.outputWidth + ow
        let xIndex = (n * 3 * taps + k) * pixels + pixel
        let (yIndex, maskIndex) = (xIndex + taps * pixels, xIndex + 2 * taps * pixels)
        let dx = inputs.offsets[xIndex], dy = inputs.offsets[yIndex], m = inputs.offsets[maskIndex]
        let py = Double(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
        let px = Double(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
        // Beyond one cell outside the image every cell any rule looks at is zero; the guard
        // also keeps NaN and huge positions away from floor().
        guard py > -2, py < Double(g.height + 1), px > -2, px < Double(g.width + 1) else { return }
        let rows = AxisCells(py, unitRoundoff: samplingUnitRoundoff)
        let cols = AxisCells(px, unitRoundoff: samplingUnitRoundoff)
        // B's forward window: outside it the sample is 0 whatever the mask, and a rounded position
        // cannot enter it (−1, H and W are representable and rounding is monotone).
        let inWindow = py > -1 && py < Double(g.height) && px > -1 && px < Double(g.width)
        // The derivative from the right is nonzero on the lines p = −1 too, so the offsets
        // gradient has terms on [−1, H) × [−1, W); the other conventions shift that edge.
        let onGrid = convention.reaches(py, size: g.height) && convention.reaches(px, size: g.width)
        // Where the conventions can differ: ∂B/∂py is continuous in px and ∂B/∂px in py, so
        // only the axis' own position matters.
        if py == py.rounded(.down) { integerPositions[yIndex] = true }
        if px == px.rounded(.down) { integerPositions[xIndex] = true }

        let group = c / p.channelsPerGroup
        let cg = c - group * p.channelsPerGroup
        let tap = (cg * g.kernelHeight + i) * g.kernelWidth + j
        let firstOutput = group * p.outputChannelsPerGroup
        let gyRow = (n * p.outputHeight + oh) * p.outputWidth + ow
        var t = 0.0, tAbs = 0.0
        for o in firstOutput..<(firstOutput + p.outputChannelsPerGroup) {
            let gy = gyByPixel[gyRow * g.outputChannels + o], w = weightByTap[tap * g.outputChannels + o]
            t += gy * w
            tAbs += Swift.abs(gy) * Swift.abs(w)
        }

        let plane = (n * g.channels + c) * g.height
        func v(_ a: Int, _ b: Int) -> Double {
            (0..<g.height).contains(a) && (0..<g.width).contains(b) ? inputs.x[(plane + a) * g.width + b] : 0
        }
        let (y0, ly, x0, lx) = (rows.own.origin, rows.own.fraction, cols.own.origin, cols.own.fraction)
        let v00 = v(y0, x0), v01 = v(y0, x0 + 1), v10 = v(y0 + 1, x0), v11 = v(y0 + 1, x0 + 1)
        let (apy, apx) = (Swift.abs(py) + 1, Swift.abs(px) + 1)

        // pos magnitudes, the larger over the cells a rounded position may fall in.
        var samplePos = 0.0, cornerSum = 0.0
        var gxPos = SIMD16<Double>(repeating: 0)   // rows y0−1 … y0+2 × columns x0−1 … x0+2
        for r in 0..<rows.count {
            let (cy, lyc) = rows[r]
            for q in 0..<cols.count {
                let (cx, lxc) = cols[q]
                let u00 = Swift.abs(v(cy, cx)), u01 = Swift.abs(v(cy, cx + 1))
                let u10 = Swift.abs(v(cy + 1, cx)), u11 = Swift.abs(v(cy + 1, cx + 1))
                let dyAbs = (1 - lxc) * (u10 + u00) + lxc * (u11 + u01)
                let dxAbs = (1 - lyc) * (u01 + u00) + lyc * (u11 + u10)
                samplePos = max(samplePos, dyAbs * apy + dxAbs * apx)
                cornerSum = max(cornerSum, u00 + u01 + u10 + u11)
                for a in 0..<2 {
                    for b in 0..<2 {
                        // |∂ω_ab/∂py| and |∂ω_ab/∂px| of corner (cy + a, cx + b)
                        let slope = (b == 0 ? 1 - lxc : lxc) * apy + (a == 0 ? 1 - lyc : lyc) * apx
                        let cell = (cy + a - y0 + 1) * 4 + (cx + b - x0 + 1)
                        gxPos[cell] = max(gxPos[cell], slope)
                    }
                }
            }
        }

        if inWindow {
            let mt = m * t, mtAbs = Swift.abs(m) * tAbs
            let weights = SIMD4<Double>((1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx)
            for a in 0..<2 {
                for b in 0..<2 where (0..<g.height).contains(y0 + a) && (0..<g.width).contains(x0 + b) {
                    let index = (plane + y0 + a) * g.width + x0 + b
                    gx.value[index] += mt * weights[a * 2 + b]
                    gx.abs[index] += mtAbs * weights[a * 2 + b]
                    gx.reductionLength[index] += 1
                }
            }
            for a in -1...2 {
                for b in -1...2 where (0..<g.height).contains(y0 + a) && (0..<g.width).contains(x0 + b) {
                    gx.pos[(plane + y0 + a) * g.width + x0 + b] += mtAbs * gxPos[(a + 1) * 4 + b + 1]
                }
            }
            let bilinear = weights[0] * v00 + weights[1] * v01 + weights[2] * v10 + weights[3] * v11
            let bilinearAbs = weights[0] * Swift.abs(v00) + weights[1] * Swift.abs(v01)
                + weights[2] * Swift.abs(v10) + weights[3] * Swift.abs(v11)
            let (sample, sampleAbs, samplePosM) = (m * bilinear, Swift.abs(m) * bilinearAbs, Swift.abs(m) * samplePos)
            for o in firstOutput..<(firstOutput + p.outputChannelsPerGroup) {
                let gy = gyByPixel[gyRow * g.outputChannels + o]
                gweightByTap[tap * g.outputChannels + o] += gy * sample
                gweightAbsByTap[tap * g.outputChannels + o] += Swift.abs(gy) * sampleAbs
                gweightPosByTap[tap * g.outputChannels + o] += Swift.abs(gy) * samplePosM
            }
            goffsets.value[maskIndex] += t * bilinear
            goffsets.abs[maskIndex] += tAbs * bilinearAbs
            goffsets.pos[maskIndex] += tAbs * samplePos
        }

        let mtAbs = Swift.abs(m) * tAbs
        // ∂B/∂py on the cell [r, r + 1) at the sample's column weights, and its abs; likewise ∂B/∂px
        // on the cell [q, q + 1) at its row weights.
        func dBdy(_ r: Int) -> (value: Double, abs: Double) {
            let (a0, a1, b0, b1) = (v(r, x0), v(r + 1, x0), v(r, x0 + 1), v(r + 1, x0 + 1))
            return ((1 - lx) * (a1 - a0) + lx * (b1 - b0),
                    (1 - lx) * (Swift.abs(a1) + Swift.abs(a0)) + lx * (Swift.abs(b1) + Swift.abs(b0)))
        }
        func dBdx(_ q: Int) -> (value: Double, abs: Double) {
            let (a0, a1, b0, b1) = (v(y0, q), v(y0, q + 1), v(y0 + 1, q), v(y0 + 1, q + 1))
            return ((1 - ly) * (a1 - a0) + ly * (b1 - b0),
                    (1 - ly) * (Swift.abs(a1) + Swift.abs(a0)) + ly * (Swift.abs(b1) + Swift.abs(b0)))
        }
        if onGrid {
            for (r, weight) in convention.cells(at: py, origin: y0) {
                let d = dBdy(r)
                goffsets.value[yIndex] += m * t * (weight * d.value)
                goffsets.abs[yIndex] += mtAbs * (weight * d.abs)
            }
            for (q, weight) in convention.cells(at: px, origin: x0) {
                let d = dBdx(q)
                goffsets.value[xIndex] += m * t * (weight * d.value)
                goffsets.abs[xIndex] += mtAbs * (weight * d.abs)
            }
        }
        // ∂⁺B/∂py is constant in py within a cell and varies in px by (v11 − v01) − (v10 − v00),
        // whose magnitude is the four corners' sum; likewise for ∂⁺B/∂px.
        if cornerSum > 0 {
            goffsets.pos[yIndex] += mtAbs * cornerSum * apx
            goffsets.pos[xIndex] += mtAbs * cornerSum * apy
        }
        // jump: near an integer Y a rounded position may use the derivative of the other cell.
        if let y = rows.nearInteger, py != Double(y) {
            let change = Swift.abs(dBdy(y - 1).value - dBdy(y).value)
            if change > 0 { goffsets.jump[yIndex] += mtAbs * change }
        }
        if let x = cols.nearInteger, px != Double(x) {
            let change = Swift.abs(dBdx(x - 1).value - dBdx(x).value)
            if change > 0 { goffsets.jump[xIndex] += mtAbs * change }
        }
    }

    /// gweight in its own layout; L is the outer sum's N·Ho·Wo terms (gweight has no t).
    private func gweight() -> ReferenceGradient {
        let (co, taps) = (p.outputChannels, p.reductionLength)
        var result = ReferenceGradient(count: p.weightCount, reductionLength: p.batch * p.outputHeight * p.outputWidth)
        for o in 0..<co {
            for tap in 0..<taps {
                result.value[o * taps + tap] = gweightByTap[tap * co + o]
                result.abs[o * taps + tap] = gweightAbsByTap[tap * co + o]
                result.pos[o * taps + tap] = gweightPosByTap[tap * co + o]
            }
        }
        return result
    }

    /// gbias[o] = Σ_{n, ho, wo} gy: no sampling, so no pos; L is N·Ho·Wo.
    private func gbias() -> ReferenceGradient? {
        guard p.hasBias else { return nil }
        let pixels = p.outputHeight * p.outputWidth
        var result = ReferenceGradient(count: p.outputChannels, reductionLength: p.batch * pixels)
        for n in 0..<p.batch {
            for pixel in 0..<pixels {
                for o in 0..<p.outputChannels {
                    let gy = gyByPixel[(n * pixels + pixel) * p.outputChannels + o]
                    result.value[o] += gy
                    result.abs[o] += Swift.abs(gy)
                }
            }
        }
        return result
    }
}

/// Along one axis, the cell [origin, origin + 1) a position lies in and, when the position is
/// within δ = 2·u_s·(|p| + 1) of an integer Y, the other cell that meets at Y: a kernel that
/// rounds the position may compute in either (SPEC section 7, pos and jump).
struct AxisCells {
    /// The position's own cell: origin = floor(p), fraction = p − origin.
    let own: (origin: Int, fraction: Double)
    /// The neighbour across Y, entered at its edge (fraction 1 for cell Y − 1, 0 for cell Y).
    let other: (origin: Int, fraction: Double)?
    /// Y, when the position is within δ of it.
    let nearInteger: Int?

    init(_ position: Double, unitRoundoff: Double) {
        let origin = Int(position.rounded(.down))
        own = (origin, position - Double(origin))
        let nearest = position.rounded()
        guard Swift.abs(position - nearest) <= 2 * unitRoundoff * (Swift.abs(position) + 1) else {
            other = nil
            nearInteger = nil
            return
        }
        let y = Int(nearest)
        nearInteger = y
        other = origin == y ? (y - 1, 1) : (y, 0)
    }

    var count: Int { other == nil ? 1 : 2 }

    subscript(index: Int) -> (origin: Int, fraction: Double) { index == 0 ? own : other! }
}
