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
struct SamplingPlan {
    /// [entry][pixel], entry = offset group · kh·kw + tap.
    let indices: UnsafeMutablePointer<Int>
    /// [entry][corner][pixel]: mask × bilinear weight, corners (row, column) = (0,0), (0,1), (1,0), (1,1),
    /// each corner's weights contiguous so that one vector load fetches them for eight pixels.
    let weights: UnsafeMutablePointer<Float>
    let pixels: Int
    let entries: Int
    /// Index distance to the second column and the second row (0 on a one-pixel-wide or -high image).
    let columnStep: Int
    let rowStep: Int

    init(entries: Int, pixels: Int, height: Int, width: Int) {
        self.entries = entries
        self.pixels = pixels
        columnStep = width > 1 ? 1 : 0
        rowStep = height > 1 ? width : 0
        indices = .allocate(capacity: entries * pixels)
        weights = .allocate(capacity: entries * 4 * pixels)
    }

    func deallocate() {
        indices.deallocate()
        weights.deallocate()
    }

    /// Plans offset groups `groups` of image `n` for pixels `firstPixel ..< firstPixel + self.pixels`
    /// of the flattened Ho·Wo output plane.
    func build(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, groups: Range<Int>, firstPixel: Int) {
        let g = p.geometry
        let (outputWidth, plane, kw) = (p.outputWidth, p.outputHeight * p.outputWidth, g.kernelWidth)
        let (height, width) = (g.height, g.width)
        let taps = g.kernelHeight * kw
        let channelsK = p.offsetTaps
        for group in groups {
            for tap in 0..<taps {
                let (i, j) = (tap / kw, tap % kw)
                let entry = group * taps + tap
                let index = indices + entry * pixels
                let weight = weights + entry * 4 * pixels
                let dxRow = offsets + (n * 3 * channelsK + entry) * plane
                let dyRow = dxRow + channelsK * plane
                let maskRow = dyRow + channelsK * plane
                for l in 0..<pixels {
                    let pixel = firstPixel + l
                    index[l] = 0
                    for corner in 0..<4 { weight[corner * pixels + l] = 0 }
                    guard pixel < plane else { continue }
                    let (oh, ow) = (pixel / outputWidth, pixel % outputWidth)
                    let py = Float(oh * g.strideHeight - g.padTop + i * g.dilationHeight) + dyRow[pixel]
                    let px = Float(ow * g.strideWidth - g.padLeft + j * g.dilationWidth) + dxRow[pixel]
                    // Written so that NaN positions take the zero branch instead of trapping in Int().
                    guard py > -1, py < Float(height), px > -1, px < Float(width) else { continue }
                    let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                    let ly = py - Float(y0), lx = px - Float(x0)
                    let (row, rowWeights) = Self.fit(y0, 1 - ly, ly, size: height)
                    let (column, columnWeights) = Self.fit(x0, 1 - lx, lx, size: width)
                    let mask = maskRow[pixel]
                    index[l] = row * width + column
                    weight[l] = mask * (rowWeights.0 * columnWeights.0)
                    weight[pixels + l] = mask * (rowWeights.0 * columnWeights.1)
                    weight[2 * pixels + l] = mask * (rowWeights.1 * columnWeights.0)
                    weight[3 * pixels + l] = mask * (rowWeights.1 * columnWeights.1)
                }
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
