import Dispatch

/// The backward macro-kernel shared by `simd` and `threaded` (SPEC section 7), tiled like the
/// forward: the output pixels are cut into tiles of `Tiling.pixelsPerTile`, and the channels
/// into a fixed list of *blocks* (about 128 panel rows each, never crossing a convolution group
/// or an offset group). Per tile (one "wave"):
///
/// 1. on the calling thread: a sampling plan for every offset group (base index, the four
///    bilinear weights ω, the four ∂⁺B/∂py and four ∂⁺B/∂px coefficients, the mask), and gy's
///    tile packed twice for the 6×16 microkernel (pixel-major and channel-major);
/// 2. per block, on whichever thread gets it: the column gradient T = Wᵀ·gy for the block's rows
///    (`microkernel6x16` over Wᵀ packed once per call), then one pass over the samples that
///    scatters t·m·ω into gx, reduces t·m·∂⁺B and t·B over the block's channels into a per-block
///    partial of the offsets gradient, and writes s = m·B packed; then gweightᵀ += s·gyᵀ for the
///    block's rows (`microkernel6x16` again, accumulating in place over the tiles);
/// 3. on the calling thread: the blocks' offsets partials summed into goffsets.
///
/// Every gradient element has one owner and one summation order, fixed by the problem and the
/// tiling alone, so the bits do not depend on the thread count (no atomics, no split of a sum):
/// - gx[n, c]: only the block holding c writes it, and waves run one after another; order: tiles
///   ascending, then taps, pixels, corners (00, 01, 10, 11).
/// - goffsets[n, ·, pixel]: for each block, channels ascending (a vector of eight pixels per tap);
///   then the partials of the offset group's blocks added in block (channel) order on one thread.
/// - gweight[o, c', tap]: only the block holding c' accumulates its row; order: images and tiles
///   ascending, pixels of the tile ascending (the microkernel's k loop, one FMA chain).
/// - gbias[o]: 16 lanes over each image's pixels in order, images ascending, a scalar tail, then
///   the lanes added in lane order; each o by one thread.
/// - t: Σ_o in order (the microkernel's k loop), from +0.
///
/// Memory beyond the gradients depends on the weights and the tile, not on the image: packed Wᵀ
/// and the gweightᵀ accumulator (each about the weight tensor, rows padded to 6 and output
/// channels to 16), the plan, gy's packed tile, the blocks' offsets partials, and per thread a
/// column-gradient block and a sample block (rows × tile pixels). r50-c3: about 1.5 MiB plus
/// 120 KiB per thread.
///
/// Measured on r50-c3 (release, shared 2-core Zen 4 at load 4, median of 5): simd backward
/// 74–96 ms against its forward's 18–20 ms (naive backward 4.1–4.3 s); threaded on 2 threads
/// 85–94 ms, no faster on that loaded host. What is left: the 14×32 AVX-512 kernel for the two
/// GEMMs, the eight-byte corner loads of the forward's sampling, and a wave per several tiles.
struct TiledBackward: Sendable {
    /// A run of channels of one convolution group and one offset group.
    struct Block: Sendable {
        let group: Int
        let offsetGroup: Int
        /// The first channel (of all C) and how many.
        let firstChannel: Int
        let channels: Int
        /// channels · kh·kw, and that rounded up to the microkernel's 6 rows.
        let rows: Int
        let paddedRows: Int
        /// The block's first reduction row within its group: (firstChannel − group·C/groups)·kh·kw.
        let firstRow: Int
        /// Where the block's packed Wᵀ and gweightᵀ start in their buffers.
        let packedOffset: Int
        let gradientOffset: Int
    }

    let problem: DeformConvProblem
    let pixels: Int
    let taps: Int
    let tiles: Int
    let blocks: [Block]
    /// Output channels per group rounded up to 16, the microkernel's width: gweightᵀ's row stride.
    let paddedOutputs: Int
    let maxPaddedRows: Int

