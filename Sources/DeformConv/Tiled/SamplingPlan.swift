/// Where and how to sample for one tile of output pixels: for each (offset group,
/// tap, pixel) one base index into the channel plane and the weights of its four
/// corners, with the mask folded in.
///
/// None of it depends on the channel, so it is computed once per tile and reused
/// by every channel of the offset group.
/// The corners are base, base + columnStep, base + rowStep and base + rowStep +
/// columnStep. The base is shifted so that all four lie inside the image plane,
/// and a corner outside the image gets weight 0: the hot loop then needs no bounds
/// checks and reads nothing outside the plane. A position outside the (−1, H) ×
/// (−1, W) window gets all four weights 0, and so do pixels past the end of the
/// image, so the panel's padding columns are zeros.
struct SamplingPlan: @unchecked Sendable {
    /// [entry][pixel], entry = offset group · kh·kw + tap.
    let indices: UnsafeMutablePointer<Int>
    /// [entry][coefficient][pixel], each coefficient's values contiguous so that one vector load
    /// fetches them for eight pixels. The forward's (`build`) are the four corners' mask × bilinear
    /// weight, corners (row, column) = (0,0), (0,1), (1,0), (1,1); the backward's, `buildForBackward`.
    let coefficients: UnsafeMutablePointer<Float>
    let pixels: Int
    let entries: Int
    /// Coefficients per (entry, pixel): 4 for the forward, 13 for the backward.
    let coefficientCount: Int
    /// Index distance to the second column and the second row (0 on a one-pixel-wide or -high image).
    let columnStep: Int
    let rowStep: Int

    init(entries: Int, pixels: Int, coefficients coefficientCount: Int, height: Int, width: Int) {
        self.entries = entries
        self.pixels = pixels
        self.coefficientCount = coefficientCount
        columnStep = width > 1 ? 1 : 0
        rowStep = height > 1 ? width : 0
        indices = .allocate(capacity: entries * pixels)
        coefficients = .allocate(capacity: entries * coefficientCount * pixels)
    }

    func deallocate() {
        indices.deallocate()
        coefficients.deallocate()
    }

    /// Plans offset groups `groups` of image `n` for pixels `firstPixel ..< firstPixel + self.pixels`
    /// of the flattened Ho·Wo output plane.
    func build(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, groups: Range<Int>, firstPixel: Int) {
        let (height, width) = (p.geometry.height, p.geometry.width)
        let taps = p.geometry.kernelHeight * p.geometry.kernelWidth
        forEachPosition(p, offsets: offsets, n: n, entries: groups.lowerBound * taps ..< groups.upperBound * taps,
                        firstPixel: firstPixel, coefficients: 4) { py, px, mask, index, weight in
            // Written so that NaN positions take the zero branch instead of trapping in Int().
            guard py > -1, py < Float(height), px > -1, px < Float(width) else { return }
            let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
            let ly = py - Float(y0), lx = px - Float(x0)
            let (row, rowWeights) = Self.fit(y0, 1 - ly, ly, size: height)
            let (column, columnWeights) = Self.fit(x0, 1 - lx, lx, size: width)
            index.pointee = row * width + column
            weight[0] = mask * (rowWeights.0 * columnWeights.0)
            weight[pixels] = mask * (rowWeights.0 * columnWeights.1)
            weight[2 * pixels] = mask * (rowWeights.1 * columnWeights.0)
            weight[3 * pixels] = mask * (rowWeights.1 * columnWeights.1)
        }
    }

    /// The walk both builds share: for each entry in `entries` and each pixel of the tile, the index
    /// and the `count` coefficients set to zero, then, for a pixel inside the output plane,
    /// `body(py, px, mask, index, coefficients)` with its sampling position, its mask and pointers to
    /// its index and to its first coefficient (the next ones `pixels` apart).
    @inline(__always)
    func forEachPosition(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, entries: Range<Int>, firstPixel: Int,
                         coefficients count: Int,
                         _ body: (Float, Float, Float, UnsafeMutablePointer<Int>, UnsafeMutablePointer<Float>) -> Void) {
        precondition(count == coefficientCount && entries.upperBound <= self.entries, "the plan was allocated for other entries")
        let g = p.geometry
        let (outputWidth, plane, kw) = (p.outputWidth, p.outputHeight * p.outputWidth, g.kernelWidth)
        let taps = g.kernelHeight * kw
        let channelsK = p.offsetTaps
        for entry in entries {
            let tap = entry % taps
            let (i, j) = (tap / kw, tap % kw)
            let index = indices + entry * pixels
            let c = coefficients + entry * count * pixels
            let dxRow = offsets + (n * 3 * channelsK + entry) * plane
            let dyRow = dxRow + channelsK * plane
            let maskRow = dyRow + channelsK * plane
            for l in 0..<pixels {
                let pixel = firstPixel + l
                index[l] = 0
                for k in 0..<count { c[k * pixels + l] = 0 }
                guard pixel < plane else { continue }
                let (oh, ow) = (pixel / outputWidth, pixel % outputWidth)
                let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dyRow[pixel]
                let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dxRow[pixel]
                body(py, px, maskRow[pixel], index + l, c + l)
            }
        }
    }

    /// The first of two neighbouring rows (or columns) inside 0..<size, and the weights
    /// of that pair for sampling rows `low` (weight `a`) and `low + 1` (weight `b`),
    /// a row outside the image getting weight 0.
    static func fit(_ low: Int, _ a: Float, _ b: Float, size: Int) -> (Int, (Float, Float)) {
        if size == 1 { return (0, (low == 0 ? a : low == -1 ? b : 0, 0)) }
        if low < 0 { return (0, (b, 0)) }
        if low + 1 >= size { return (size - 2, (0, a)) }
        return (low, (a, b))
    }
}
