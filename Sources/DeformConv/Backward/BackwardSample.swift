/// What the reference backward knows of one sample (n, c, i, j, ho, wo) before it looks at the
/// output channels: the position, its cells, the four corners, and which gradients it can enter.
/// Both passes of `ReferenceBackward` build it the same way, so both see the same numbers.
struct BackwardSample {
    let py: Double, px: Double
    /// The mask m.
    let m: Double
    let rows: AxisCells, cols: AxisCells
    /// Inside B's forward window: outside it the sample is 0 whatever the mask, and a rounded position
    /// cannot enter it (−1, H and W are representable and rounding is monotone).
    let inWindow: Bool
    /// The derivative from the right is nonzero on the lines p = −1 too, so the offsets gradient has
    /// terms on [−1, H) × [−1, W); the other conventions shift that edge.
    let onGrid: Bool
    /// The sample's x-offset, y-offset and mask elements in the offsets layout.
    let xIndex: Int, yIndex: Int, maskIndex: Int
    /// The first row of image plane (n, c) in x.
    let plane: Int
    let v00: Double, v01: Double, v10: Double, v11: Double
    /// |py| + 1 and |px| + 1
    let apy: Double, apx: Double
    private let x: UnsafePointer<Double>
    private let height: Int, width: Int

    /// nil beyond one cell outside the image, where every cell any rule looks at is zero; the guard
    /// also keeps NaN and huge positions away from floor().
    init?(_ p: DeformConvProblem, _ x: UnsafePointer<Double>, _ offsets: UnsafePointer<Double>, n: Int, c: Int, tap: Int, pixel: Int,
          unitRoundoff: Double, convention: DerivativeConvention) {
        let g = p.geometry
        let taps = p.offsetTaps
        let (i, j) = tap.quotientAndRemainder(dividingBy: g.kernelWidth)
        let (oh, ow) = pixel.quotientAndRemainder(dividingBy: p.outputWidth)
        let k = (c / p.channelsPerDeformableGroup * g.kernelHeight + i) * g.kernelWidth + j
        let pixels = p.outputHeight * p.outputWidth
        xIndex = (n * 3 * taps + k) * pixels + pixel
        (yIndex, maskIndex) = (xIndex + taps * pixels, xIndex + 2 * taps * pixels)
        let dx = offsets[xIndex], dy = offsets[yIndex]
        m = offsets[maskIndex]
        py = Double(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dy
        px = Double(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dx
        guard py > -2, py < Double(g.height + 1), px > -2, px < Double(g.width + 1) else { return nil }
        rows = AxisCells(py, unitRoundoff: unitRoundoff)
        cols = AxisCells(px, unitRoundoff: unitRoundoff)
        inWindow = py > -1 && py < Double(g.height) && px > -1 && px < Double(g.width)
        onGrid = convention.reaches(py, size: g.height) && convention.reaches(px, size: g.width)
        let plane = (n * g.channels + c) * g.height
        self.plane = plane
        (self.x, height, width) = (x, g.height, g.width)
        (apy, apx) = (Swift.abs(py) + 1, Swift.abs(px) + 1)
        let (y0, x0) = (rows.own.origin, cols.own.origin)
        func v(_ a: Int, _ b: Int) -> Double {
            (0..<g.height).contains(a) && (0..<g.width).contains(b) ? x[(plane + a) * g.width + b] : 0
        }
        (v00, v01, v10, v11) = (v(y0, x0), v(y0, x0 + 1), v(y0 + 1, x0), v(y0 + 1, x0 + 1))
    }

    var y0: Int { rows.own.origin }
    var x0: Int { cols.own.origin }
    var ly: Double { rows.own.fraction }
    var lx: Double { cols.own.fraction }

    /// x at (row a, column b) of the sample's plane, zero outside the image.
    @inline(__always)
    func v(_ a: Int, _ b: Int) -> Double {
        (0..<height).contains(a) && (0..<width).contains(b) ? x[(plane + a) * width + b] : 0
    }

    /// The bilinear weights of corners 00, 01, 10 and 11.
    var weights: SIMD4<Double> {
        SIMD4((1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx)
    }

    /// B and Σ a·|v|.
    func bilinear(_ weights: SIMD4<Double>) -> (value: Double, abs: Double) {
        (weights[0] * v00 + weights[1] * v01 + weights[2] * v10 + weights[3] * v11,
         weights[0] * Swift.abs(v00) + weights[1] * Swift.abs(v01) + weights[2] * Swift.abs(v10) + weights[3] * Swift.abs(v11))
    }

    /// The pos magnitudes, each the larger over the cells a rounded position may fall in: of the
    /// sample (|∂B/∂py|·(|py| + 1) + |∂B/∂px|·(|px| + 1) in magnitudes), the four corners' largest
    /// sum, and per cell of rows y0−1 … y0+2 × columns x0−1 … x0+2 the largest |∂ω/∂py|·(|py| + 1)
    /// + |∂ω/∂px|·(|px| + 1) of the corner weight ω that cell gets (left zero without `gxCells`: the
    /// offsets gradient does not need it).
    @inline(__always)
    func cellMagnitudes(gxCells: Bool) -> (samplePos: Double, cornerSum: Double, gxPos: SIMD16<Double>) {
        var samplePos = 0.0, cornerSum = 0.0
        var gxPos = SIMD16<Double>(repeating: 0)
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
                guard gxCells else { continue }
                for a in 0..<2 {
                    for b in 0..<2 {
                        let slope = (b == 0 ? 1 - lxc : lxc) * apy + (a == 0 ? 1 - lyc : lyc) * apx
                        let cell = (cy + a - y0 + 1) * 4 + (cx + b - x0 + 1)
                        gxPos[cell] = max(gxPos[cell], slope)
                    }
                }
            }
        }
        return (samplePos, cornerSum, gxPos)
    }

    /// ∂B/∂py on the cell [r, r + 1) at the sample's column weights, and its abs.
    func dBdy(_ r: Int) -> (value: Double, abs: Double) {
        let (a0, a1, b0, b1) = (v(r, x0), v(r + 1, x0), v(r, x0 + 1), v(r + 1, x0 + 1))
        return ((1 - lx) * (a1 - a0) + lx * (b1 - b0),
                (1 - lx) * (Swift.abs(a1) + Swift.abs(a0)) + lx * (Swift.abs(b1) + Swift.abs(b0)))
    }

    /// ∂B/∂px on the cell [q, q + 1) at the sample's row weights, and its abs.
    func dBdx(_ q: Int) -> (value: Double, abs: Double) {
        let (a0, a1, b0, b1) = (v(y0, q), v(y0, q + 1), v(y0 + 1, q), v(y0 + 1, q + 1))
        return ((1 - ly) * (a1 - a0) + ly * (b1 - b0),
                (1 - ly) * (Swift.abs(a1) + Swift.abs(a0)) + ly * (Swift.abs(b1) + Swift.abs(b0)))
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