    /// Panel rows a block aims at: 128 rows (14 channels of a 3×3 filter) keeps a block's column
    /// gradient and samples (64 KiB each at 128 pixels) in L2, and gives r50-c3 ten blocks, which
    /// share evenly over 2 threads (five each) where blocks of 256 rows gave five (3 + 2).
    static let targetRows = 128

    init(_ problem: DeformConvProblem, tiling: Tiling) {
        self.problem = problem
        pixels = tiling.pixelsPerTile
        taps = problem.kernelHeight * problem.kernelWidth
        tiles = (problem.outputHeight * problem.outputWidth + pixels - 1) / pixels
        paddedOutputs = (problem.outputChannelsPerGroup + 15) / 16 * 16
        let maxChannels = max(1, Self.targetRows / taps)
        var blocks: [Block] = []
        var packed = 0, gradient = 0
        let (cpg, cpdg) = (problem.channelsPerGroup, problem.channelsPerDeformableGroup)
        var first = 0
        while first < problem.channels {
            // A segment: the channels from `first` sharing its convolution group and offset group.
            let group = first / cpg, offsetGroup = first / cpdg
            let end = min((group + 1) * cpg, (offsetGroup + 1) * cpdg)
            let count = (end - first + maxChannels - 1) / maxChannels
            // Sizes differing by at most one, so that the blocks weigh the same.
            let (base, extra) = (end - first).quotientAndRemainder(dividingBy: count)
            for b in 0..<count {
                let channels = base + (b < extra ? 1 : 0)
                let rows = channels * taps, paddedRows = (rows + 5) / 6 * 6
                blocks.append(Block(group: group, offsetGroup: offsetGroup, firstChannel: first, channels: channels,
                                    rows: rows, paddedRows: paddedRows, firstRow: (first - group * cpg) * taps,
                                    packedOffset: packed, gradientOffset: gradient))
                packed += paddedRows * problem.outputChannelsPerGroup
                gradient += paddedRows * paddedOutputs
                first += channels
            }
        }
        self.blocks = blocks
        maxPaddedRows = blocks.map(\.paddedRows).max() ?? 0
        packedCount = packed
        gradientCount = gradient
    }

    let packedCount: Int
    let gradientCount: Int

