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

    /// The positions `first ..< first + count` of the plane that the corners of `entries` touch, for a
    /// channels-last copy of that part of the image (the window).
    struct Window {
        var first = 0
        var count = 0
    }

    /// The window of `entries` (one offset group's taps), and in `relative` ([tap][pixel]) each base
    /// relative to its first position: 0 where every coefficient but the mask is 0, so that nothing
    /// outside the window is read (such an entry adds only products with 0).
    func window(entries: Range<Int>, relative: UnsafeMutablePointer<Int>) -> Window {
        let weights = min(coefficientCount, 12)
        @inline(__always) func isSampled(_ entry: Int, _ pixel: Int) -> Bool {
            let c = coefficients + entry * coefficientCount * pixels + pixel
            for k in 0..<weights where c[k * pixels] != 0 { return true }
            return false
        }
        var low = Int.max, high = Int.min
        for entry in entries {
            for pixel in 0..<pixels where isSampled(entry, pixel) {
                let i = indices[entry * pixels + pixel]
                low = min(low, i)
                high = max(high, i)
            }
        }
        if low > high { (low, high) = (0, 0) }
        for (tap, entry) in entries.enumerated() {
            for pixel in 0..<pixels {
                relative[tap * pixels + pixel] = isSampled(entry, pixel) ? indices[entry * pixels + pixel] - low : 0
            }
        }
        return Window(first: low, count: high + rowStep + columnStep - low + 1)
    }

    /// Plans the offset groups that convolution group `group`'s channels span, for image `n`.
    func build(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, convolutionGroup group: Int, firstPixel: Int) {
        let (first, count) = (group * p.channelsPerGroup, p.channelsPerGroup)
        let groups = first / p.channelsPerDeformableGroup ..< (first + count - 1) / p.channelsPerDeformableGroup + 1
        build(p, offsets: offsets, n: n, groups: groups, firstPixel: firstPixel)
    }

    /// One sample from its four corner weights and values: (w00·v00 + w01·v01) + (w10·v10 + w11·v11),
    /// the order every sampler keeps. With non-finite inputs a corner of weight 0 adds 0, not 0 × Inf.
    @inline(__always)
    static func sample(_ weights: SIMD4<Float>, _ corners: SIMD4<Float>, finite: Bool) -> Float {
        var v = weights * corners
        if !finite { v.replace(with: 0, where: weights .== 0) }
        return (v[0] + v[1]) + (v[2] + v[3])
    }

    /// One (entry, pixel)'s four corner weights over eight channels, for the channels-last samplers: a
    /// window of the image [position][channel] (`window`), `right` and `down` bytes from a position to
    /// the next column's and the next row's.
    struct EightChannels {
        let w00: SIMD8<Float>, w01: SIMD8<Float>, w10: SIMD8<Float>, w11: SIMD8<Float>
        let right: Int, down: Int

        /// The weights of `pixel` in the forward coefficients of `entry`.
        @inline(__always)
        init(_ plan: SamplingPlan, entry: Int, pixel: Int, channelStride: Int) {
            let w = plan.coefficients + entry * 4 * plan.pixels + pixel
            (w00, w01, w10, w11) = (SIMD8(repeating: w[0]), SIMD8(repeating: w[plan.pixels]),
                                    SIMD8(repeating: w[2 * plan.pixels]), SIMD8(repeating: w[3 * plan.pixels]))
            (right, down) = (4 * plan.columnStep * channelStride, 4 * plan.rowStep * channelStride)
        }

        /// Eight channels' samples from `byteOffset` past the base corner: `sample`'s sum, vector by vector.
        @inline(__always)
        func sample(_ corner: UnsafeRawPointer, byteOffset: Int) -> SIMD8<Float> {
            typealias V = SIMD8<Float>
            let v00 = corner.loadUnaligned(fromByteOffset: byteOffset, as: V.self)
            let v01 = corner.loadUnaligned(fromByteOffset: byteOffset + right, as: V.self)
            let v10 = corner.loadUnaligned(fromByteOffset: byteOffset + down, as: V.self)
            let v11 = corner.loadUnaligned(fromByteOffset: byteOffset + down + right, as: V.self)
            return (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11)
        }
    }

    /// Plans offset groups `groups` of image `n` for pixels `firstPixel ..< firstPixel + self.pixels`
    /// of the flattened Ho·Wo output plane.
    ///
    /// Eight pixels at a time where the image is at least 2×2 and all eight lie in the output plane,
    /// with the scalar walk's operations lane by lane (so the same bits); the scalar walk does the
    /// rest. Scalar, the plan was 5.5–6.8% of simd's forward on b8-c64 (a division per pixel for its
    /// row and column, and branches on every position).
    func build(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, groups: Range<Int>, firstPixel: Int) {
        let (height, width) = (p.geometry.height, p.geometry.width)
        let taps = p.geometry.kernelHeight * p.geometry.kernelWidth
        let entries = groups.lowerBound * taps ..< groups.upperBound * taps
        let vectorPixels = eightWidePixels(p, firstPixel: firstPixel)
        if vectorPixels > 0 { buildEightWide(p, offsets: offsets, n: n, entries: entries, firstPixel: firstPixel, pixels: vectorPixels, backward: false) }
        forEachPosition(p, offsets: offsets, n: n, entries: entries, firstPixel: firstPixel, pixels: vectorPixels..<pixels,
                        coefficients: 4) { py, px, mask, index, weight in
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

    /// How many of the tile's first pixels `buildEightWide` can plan: whole eights inside the output
    /// plane, where the image is at least 2×2 and its positions are exact in Float.
    func eightWidePixels(_ p: DeformConvProblem, firstPixel: Int) -> Int {
        let g = p.geometry
        guard g.height > 1 && g.width > 1 && Self.isExactInFloat(p) else { return 0 }
        return max(0, min(pixels, p.outputHeight * p.outputWidth - firstPixel)) / 8 * 8
    }

    /// Whether every row, column and index of the plan's positions is below 2²⁴ in magnitude.
    static func isExactInFloat(_ p: DeformConvProblem) -> Bool {
        let g = p.geometry
        let reach = max(p.outputHeight * g.strideHeight + g.kernelHeight * g.dilationHeight,
                        p.outputWidth * g.strideWidth + g.kernelWidth * g.dilationWidth) + g.padTop + g.padLeft
        return g.height * g.width < 1 << 24 && reach < 1 << 24
    }

    /// `build` (or `buildForBackward`) for pixels 0..<count (a multiple of 8, all inside the output
    /// plane) of an image at least 2×2 with fewer than 2²⁴ positions. Rows, columns and indices are
    /// integers held in Float lanes, exact below 2²⁴: Swift's SIMD conversions between Float and Int32
    /// are element-by-element generic calls (they made this loop slower than the scalar one).
    func buildEightWide(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, entries: Range<Int>,
                        firstPixel: Int, pixels count: Int, backward: Bool) {
        typealias F = SIMD8<Float>
        let g = p.geometry
        let (outputWidth, plane, kw) = (p.outputWidth, p.outputHeight * p.outputWidth, g.kernelWidth)
        let taps = g.kernelHeight * kw
        let (height, width) = (F(repeating: Float(g.height)), F(repeating: Float(g.width)))
        @inline(__always) func load(_ pointer: UnsafePointer<Float>) -> F { UnsafeRawPointer(pointer).loadUnaligned(as: F.self) }
        // Each pixel's first row and column before the tap: oh·sh − pt and ow·sw − pl.
        var rowBase = [Float](repeating: 0, count: count), columnBase = [Float](repeating: 0, count: count)
        for l in 0..<count {
            let (oh, ow) = ((firstPixel + l) / outputWidth, (firstPixel + l) % outputWidth)
            rowBase[l] = Float(oh * g.strideHeight - g.padTop)
            columnBase[l] = Float(ow * g.strideWidth - g.padLeft)
        }
        // `SamplingPlan.fit` on eight lanes, for low ≥ −1 and size ≥ 2.
        @inline(__always) func fit(_ low: F, _ a: F, _ b: F, size: F) -> (F, F, F) {
            let last = size - 1
            let before = low .< 0, after = low .>= last
            let zero = F()
            let first = b.replacing(with: a, where: .!before).replacing(with: zero, where: after)
            let second = b.replacing(with: zero, where: before).replacing(with: a, where: after)
            // Not `clamped`: pointwiseMin and pointwiseMax are generic calls (2.7% of simd b8-c64).
            return (low.replacing(with: zero, where: before).replacing(with: last - 1, where: after), first, second)
        }
        rowBase.withUnsafeBufferPointer { rowBase in
            columnBase.withUnsafeBufferPointer { columnBase in
                for entry in entries {
                    let tap = entry % taps
                    let (i, j) = (Float(tap / kw * g.dilationHeight), Float(tap % kw * g.dilationWidth))
                    let index = indices + entry * pixels
                    let c = UnsafeMutableRawPointer(coefficients + entry * coefficientCount * pixels)
                    let dxRow = offsets + (n * 3 * p.offsetTaps + entry) * plane + firstPixel
                    let dyRow = dxRow + p.offsetTaps * plane
                    let maskRow = dyRow + p.offsetTaps * plane
                    for l in stride(from: 0, to: count, by: 8) {
                        var py = (load(rowBase.baseAddress! + l) + i) + load(dyRow + l)
                        var px = (load(columnBase.baseAddress! + l) + j) + load(dxRow + l)
                        // As the scalar guards: NaN positions are outside; the backward's window starts at −1.
                        let inside = backward ? (py .>= -1) .& (py .< height) .& (px .>= -1) .& (px .< width)
                                              : (py .> -1) .& (py .< height) .& (px .> -1) .& (px .< width)
                        py.replace(with: 0, where: .!inside)
                        px.replace(with: 0, where: .!inside)
                        let (y0, x0) = (py.rounded(.down), px.rounded(.down))
                        let (ly, lx) = (py - y0, px - x0)
                        let (row, r0, r1) = fit(y0, 1 - ly, ly, size: height)
                        let (column, c0, c1) = fit(x0, 1 - lx, lx, size: width)
                        let mask = load(maskRow + l)
                        let base = (row * width + column).replacing(with: 0, where: .!inside)
                        for lane in 0..<8 { index[l + lane] = Int(base[lane]) }
                        let zero = F()
                        @inline(__always) func store(_ k: Int, _ value: F) {
                            c.storeBytes(of: value.replacing(with: zero, where: .!inside), toByteOffset: 4 * (k * pixels + l), as: F.self)
                        }
                        if backward {
                            // `buildForBackward`'s 13: ω, ∂⁺B/∂py's (row weights −1, 1), ∂⁺B/∂px's, the mask.
                            let (minusOne, one) = (F(repeating: -1), F(repeating: 1))
                            let (_, d0, d1) = fit(y0, minusOne, one, size: height)
                            let (_, e0, e1) = fit(x0, minusOne, one, size: width)
                            store(0, r0 * c0); store(1, r0 * c1); store(2, r1 * c0); store(3, r1 * c1)
                            store(4, d0 * c0); store(5, d0 * c1); store(6, d1 * c0); store(7, d1 * c1)
                            store(8, r0 * e0); store(9, r0 * e1); store(10, r1 * e0); store(11, r1 * e1)
                            store(12, mask)
                        } else {
                            store(0, mask * (r0 * c0)); store(1, mask * (r0 * c1)); store(2, mask * (r1 * c0)); store(3, mask * (r1 * c1))
                        }
                    }
                }
            }
        }
    }

    /// The walk both builds share: for each entry in `entries` and each pixel of the tile (or of `tilePixels`), the index
    /// and the `count` coefficients set to zero, then, for a pixel inside the output plane,
    /// `body(py, px, mask, index, coefficients)` with its sampling position, its mask and pointers to
    /// its index and to its first coefficient (the next ones `pixels` apart).
    @inline(__always)
    func forEachPosition(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, entries: Range<Int>, firstPixel: Int,
                         pixels tilePixels: Range<Int>? = nil, coefficients count: Int,
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
            for l in tilePixels ?? 0..<pixels {
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