    /// Raw pointers shared by the threads. Within a wave each block's thread writes only its own
    /// gx planes, partial and gweightᵀ rows; the rest is written on the calling thread between waves.
    struct Pointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let gy: UnsafePointer<Float>
        let packedWeights: UnsafeMutablePointer<Float>
        let gradientT: UnsafeMutablePointer<Float>
        let gyByPixels: UnsafeMutablePointer<Float>
        let gyByOutputs: UnsafeMutablePointer<Float>
        let partials: UnsafeMutablePointer<Float>
        let gx: UnsafeMutablePointer<Float>
        let plan: SamplingPlan
    }

    func run(_ inputs: DeformConvInputs<Float>, gy: [Float], threads: Int) -> DeformConvGradients<Float> {
        precondition(inputs.matches(problem), "inputs do not match the problem's shapes")
        precondition(gy.count == problem.outputCount, "gy does not match the output's shape")
        let p = problem
        let cog = p.outputChannelsPerGroup, plane = p.outputHeight * p.outputWidth
        var gx = [Float](repeating: 0, count: p.xCount)
        var goffsets = [Float](repeating: 0, count: p.offsetsCount)
        var gweight = [Float](repeating: 0, count: p.weightCount)

        let packedWeights = UnsafeMutablePointer<Float>.allocate(capacity: packedCount)
        let gradientT = UnsafeMutablePointer<Float>.allocate(capacity: gradientCount)
        gradientT.initialize(repeating: 0, count: gradientCount)
        let gyByPixels = UnsafeMutablePointer<Float>.allocate(capacity: p.groups * pixels * cog)
        let gyByOutputs = UnsafeMutablePointer<Float>.allocate(capacity: p.groups * paddedOutputs * pixels)
        let partialCount = blocks.count * 3 * taps * pixels
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: partialCount)
        let plan = SamplingPlan(entries: p.deformableGroups * taps, pixels: pixels, coefficients: 13, height: p.height, width: p.width)
        defer {
            packedWeights.deallocate()
            gradientT.deallocate()
            gyByPixels.deallocate()
            gyByOutputs.deallocate()
            partials.deallocate()
            plan.deallocate()
        }
        inputs.weight.withUnsafeBufferPointer { weight in
            packTransposedWeights(weight.baseAddress!, into: packedWeights)
        }
        let parts = max(1, min(threads, blocks.count))
        let scratch = (0..<parts).map { _ in
            (UnsafeMutablePointer<Float>.allocate(capacity: maxPaddedRows * pixels),
             UnsafeMutablePointer<Float>.allocate(capacity: maxPaddedRows * pixels))
        }
        defer { for (t, s) in scratch { t.deallocate(); s.deallocate() } }
        nonisolated(unsafe) let sharedScratch = scratch

        inputs.x.withUnsafeBufferPointer { x in
            inputs.offsets.withUnsafeBufferPointer { offsets in
                gy.withUnsafeBufferPointer { gyBuffer in
                    gx.withUnsafeMutableBufferPointer { gxBuffer in
                        goffsets.withUnsafeMutableBufferPointer { goffsetsBuffer in
                            let pointers = Pointers(x: x.baseAddress!, gy: gyBuffer.baseAddress!, packedWeights: packedWeights,
                                                    gradientT: gradientT, gyByPixels: gyByPixels, gyByOutputs: gyByOutputs,
                                                    partials: partials, gx: gxBuffer.baseAddress!, plan: plan)
                            for n in 0..<p.batch {
                                for tile in 0..<tiles {
                                    let firstPixel = tile * pixels
                                    plan.buildForBackward(p, offsets: offsets.baseAddress!, n: n, firstPixel: firstPixel)
                                    packGy(pointers, n: n, firstPixel: firstPixel)
                                    if parts == 1 {
                                        process(0..<blocks.count, pointers, scratch[0], n: n)
                                    } else {
                                        DispatchQueue.concurrentPerform(iterations: parts) { part in
                                            let range = blocks.count * part / parts ..< blocks.count * (part + 1) / parts
                                            process(range, pointers, sharedScratch[part], n: n)
                                        }
                                    }
                                    reducePartials(partials, into: goffsetsBuffer.baseAddress!, n: n, firstPixel: firstPixel,
                                                   valid: min(pixels, plane - firstPixel))
                                }
                            }
                        }
                    }
                }
            }
        }
        // gweight[o, row] from gweightᵀ's real rows and columns.
        for block in blocks {
            for r in 0..<block.rows {
                for o in 0..<cog {
                    gweight[(block.group * cog + o) * p.reductionLength + block.firstRow + r]
                        = gradientT[block.gradientOffset + r * paddedOutputs + o]
                }
            }
        }
        let gbias: [Float]? = p.hasBias ? biasGradient(gy, threads: threads) : nil
        return DeformConvGradients(gx: gx, gweight: gweight, goffsets: goffsets, gbias: gbias)
    }

    /// Wᵀ per block in 6-row slivers, k-major over the group's output channels: the microkernel's A
    /// for T = Wᵀ·gy, `packed[block.packedOffset + (sliver · Co/groups + o) · 6 + lane]` =
    /// weight[o, row sliver·6 + lane of the block], zero past the block's last row.
    func packTransposedWeights(_ weight: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>) {
        let p = problem
        let cog = p.outputChannelsPerGroup
        for block in blocks {
            for sliver in 0..<(block.paddedRows / 6) {
                let destination = packed + block.packedOffset + sliver * cog * 6
                for o in 0..<cog {
                    let source = weight + (block.group * cog + o) * p.reductionLength + block.firstRow
                    for lane in 0..<6 {
                        let r = sliver * 6 + lane
                        destination[o * 6 + lane] = r < block.rows ? source[r] : 0
                    }
                }
            }
        }
    }

    /// gy's tile for every group, twice: [group][pixel block of 16][o][16] (B of T = Wᵀ·gy) and
    /// [group][block of 16 outputs][pixel][16] (B of gweightᵀ += s·gyᵀ); zeros past the plane's end
    /// and past the group's last output channel.
    func packGy(_ pointers: Pointers, n: Int, firstPixel: Int) {
        let p = problem
        let cog = p.outputChannelsPerGroup, plane = p.outputHeight * p.outputWidth
        let valid = min(pixels, plane - firstPixel)
        for group in 0..<p.groups {
            let byPixels = pointers.gyByPixels + group * pixels * cog
            let byOutputs = pointers.gyByOutputs + group * paddedOutputs * pixels
            for o in 0..<paddedOutputs {
                let row: UnsafePointer<Float>? = o < cog ? pointers.gy + (n * p.outputChannels + group * cog + o) * plane + firstPixel : nil
                let (oBlock, oLane) = (o / 16, o % 16)
                for l in 0..<pixels {
                    let value = l < valid ? row?[l] ?? 0 : 0
                    if o < cog { byPixels[((l / 16) * cog + o) * 16 + l % 16] = value }
                    byOutputs[(oBlock * pixels + l) * 16 + oLane] = value
                }
            }
        }
    }

    /// One wave's work for blocks `range`, with this part's column-gradient and sample buffers.
    func process(_ range: Range<Int>, _ pointers: Pointers, _ scratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), n: Int) {
        let p = problem
        let cog = p.outputChannelsPerGroup
        let (columnGradient, samples) = scratch
        for index in range {
            let block = blocks[index]
            // T = Wᵀ·gy: rows of the block × the tile's pixels, [row][pixel].
            columnGradient.initialize(repeating: 0, count: block.paddedRows * pixels)
            let a = UnsafePointer(pointers.packedWeights + block.packedOffset)
            let byPixels = UnsafePointer(pointers.gyByPixels + block.group * pixels * cog)
            for sliver in 0..<(block.paddedRows / 6) {
                for pixelBlock in 0..<(pixels / 16) {
                    microkernel6x16(cog, a + sliver * cog * 6, byPixels + pixelBlock * cog * 16,
                                    columnGradient + sliver * 6 * pixels + pixelBlock * 16, pixels)
                }
            }
            // The padding rows of the samples feed only gweightᵀ's padding rows, but are cleared so
            // that what they hold is defined.
            (samples + block.rows / 6 * 6 * pixels).initialize(repeating: 0, count: (block.paddedRows - block.rows / 6 * 6) * pixels)
            scatterAndReduce(block, pointers, UnsafePointer(columnGradient), samples,
                             partial: pointers.partials + index * 3 * taps * pixels, n: n)
            // gweightᵀ[row][o] += Σ_pixels s[row][pixel] · gy[o][pixel].
            let byOutputs = UnsafePointer(pointers.gyByOutputs + block.group * paddedOutputs * pixels)
            let c = pointers.gradientT + block.gradientOffset
            for sliver in 0..<(block.paddedRows / 6) {
                for outputBlock in 0..<(paddedOutputs / 16) {
                    microkernel6x16(pixels, samples + sliver * pixels * 6, byOutputs + outputBlock * pixels * 16,
                                    c + sliver * 6 * paddedOutputs + outputBlock * 16, paddedOutputs)
                }
            }
        }
    }

    /// For each tap and eight pixels at a time, the block's channels in order: the four corners
    /// v00…v11, B, ∂⁺B/∂py, ∂⁺B/∂px from the plan's coefficients; t·m·ω scattered into gx lane by
    /// lane, corner by corner; t·m·∂⁺B and t·B summed over the channels in registers and stored in
    /// the block's partial [x, y, mask][tap][pixel]; s = m·B into `samples`, packed [row / 6][pixel][row % 6].
    @inline(never)
    func scatterAndReduce(_ block: Block, _ pointers: Pointers, _ columnGradient: UnsafePointer<Float>,
                          _ samples: UnsafeMutablePointer<Float>, partial: UnsafeMutablePointer<Float>, n: Int) {
        typealias V = SIMD8<Float>
        let p = problem
        let plan = pointers.plan
        let planeSize = p.height * p.width
        let (columnStep, rowStep) = (plan.columnStep, plan.rowStep)
        let x = pointers.x + (n * p.channels + block.firstChannel) * planeSize
        let gx = pointers.gx + (n * p.channels + block.firstChannel) * planeSize
        @inline(__always) func load(_ pointer: UnsafePointer<Float>) -> V {
            UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
        }
        for tap in 0..<taps {
            let entry = block.offsetGroup * taps + tap
            let index = plan.indices + entry * pixels
            let coefficients = UnsafePointer(plan.coefficients + entry * 13 * pixels)
            for q in stride(from: 0, to: pixels, by: 8) {
                @inline(__always) func coefficient(_ k: Int) -> V { load(coefficients + k * pixels + q) }
                let (w00, w01, w10, w11) = (coefficient(0), coefficient(1), coefficient(2), coefficient(3))
                let (y00, y01, y10, y11) = (coefficient(4), coefficient(5), coefficient(6), coefficient(7))
                let (x00, x01, x10, x11) = (coefficient(8), coefficient(9), coefficient(10), coefficient(11))
                let mask = coefficient(12)
                let bases = UnsafeRawPointer(index + q).loadUnaligned(as: SIMD8<Int>.self)
                var sumX = V(), sumY = V(), sumMask = V()
                for local in 0..<block.channels {
                    let xc = x + local * planeSize, gxc = gx + local * planeSize
                    var v00 = V(), v01 = V(), v10 = V(), v11 = V()
                    for lane in 0..<8 {
                        let corner = xc + bases[lane]
                        v00[lane] = corner[0]
                        v01[lane] = corner[columnStep]
                        v10[lane] = corner[rowStep]
                        v11[lane] = corner[rowStep + columnStep]
                    }
                    let row = local * taps + tap
                    let t = load(columnGradient + row * pixels + q)
                    let bilinear = (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11)
                    let dy = (y00 * v00 + y01 * v01) + (y10 * v10 + y11 * v11)
                    let dx = (x00 * v00 + x01 * v01) + (x10 * v10 + x11 * v11)
                    let mt = mask * t
                    sumX += mt * dx
                    sumY += mt * dy
                    sumMask += t * bilinear
                    let s = mask * bilinear
                    let (g00, g01, g10, g11) = (mt * w00, mt * w01, mt * w10, mt * w11)
                    let sampleRow = samples + (row / 6) * pixels * 6 + row % 6
                    for lane in 0..<8 {
                        let corner = gxc + bases[lane]
                        corner[0] += g00[lane]
                        corner[columnStep] += g01[lane]
                        corner[rowStep] += g10[lane]
                        corner[rowStep + columnStep] += g11[lane]
                        sampleRow[(q + lane) * 6] = s[lane]
                    }
                }
                UnsafeMutableRawPointer(partial + tap * pixels + q).storeBytes(of: sumX, as: V.self)
                UnsafeMutableRawPointer(partial + (taps + tap) * pixels + q).storeBytes(of: sumY, as: V.self)
                UnsafeMutableRawPointer(partial + (2 * taps + tap) * pixels + q).storeBytes(of: sumMask, as: V.self)
            }
        }
    }

    /// goffsets of the tile: for each offset group, its blocks' partials added in block order.
    func reducePartials(_ partials: UnsafePointer<Float>, into goffsets: UnsafeMutablePointer<Float>, n: Int, firstPixel: Int, valid: Int) {
        let p = problem
        let plane = p.outputHeight * p.outputWidth, channelsK = p.offsetTaps
        for offsetGroup in 0..<p.deformableGroups {
            let members = blocks.indices.filter { blocks[$0].offsetGroup == offsetGroup }
            for component in 0..<3 {
                for tap in 0..<taps {
                    let destination = goffsets + (n * 3 * channelsK + component * channelsK + offsetGroup * taps + tap) * plane + firstPixel
                    for l in 0..<valid {
                        var sum: Float = 0
                        for b in members { sum += partials[(b * 3 * taps + component * taps + tap) * pixels + l] }
                        destination[l] = sum
                    }
                }
            }
        }
    }

    /// gbias[o] = Σ_{n, pixels} gy, each o on one thread: 16 lanes over each image's plane, a scalar
    /// tail, then the lanes in order.
    func biasGradient(_ gy: [Float], threads: Int) -> [Float] {
        let p = problem
        let plane = p.outputHeight * p.outputWidth
        let full = plane / 16 * 16
        return [Float](unsafeUninitializedCapacity: p.outputChannels) { result, initialized in
            nonisolated(unsafe) let out = result.baseAddress!
            gy.withUnsafeBufferPointer { buffer in
                nonisolated(unsafe) let gy = buffer.baseAddress!
                TiledConvolution.split(p.outputChannels, over: threads) { outputs in
                    for o in outputs {
                        var lanes = SIMD16<Float>(), tail: Float = 0
                        for n in 0..<p.batch {
                            let row = UnsafeRawPointer(gy + (n * p.outputChannels + o) * plane)
                            for q in stride(from: 0, to: full, by: 16) { lanes += row.loadUnaligned(fromByteOffset: 4 * q, as: SIMD16<Float>.self) }
                            for q in full..<plane { tail += row.load(fromByteOffset: 4 * q, as: Float.self) }
                        }
                        var sum: Float = 0
                        for lane in 0..<16 { sum += lanes[lane] }
                        out[o] = sum + tail
                    }
                }
            }
            initialized = p.outputChannels
        }
    }
}

/// The backward's sampling plan for one tile (`SamplingPlan` with 13 coefficients): per (offset
/// group · kh·kw + tap, pixel) the base index, shifted as in the forward's plan so that the four
/// loaded corners lie inside the channel plane, and 13 coefficients over those corners: ω (B's
/// weights), ∂⁺B/∂py's and ∂⁺B/∂px's (the derivative from the right, SPEC section 7), each zero for
/// a corner outside the image, then the mask. A position outside [−1, H) × [−1, W), or a pixel past
/// the plane, gets all zeros. On the lines p = −1 ω is zero but the derivative across the line sees
/// row (column) 0. The coefficients: ω00 ω01 ω10 ω11, ∂y00…∂y11, ∂x00…∂x11, mask.
extension SamplingPlan {
    func buildForBackward(_ p: DeformConvProblem, offsets: UnsafePointer<Float>, n: Int, firstPixel: Int) {
        let (height, width) = (p.geometry.height, p.geometry.width)
        forEachPosition(p, offsets: offsets, n: n, entries: 0..<entries, firstPixel: firstPixel,
                        coefficients: 13) { py, px, mask, index, c in
            // Written so that NaN positions take the zero branch. From −1 on the derivative from
            // the right sees row (column) 0; beyond the window every corner is outside.
            guard py >= -1, py < Float(height), px >= -1, px < Float(width) else { return }
            let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
            let ly = py - Float(y0), lx = px - Float(x0)
            let (row, rw) = Self.fit(y0, 1 - ly, ly, size: height)
            let (_, rd) = Self.fit(y0, -1, 1, size: height)
            let (column, cw) = Self.fit(x0, 1 - lx, lx, size: width)
            let (_, cd) = Self.fit(x0, -1, 1, size: width)
            index.pointee = row * width + column
            let values = (rw.0 * cw.0, rw.0 * cw.1, rw.1 * cw.0, rw.1 * cw.1,
                          rd.0 * cw.0, rd.0 * cw.1, rd.1 * cw.0, rd.1 * cw.1,
                          rw.0 * cd.0, rw.0 * cd.1, rw.1 * cd.0, rw.1 * cd.1, mask)
            withUnsafeBytes(of: values) { bytes in
                for k in 0..<13 { c[k * pixels] = bytes.load(fromByteOffset: 4 * k, as: Float.self) }
            }
        }
    }
}
