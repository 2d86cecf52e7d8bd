import Dispatch

/// The backward macro-kernel shared by `simd` and `threaded` (SPEC section 7), tiled like the
/// forward. The output pixels are cut into tiles of `Tiling.backwardPixelsPerTile`, the channels into a
/// fixed list of *blocks* (never crossing a convolution group or an offset group; the list depends
/// on the problem alone). Each thread owns a contiguous run of blocks, cut into *chunks* of blocks
/// of one convolution group. The tiles of all images, in order, are processed in *waves* of a few
/// tiles; a wave has three phases, each parallel (phase 3 of a wave shares one parallel step with
/// phase 1 of the next, so there are two barriers per wave):
///
/// 1. per tile: its sampling plan (base index, the four bilinear weights ω, the four ∂⁺B/∂py and
///    four ∂⁺B/∂px coefficients, the mask) and gy's tile copied twice, packed as the B operand of
///    T = Wᵀ·gy and row by row as the A operand of gweight's GEMM;
/// 2. per thread, for each tile and each of its chunks: for each block, the column gradient
///    T = Wᵀ·gy for the block's rows (the microkernel reading the weight tensor column-major as Wᵀ),
///    then one pass over the samples that scatters t·m·ω into gx, reduces t·m·∂⁺B and t·B over the
///    block's channels into the block's partial of the offsets gradient, and writes s = m·B packed.
///    Where x is finite, the block has a multiple of 8 channels and the tile's window of the image
///    fits, the pass has the channels in the vector lanes (`scatterAndReduceChannelsLast`) and T
///    comes as Tᵀ = gyᵀ·W from a packed copy of the weights (`packsWeights`, else T transposed);
///    then, for the chunk, gweight += gy·sᵀ straight into gweight (the microkernel with the tile's
///    gy rows as A and the packed samples as B);
/// 3. per tile: the blocks' offsets partials summed into goffsets.
///
/// Every gradient element has one owner and one summation order, fixed by the problem and the
/// tiling alone, so the bits do not depend on the thread count (no atomics, no split of a sum);
/// which thread owns a block changes with the thread count, its sums do not:
/// - gx[n, c]: only the block holding c writes it, tiles in order; order: tiles ascending, then
///   taps, pixels, corners (00, 10, 01, 11); channels-last, a tile's terms are summed from +0 in a
///   window first (pixels, taps, corners 00, 01, 10, 11), which is then added to gx.
/// - goffsets[n, ·, pixel]: for each block, channels ascending from +0 (eight pixels of a tap at a
///   time), or channels-last per corner Σ_c t·v as FMAs into eight lanes (vectors ascending), the lanes
///   added as ((0 + 2) + (1 + 3)) + ((4 + 6) + (5 + 7)), the four corners' sums combined with their
///   coefficients as a chain of FMAs (00, 01, 10, 11), times the mask for the x and y offsets; then the
///   partials of the offset group's blocks added in block (channel) order.
///   Which of the two a block takes depends on the data (finite x, the window's size), not on the threads.
/// - gweight[o, c', tap]: only the thread owning c' updates it; order: images and tiles ascending,
///   pixels of the tile ascending (the microkernel's k loop, one FMA chain on the stored value; the
///   first tile's from +0, without reading gweight, which is therefore never cleared).
/// - gbias[o]: 16 lanes over each image's pixels in order, images ascending, a scalar tail, then
///   the lanes added in lane order; each o by one thread.
/// - t: Σ_o in order (the microkernel's k loop), from +0.
///
/// Memory beyond the gradients depends on the tile, the channels and the output channels, not on
/// the image: the wave's plans, gy copies and partials (at most `waveBytes`, or one tile's), and
/// per thread a block's column gradient (twice: as computed and by pixel), a chunk's samples and
/// two windows of at most `windowCapacity` floats; and, where `packsWeights`, one copy of the weights.
/// `dcn bench --threads 2 --pass backward`, both threads together, with tiles of 256 pixels: r50-c3 4.4 MiB
/// of peak extra memory beyond its 3.0 MiB of gradients, 0.56 MiB of it the weights' copy; at most 4.9 MiB
/// on the standard shapes (s2-d2), r50-c5 4.0 MiB beyond its 9.5 MiB.
///
/// Measured on r50-c3 (release, 2-core Zen 4, `dcn bench --pass backward`), before this design:
/// simd 63.6 ms, threaded 55.5 ms (44 GFLOP/s, 19% of the peak). A profile put half of simd's time
/// in the scatter, whose eight-lane loops LLVM had not unrolled (every lane went through the stack),
/// and a tenth of r50-c5's in the transposed gweight accumulator and its copy back.
struct TiledBackward: Sendable {
    typealias Block = ChannelBlock

    /// Consecutive blocks of one thread and one convolution group whose samples feed one gweight GEMM.
    struct Chunk: Sendable {
        let blocks: Range<Int>
        let group: Int
        /// The chunk's reduction rows within its group.
        let rows: Range<Int>
    }

    let problem: DeformConvProblem
    let tiles: OutputTiles
    var pixels: Int { tiles.pixels }
    var taps: Int { tiles.taps }
    let blocks: [Block]
    /// The microkernel of both GEMMs: a Float32 entry reading A in place (14×32 AVX-512 where the
    /// tile is whole 32-pixel blocks and the CPU has AVX-512F, else 6×16 AVX2).
    let microkernel: MicrokernelConfiguration
    /// The group's output channels in slivers: the rows of gweight's GEMM.
    let outputSlivers: SliverPartition
    /// For each offset group, its blocks in channel order.
    let members: [[Int]]
    /// Where each tap-major block's (`samplesTapMajor`) weights start in the packed copy
    /// (`packWeights`), nil for the others; and the copy's floats.
    let packedStart: [Int?]
    let packedCount: Int
    /// Whether the channels-last scatter's T comes as Tᵀ from the packed weights (else as T, transposed
    /// tap by tap): where the call has at least `pixelsPerOutputChannel` output pixels per output channel
    /// of a group, or as `Tiling.channelsLast` forces (tests force both).
    let packsWeights: Bool

    /// The copy of the weights costs a pass over them and, fresh per call, their page faults; Tᵀ saves a
    /// transpose of T per block and tile. simd backward, three alternations each (ms, median), packed
    /// against transposed: s2-d2 (8 pixels per channel) 11.2–15.0 against 13.9–17.1, r50-c3 (32) 39.3–45.4
    /// against 45.3–47.2, b8-c64 (400) 69.5–82.8 against 82.4–85.6; g4dg4 (16) and r50-c4 (4) within the
    /// noise; r50-c5 (0.5) 39.1–53.4 against 27.3–33.1, a third of it the copy's page faults.
    static let pixelsPerOutputChannel = 8

    /// Reduction rows a block aims at (288: 32 channels of a 3×3 filter), so that the channels-last
    /// scatter spreads its per-(tap, pixel) work (13 coefficients, the window offset, three channel
    /// sums) over four vectors. threaded, two A/B runs on the shared 2-core Zen 4, blocks of 288
    /// against 72 rows: g4dg4 10.8–11.2 ms against 16.4–16.7, s2-d2 8.4–8.7 against 10.1–12.6,
    /// r50-c4 21.7–24.3 against 25.5–28.6, r50-c3 25.5–36.1 against 38.0–39.6; 144 rows fell in
    /// between. The price: b8-c64 has only two blocks, so more than two threads do not help it
    /// there (the blocks fix goffsets' sum order, so they cannot follow the thread count).
    static let blockRows = 288
    /// At most this many blocks per segment (channels of one group and one offset group), so that
    /// the offsets partials stay few where channels are many (r50-c5: 16 blocks of 32 channels).
    static let blocksPerSegment = 16
    /// Rows a chunk aims at: 576 (two blocks of 288) makes gweight's GEMM whole 32-row blocks on
    /// the standard shapes, and the chunk's samples (576 KiB at 256 pixels) stay in Zen 4's 1 MiB L2.
    static let chunkRows = 576
    /// What a wave's tiles may take together (plans, packed gy, partials); a wave has at least one tile.
    static let waveBytes = 1 << 21

    init(_ problem: DeformConvProblem, tiling: Tiling) {
        self.problem = problem
        tiles = OutputTiles(problem, pixelsPerTile: tiling.backwardPixelsPerTile)
        let pixels = tiles.pixels, taps = tiles.taps
        microkernel = .inPlace(forcedBy: tiling, pixelsPerTile: pixels)
        outputSlivers = SliverPartition(problem.outputChannelsPerGroup, microkernel)
        let blocks = ChannelBlock.cut(problem) { segment in
            max((Self.blockRows + taps - 1) / taps, (segment + Self.blocksPerSegment - 1) / Self.blocksPerSegment)
        }
        self.blocks = blocks
        members = (0..<problem.deformableGroups).map { g in blocks.indices.filter { blocks[$0].offsetGroup == g } }
        var start = 0, nr = microkernel.columns, cog = problem.outputChannelsPerGroup
        packedStart = blocks.map { block in
            guard Self.samplesTapMajor(block) else { return nil }
            defer { start += (block.rows + nr - 1) / nr * nr * cog }
            return start
        }
        packedCount = start
        packsWeights = tiling.channelsLast ?? (problem.batch * tiles.perImage * pixels >= Self.pixelsPerOutputChannel * cog)
    }

    var mr: Int { microkernel.rows }
    var nr: Int { microkernel.columns }

    /// Blocks `range` (one thread's) in chunks: runs of one group of at most `chunkRows` rows
    /// (or one block, if a block alone has more).
    func chunks(_ range: Range<Int>) -> [Chunk] {
        var chunks: [Chunk] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start + 1, rows = blocks[start].rows
            while end < range.upperBound, blocks[end].group == blocks[start].group, rows + blocks[end].rows <= Self.chunkRows {
                rows += blocks[end].rows
                end += 1
            }
            chunks.append(Chunk(blocks: start..<end, group: blocks[start].group, rows: blocks[start].firstRow..<(blocks[start].firstRow + rows)))
            start = end
        }
        return chunks
    }

    /// One tile's share of a wave: its plan, its packed gy and its blocks' offsets partials.
    struct Slot: @unchecked Sendable {
        let plan: SamplingPlan
        /// [group][pixel block of nr][o][nr], zeros past the plane's end: the B of T = Wᵀ·gy.
        let gy: UnsafeMutablePointer<Float>
        /// [o][pixel], the tile's pixels of every output channel: the A of gweight's GEMM. gy's own
        /// rows are a plane apart, 16 KiB on a 64×64 output: read in place they shared one L1 set.
        let gyRows: UnsafeMutablePointer<Float>
        /// [block][x, y, mask][tap][pixel].
        let partials: UnsafeMutablePointer<Float>
    }

    var partialStride: Int { 3 * taps * pixels }

    /// Bytes of one slot.
    var slotBytes: Int {
        let p = problem
        return p.deformableGroups * taps * pixels * (13 * 4 + 8) + 2 * p.outputChannels * pixels * 4 + blocks.count * partialStride * 4
    }

    /// Raw pointers shared by the threads; within a phase each writes only what it owns.
    struct Pointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let offsets: UnsafePointer<Float>
        let gy: UnsafePointer<Float>
        let weight: UnsafePointer<Float>
        let gx: UnsafeMutablePointer<Float>
        let goffsets: UnsafeMutablePointer<Float>
        let gweight: UnsafeMutablePointer<Float>
        /// Whether x is all finite: only then may a corner of weight 0 be read anywhere in the window.
        let finite: Bool
        /// The tap-major blocks' weights as the B of Tᵀ = gyᵀ·W (`packWeights`), if x is finite.
        let packedWeights: UnsafePointer<Float>?
    }

    /// One thread's scratch: a block's column gradient [row][pixel] (rows past the block for a short
    /// last sliver), a chunk's samples [row / nr][pixel][row % nr], and one C tile for gweight's edges.
    struct Scratch: @unchecked Sendable {
        let columnGradient: UnsafeMutablePointer<Float>
        let samples: UnsafeMutablePointer<Float>
        let tile: UnsafeMutablePointer<Float>
        /// A block's rows of one gweight row, for `restoreTensorOrder`.
        let rowCopy: UnsafeMutablePointer<Float>
        /// The channels-last scatter's: T as [pixel][tap][channel], the window of x and of gx
        /// [position][channel], and each (tap, pixel)'s base relative to the window.
        let columnGradientByPixel: UnsafeMutablePointer<Float>
        let window: UnsafeMutablePointer<Float>
        let gradientWindow: UnsafeMutablePointer<Float>
        let relative: UnsafeMutablePointer<Int>
        /// For eight pixels of every tap: the four corners' Σ_c t·v in eight lanes [tap][corner][pixel][lane],
        /// and m·ω [tap][corner][pixel].
        let cornerSums: UnsafeMutablePointer<Float>
        let maskedWeights: UnsafeMutablePointer<Float>

        func deallocate() {
            columnGradient.deallocate(); samples.deallocate(); tile.deallocate(); rowCopy.deallocate()
            columnGradientByPixel.deallocate(); window.deallocate(); gradientWindow.deallocate(); relative.deallocate()
            cornerSums.deallocate(); maskedWeights.deallocate()
        }
    }

    /// Floats a window of x (and one of gx) may take per thread: 256 KiB each, as the channels-last forward's.
    static let windowCapacity = ChannelsLastConvolution.windowCapacity

    func run(_ inputs: DeformConvInputs<Float>, gy: [Float], threads: Int) -> DeformConvGradients<Float> {
        precondition(inputs.matches(problem), "inputs do not match the problem's shapes")
        precondition(gy.count == problem.outputCount, "gy does not match the output's shape")
        let p = problem
        var gx = TiledConvolution.zeros(p.xCount, threads: threads)
        var goffsets = TiledConvolution.zeros(p.offsetsCount, threads: threads)
        // Not cleared: the first tile's GEMM writes every element (`process`), the others add to it.
        var gweight = [Float](unsafeUninitializedCapacity: p.weightCount) { _, initialized in initialized = p.weightCount }

        let parts = max(1, min(threads, blocks.count))
        let partChunks = (0..<parts).map { chunks(blocks.count * $0 / parts ..< blocks.count * ($0 + 1) / parts) }
        let maxBlockRows = blocks.map(\.rows).max() ?? 0
        let maxChunkRows = partChunks.joined().map(\.rows.count).max() ?? 0
        let scratch = (0..<parts).map { _ in
            Scratch(columnGradient: .allocate(capacity: (maxBlockRows + mr) * pixels),
                    samples: .allocate(capacity: (maxChunkRows + nr - 1) / nr * nr * pixels),
                    tile: .allocate(capacity: mr * nr), rowCopy: .allocate(capacity: maxBlockRows),
                    columnGradientByPixel: .allocate(capacity: (maxBlockRows + nr - 1) / nr * nr * (pixels + mr)),
                    window: .allocate(capacity: Self.windowCapacity), gradientWindow: .allocate(capacity: Self.windowCapacity),
                    relative: .allocate(capacity: taps * pixels),
                    cornerSums: .allocate(capacity: taps * 4 * 64), maskedWeights: .allocate(capacity: taps * 4 * 8))
        }
        // The samples' padding rows feed only gweight's edge columns, which are dropped; cleared so
        // that what they hold is defined.
        for s in scratch { s.samples.initialize(repeating: 0, count: (maxChunkRows + nr - 1) / nr * nr * pixels) }
        let items = p.batch * tiles.perImage
        let perWave = max(1, min(items, Self.waveBytes / slotBytes))
        let slots = (0..<perWave).map { _ in
            Slot(plan: tiles.plan(p, coefficients: 13),
                 gy: .allocate(capacity: p.outputChannels * pixels), gyRows: .allocate(capacity: p.outputChannels * pixels),
                 partials: .allocate(capacity: blocks.count * partialStride))
        }
        defer {
            for s in scratch { s.deallocate() }
            for s in slots { s.plan.deallocate(); s.gy.deallocate(); s.gyRows.deallocate(); s.partials.deallocate() }
        }

        inputs.x.withUnsafeBufferPointer { x in
            inputs.offsets.withUnsafeBufferPointer { offsets in
                inputs.weight.withUnsafeBufferPointer { weight in
                    gy.withUnsafeBufferPointer { gyBuffer in
                        gx.withUnsafeMutableBufferPointer { gxBuffer in
                            goffsets.withUnsafeMutableBufferPointer { goffsetsBuffer in
                                gweight.withUnsafeMutableBufferPointer { gweightBuffer in
                                    let finite = TiledConvolution.allFinite(x, threads: threads)
                                    let packed = finite && packsWeights && packedCount > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: packedCount) : nil
                                    defer { packed?.deallocate() }
                                    if let packed { packWeights(weight.baseAddress!, into: packed, threads: threads) }
                                    let pointers = Pointers(x: x.baseAddress!, offsets: offsets.baseAddress!, gy: gyBuffer.baseAddress!,
                                                            weight: weight.baseAddress!, gx: gxBuffer.baseAddress!,
                                                            goffsets: goffsetsBuffer.baseAddress!, gweight: gweightBuffer.baseAddress!,
                                                            finite: finite, packedWeights: packed.map { UnsafePointer($0) })
                                    // Phase 3 of one wave and phase 1 of the next share one parallel step
                                    // (they touch different fields of the slots): two barriers per wave.
                                    // Reductions and preparations alternate in the list, so that each
                                    // thread's contiguous share gets some of both.
                                    var previous = 0..<0
                                    // One step past the last wave, whose reductions are then the step's only work.
                                    for waveStart in stride(from: 0, through: (items + perWave - 1) / perWave * perWave, by: perWave) {
                                        let wave = min(items, waveStart)..<min(items, waveStart + perWave)
                                        let reduced = previous
                                        TiledConvolution.split(reduced.count + wave.count, over: threads) { range in
                                            for task in range {
                                                let (index, isPreparation) = task < 2 * min(reduced.count, wave.count)
                                                    ? (task / 2, task % 2 == 1)
                                                    : (task - min(reduced.count, wave.count), wave.count > reduced.count)
                                                if isPreparation {
                                                    prepare(slots[index], pointers, item: wave.lowerBound + index)
                                                } else {
                                                    reducePartials(slots[index], pointers, item: reduced.lowerBound + index)
                                                }
                                            }
                                        }
                                        guard !wave.isEmpty else { break }
                                        TiledConvolution.split(parts, over: parts) { range in
                                            for part in range {
                                                for item in wave {
                                                    for chunk in partChunks[part] {
                                                        process(chunk, slots[item - wave.lowerBound], scratch[part], pointers, item: item)
                                                    }
                                                }
                                            }
                                        }
                                        previous = wave
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let gbias: [Float]? = p.hasBias ? biasGradient(gy, threads: threads) : nil
        return DeformConvGradients(gx: gx, gweight: gweight, goffsets: goffsets, gbias: gbias)
    }

    /// Whether `block`'s samples, and so its columns of gweight while the tiles are summed, are in
    /// tap-major order (row tap · channels + channel of the block) rather than the tensor's (channel ·
    /// kh·kw + tap): where the block has a multiple of 8 channels, so that the channels-last scatter
    /// stores eight channels' s as one vector instead of eight lanes apart. It depends on the problem
    /// alone, so that every tile of a call writes the same layout, whichever scatter a tile takes.
    /// gweight's sums are the same (the GEMM's operations per element do not depend on where its column
    /// is); `restoreTensorOrder` puts the rows back in the tensor's order after the last tile's products.
    static func samplesTapMajor(_ block: Block) -> Bool { block.channels % 8 == 0 }

    /// The tap-major blocks' weights as the B operand of Tᵀ = gyᵀ·W: per block [row block of nr][o][nr],
    /// the block's rows in tap-major order (tap · channels + channel), zeros past its last row. The one
    /// copy of the weights; each block's rows are one [channel][tap] transpose per output channel.
    func packWeights(_ weight: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>, threads: Int) {
        let p = problem, taps = taps, blocks = blocks, packedStart = packedStart, nr = nr
        let cog = p.outputChannelsPerGroup, rows = p.reductionLength
        let capacity = ((blocks.map(\.rows).max() ?? 0) + nr - 1) / nr * nr
        nonisolated(unsafe) let (packed, weight) = (packed, weight)
        TiledConvolution.split(blocks.count, over: threads) { range in
            let byTap = UnsafeMutablePointer<Float>.allocate(capacity: capacity + nr)
            defer { byTap.deallocate() }
            for index in range {
                guard let start = packedStart[index] else { continue }
                let block = blocks[index]
                let rowBlocks = (block.rows + nr - 1) / nr
                (byTap + block.rows).initialize(repeating: 0, count: rowBlocks * nr - block.rows)
                for o in 0..<cog {
                    transpose(weight + (block.group * cog + o) * rows + block.firstRow, taps, into: byTap, block.channels,
                              rows: block.channels, columns: taps)
                    for rowBlock in 0..<rowBlocks {
                        (packed + start + (rowBlock * cog + o) * nr).update(from: byTap + rowBlock * nr, count: nr)
                    }
                }
            }
        }
    }

    /// One output channel's gweight row of a tap-major block (`samplesTapMajor`) back to the tensor's
    /// order (channel · kh·kw + tap), through `copy` (the block's rows).
    func restoreTensorOrder(_ row: UnsafeMutablePointer<Float>, _ block: Block, copy: UnsafeMutablePointer<Float>) {
        copy.update(from: row, count: block.rows)
        transpose(copy, block.channels, into: row, taps, rows: taps, columns: block.channels)
    }

    /// Phase 1 for one tile (`item` = n · tiles per image + tile): its plan, and gy's tile packed for
    /// every group, [group][pixel block][o][nr], zeros past the plane's end.
    func prepare(_ slot: Slot, _ pointers: Pointers, item: Int) {
        let p = problem
        let (n, _, firstPixel, valid) = tiles.item(item, groups: 1)
        slot.plan.buildForBackward(p, offsets: pointers.offsets, n: n, firstPixel: firstPixel)
        let plane = tiles.plane
        let cog = p.outputChannelsPerGroup
        for o in 0..<p.outputChannels {
            let row = pointers.gy + (n * p.outputChannels + o) * plane + firstPixel
            let (group, local) = o.quotientAndRemainder(dividingBy: cog)
            (slot.gyRows + o * pixels).update(from: row, count: valid)
            // Zeros past the plane: Tᵀ's rows of those pixels are computed too (and multiplied by zero).
            (slot.gyRows + o * pixels + valid).update(repeating: 0, count: pixels - valid)
            let destination = slot.gy + group * pixels * cog + local * nr
            for block in 0..<(pixels / nr) {
                let out = destination + block * cog * nr
                let count = max(0, min(nr, valid - block * nr))
                out.update(from: row + block * nr, count: count)
                (out + count).initialize(repeating: 0, count: nr - count)
            }
        }
    }

    /// Phase 2 for one chunk of one tile: per block T, the scatter and its partial; then gweight.
    func process(_ chunk: Chunk, _ slot: Slot, _ scratch: Scratch, _ pointers: Pointers, item: Int) {
        let p = problem
        let (n, _, _, valid) = tiles.item(item, groups: 1)
        let cog = p.outputChannelsPerGroup, rows = p.reductionLength
        let gyTile = UnsafePointer(slot.gy + chunk.group * pixels * cog)
        var windowGroup = -1, span = SamplingPlan.Window()
        for index in chunk.blocks {
            let block = blocks[index]
            let (sampleRow, partial) = (block.firstRow - chunk.rows.lowerBound, slot.partials + index * partialStride)
            // One window per offset group of the chunk (its blocks are in channel order).
            let channelsLast = Self.samplesTapMajor(block) && pointers.finite
            if channelsLast && block.offsetGroup != windowGroup {
                windowGroup = block.offsetGroup
                span = slot.plan.window(entries: block.offsetGroup * taps ..< (block.offsetGroup + 1) * taps, relative: scratch.relative)
            }
            if channelsLast, span.count * block.channels <= Self.windowCapacity {
                let stride: Int
                if let packed = pointers.packedWeights, let start = packedStart[index] {
                    stride = (block.rows + nr - 1) / nr * nr
                    transposedColumnGradient(block, slot, packed + start, into: scratch.columnGradientByPixel, stride)
                } else {
                    // T's row channel · kh·kw + tap is [pixel][tap][channel] after one transpose per tap.
                    stride = block.rows
                    columnGradient(block, gyTile, pointers, into: scratch.columnGradient)
                    for tap in 0..<taps {
                        transpose(scratch.columnGradient + tap * pixels, taps * pixels, into: scratch.columnGradientByPixel + tap * block.channels,
                                  block.rows, rows: block.channels, columns: pixels)
                    }
                }
                scatterAndReduceChannelsLast(block, slot.plan, span, pointers, scratch, columnGradientStride: stride,
                                             sampleRow: sampleRow, partial: partial, n: n)
            } else {
                columnGradient(block, gyTile, pointers, into: scratch.columnGradient)
                scatterAndReduce(block, slot.plan, pointers, UnsafePointer(scratch.columnGradient), scratch.samples,
                                 sampleRow: sampleRow, partial: partial, n: n)
            }
        }
        // gweight[o, row] += Σ_pixels gy[o][pixel] · s[row][pixel], on the stored value, pixels in order;
        // the first tile's sums start from +0 and are stored without reading gweight (not cleared).
        let accumulating = item > 0, lastItem = p.batch * tiles.perImage - 1
        let columnBlocks = (chunk.rows.count + nr - 1) / nr
        for sliver in 0..<outputSlivers.slivers {
            let start = outputSlivers.start(sliver), live = outputSlivers.start(sliver + 1) - start
            let firstOutput = chunk.group * cog + start
            let a = UnsafePointer(slot.gyRows + firstOutput * pixels)
            let stored = microkernel.storedRows(liveRows: live)
            for column in 0..<columnBlocks {
                let b = UnsafePointer(scratch.samples + column * pixels * nr)
                let c = pointers.gweight + firstOutput * rows + chunk.rows.lowerBound + column * nr
                let columns = min(nr, chunk.rows.count - column * nr)
                if stored == live && columns == nr {
                    microkernel.multiply(valid, a, pixels, live, b, c, rows, accumulating: accumulating)
                } else {
                    // An edge: through the scratch tile, so that nothing past the live rows and
                    // columns (another thread's gweight) is stored.
                    let tile = scratch.tile
                    if accumulating {
                        for r in 0..<mr {
                            for j in 0..<nr { tile[r * nr + j] = r < live && j < columns ? c[r * rows + j] : 0 }
                        }
                    }
                    microkernel.multiply(valid, a, pixels, live, b, tile, nr, accumulating: accumulating)
                    for r in 0..<live {
                        (c + r * rows).update(from: tile + r * nr, count: columns)
                    }
                }
            }
            // After the last tile's products the sliver's rows of the chunk are final: their tap-major
            // blocks go back to the tensor's order while they are in cache. A pass over all of gweight
            // after the waves took 1.3% of simd r50-c5's backward (9.4 MB), and its copies 1.5% more.
            if item == lastItem {
                for index in chunk.blocks where Self.samplesTapMajor(blocks[index]) {
                    for r in 0..<live {
                        restoreTensorOrder(pointers.gweight + (firstOutput + r) * rows + blocks[index].firstRow, blocks[index], copy: scratch.rowCopy)
                    }
                }
            }
        }
    }

    /// T = Wᵀ·gy for `block`'s rows × the tile's pixels, [row][pixel], from +0: A = Wᵀ read from the
    /// weights themselves (step o of row r at weight[o][r]), B the tile's packed gy.
    func columnGradient(_ block: Block, _ gyTile: UnsafePointer<Float>, _ pointers: Pointers, into t: UnsafeMutablePointer<Float>) {
        let cog = problem.outputChannelsPerGroup, rows = problem.reductionLength
        multiplyColumnMajor(cog, pointers.weight + block.group * cog * rows + block.firstRow, rows, rows: block.rows,
                            gyTile, columnBlocks: pixels / nr, into: t, pixels)
    }

    /// Tᵀ = gyᵀ·W for a tap-major block: [pixel][tap][channel] with rows `stride` apart (the block's
    /// rows rounded up to nr), from +0: A = the tile's gy rows read column-major, B the block's packed
    /// weights (`packWeights`). Each element gets the same FMAs in the same order (o ascending) as T's
    /// in `columnGradient`, so the same bits, and the channels-last scatter reads eight channels of a
    /// (pixel, tap) as one vector without transposing T.
    func transposedColumnGradient(_ block: Block, _ slot: Slot, _ packed: UnsafePointer<Float>,
                                  into t: UnsafeMutablePointer<Float>, _ stride: Int) {
        let cog = problem.outputChannelsPerGroup
        multiplyColumnMajor(cog, slot.gyRows + block.group * cog * pixels, pixels, rows: pixels,
                            packed, columnBlocks: stride / nr, into: t, stride)
    }

    /// C = A·B from +0 for `rows` rows of A (column-major: step i's values at `a + i · lda`) and
    /// `columnBlocks` blocks of nr columns of B (packed [column block][k][nr]); C row-major, `ldc` apart,
    /// with room for the rows a short last sliver stores past `rows`.
    func multiplyColumnMajor(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, rows: Int, _ b: UnsafePointer<Float>,
                             columnBlocks: Int, into c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        let slivers = SliverPartition(rows, microkernel)
        // Each C element in one call over all k, so its sums start from +0 there and C is not cleared.
        @inline(__always) func multiply(_ sliver: Int, _ columnBlock: Int) {
            let start = slivers.start(sliver), live = slivers.start(sliver + 1) - start
            microkernel.multiply(k, a + start, lda, live, b + columnBlock * k * nr, c + start * ldc + columnBlock * nr, ldc,
                                 columnMajor: true, accumulating: false)
        }
        // The operand that fits L1 is the one reused: a block of B while it is at most 16 KiB
        // (k · nr values; r50-c3's Co/groups of 128), else the sliver of A (r50-c5: 512 lines).
        // Back to back, three times each, for T: r50-c5 simd median 30.6–33.1 ms against 34.5–35.3
        // with the column blocks outermost, threaded best 15.5–16.9 against 17.5–19.7.
        if k * nr <= 4096 {
            for columnBlock in 0..<columnBlocks {
                for sliver in 0..<slivers.slivers { multiply(sliver, columnBlock) }
            }
        } else {
            for sliver in 0..<slivers.slivers {
                for columnBlock in 0..<columnBlocks { multiply(sliver, columnBlock) }
            }
        }
    }

    /// For each channel of the block, each tap, eight pixels at a time: the four corners v00…v11,
    /// B, ∂⁺B/∂py, ∂⁺B/∂px from the plan's coefficients; t·m·ω scattered into gx lane by lane,
    /// corner by corner; t·m·∂⁺B and t·B added, channel after channel, into the block's partial
    /// [x, y, mask][tap][pixel]; s = m·B into the chunk's samples at row `sampleRow + channel · kh·kw
    /// + tap`. The eight lanes are written out one by one: as a loop, LLVM kept it a loop over the
    /// lanes of vectors spilled to the stack, half of the backward's time.
    @inline(never)
    func scatterAndReduce(_ block: Block, _ plan: SamplingPlan, _ pointers: Pointers, _ columnGradient: UnsafePointer<Float>,
                          _ samples: UnsafeMutablePointer<Float>, sampleRow: Int, partial: UnsafeMutablePointer<Float>, n: Int) {
        // Both corners of a row in one eight-byte load where the image is at least two pixels wide
        // (the base is then never in the last column).
        if plan.columnStep == 1 {
            scatterAndReduce(block, plan, pointers, columnGradient, samples, sampleRow: sampleRow, partial: partial, n: n, pairs: true)
        } else {
            scatterAndReduce(block, plan, pointers, columnGradient, samples, sampleRow: sampleRow, partial: partial, n: n, pairs: false)
        }
    }

    @inline(__always)
    func scatterAndReduce(_ block: Block, _ plan: SamplingPlan, _ pointers: Pointers, _ columnGradient: UnsafePointer<Float>,
                          _ samples: UnsafeMutablePointer<Float>, sampleRow: Int, partial: UnsafeMutablePointer<Float>, n: Int,
                          pairs: Bool) {
        typealias V = SIMD8<Float>
        let p = problem
        let planeSize = p.height * p.width
        let (columnStep, rowStep) = (plan.columnStep, plan.rowStep)
        let columns = nr
        let x = pointers.x + (n * p.channels + block.firstChannel) * planeSize
        let gx = pointers.gx + (n * p.channels + block.firstChannel) * planeSize
        @inline(__always) func load(_ pointer: UnsafePointer<Float>) -> V {
            UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
        }
        // Sums from +0, channel by channel in the partial itself (the same operations as in registers).
        partial.initialize(repeating: 0, count: partialStride)
        // Channels outermost: the planes of a 64×64 image are 16 KiB apart, so with the channels
        // innermost every plane's corners fell into the same few L1 sets (r50-c3: 26 cycles a sample).
        for local in 0..<block.channels {
            let xc = x + local * planeSize, gxc = gx + local * planeSize
            for tap in 0..<taps {
                let entry = block.offsetGroup * taps + tap
                let index = plan.indices + entry * pixels
                let coefficients = UnsafePointer(plan.coefficients + entry * 13 * pixels)
                let row = local * taps + tap
                let sampleIndex = sampleRow + (Self.samplesTapMajor(block) ? tap * block.channels + local : row)
                let sampleBase = samples + (sampleIndex / columns) * pixels * columns + sampleIndex % columns
                let sums = UnsafeMutableRawPointer(partial + tap * pixels)
                for q in stride(from: 0, to: pixels, by: 8) {
                    @inline(__always) func coefficient(_ k: Int) -> V { load(coefficients + k * pixels + q) }
                    let (b0, b1, b2, b3) = (index[q], index[q + 1], index[q + 2], index[q + 3])
                    let (b4, b5, b6, b7) = (index[q + 4], index[q + 5], index[q + 6], index[q + 7])
                    let v00: V, v01: V, v10: V, v11: V
                    if pairs {
                        // Pixels 0, 1 | 4, 5 and 2, 3 | 6, 7 as pairs: one in-lane shuffle of the two
                        // gives the eight pixels' first (and second) columns in pixel order.
                        let plane = UnsafeRawPointer(xc)
                        @inline(__always) func pair(_ base: Int, _ offset: Int) -> UInt64 {
                            plane.loadUnaligned(fromByteOffset: 4 * (base + offset), as: UInt64.self)
                        }
                        @inline(__always) func columnsAt(_ offset: Int) -> (V, V) {
                            let s = unsafeBitCast(SIMD4(pair(b0, offset), pair(b1, offset), pair(b4, offset), pair(b5, offset)), to: V.self)
                            let t = unsafeBitCast(SIMD4(pair(b2, offset), pair(b3, offset), pair(b6, offset), pair(b7, offset)), to: V.self)
                            return (V(s[0], s[2], t[0], t[2], s[4], s[6], t[4], t[6]),
                                    V(s[1], s[3], t[1], t[3], s[5], s[7], t[5], t[7]))
                        }
                        (v00, v01) = columnsAt(0)
                        (v10, v11) = columnsAt(rowStep)
                    } else {
                        @inline(__always) func gather(_ offset: Int) -> V {
                            V(xc[b0 + offset], xc[b1 + offset], xc[b2 + offset], xc[b3 + offset],
                              xc[b4 + offset], xc[b5 + offset], xc[b6 + offset], xc[b7 + offset])
                        }
                        (v00, v01, v10, v11) = (gather(0), gather(columnStep), gather(rowStep), gather(rowStep + columnStep))
                    }
                    let (w00, w01, w10, w11) = (coefficient(0), coefficient(1), coefficient(2), coefficient(3))
                    let t = load(columnGradient + row * pixels + q)
                    let mask = coefficient(12)
                    let bilinear = (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11)
                    let dy = (coefficient(4) * v00 + coefficient(5) * v01) + (coefficient(6) * v10 + coefficient(7) * v11)
                    let dx = (coefficient(8) * v00 + coefficient(9) * v01) + (coefficient(10) * v10 + coefficient(11) * v11)
                    let mt = mask * t
                    @inline(__always) func accumulate(_ component: Int, _ term: V) {
                        let offset = 4 * (component * taps * pixels + q)
                        sums.storeBytes(of: sums.loadUnaligned(fromByteOffset: offset, as: V.self) + term, toByteOffset: offset, as: V.self)
                    }
                    accumulate(0, mt * dx)
                    accumulate(1, mt * dy)
                    accumulate(2, t * bilinear)
                    let s = mask * bilinear
                    let (g00, g01, g10, g11) = (mt * w00, mt * w01, mt * w10, mt * w11)
                    let sampleColumn = sampleBase + q * columns
                    // Column by column: 00 and 10, then 01 and 11 (each element still gets its terms in the
                    // order of the corners, as no two corners of one sample share an element unless
                    // rowStep is 0). Row by row, LLVM merged each row's two corners into one 8-byte
                    // read-modify-write; the next pixel's pair then overlaps it by half, a store the
                    // load cannot be forwarded from (a third of the scatter's time).
                    @inline(__always) func scatter(_ lane: Int, _ base: Int) {
                        let corner = gxc + base
                        corner[0] += g00[lane]
                        corner[rowStep] += g10[lane]
                        corner[columnStep] += g01[lane]
                        corner[rowStep + columnStep] += g11[lane]
                        sampleColumn[lane * columns] = s[lane]
                    }
                    scatter(0, b0); scatter(1, b1); scatter(2, b2); scatter(3, b3)
                    scatter(4, b4); scatter(5, b5); scatter(6, b6); scatter(7, b7)
                }
            }
        }
    }

    /// `scatterAndReduce` with the channels in the vector lanes, for a block of a multiple of 8 channels
    /// whose window fits: x's window copied channels-last, T given as [pixel][tap][channel] (rows
    /// `columnGradientStride` apart); per pixel and tap, eight channels per vector, the four corners'
    /// t·(m·ω) added into a channels-last window of gx (four vector read-modify-writes instead of 32
    /// scalar ones), s = Σ (m·ω)·v stored as one vector (tap-major rows), and per corner Σ_c t·v, from
    /// which the offsets and mask terms follow per eight pixels (t·m·∂⁺B = m·Σ_corners coefficient·t·v);
    /// last, the gx window added into gx. gx's elements get the tile's terms summed in the window first
    /// (pixels, taps, corners in order, from +0); the partial's order is in the type's doc comment.
    /// Every product is fused into its sum (Swift does not contract a + b·c).
    ///
    /// Measured, simd b8-c64 profile samples of this pass: fusing the products (B, ∂⁺B/∂py and ∂⁺B/∂px
    /// then formed per channel) 627 → 535, g4dg4 simd 13.3–15.0 ms against 15.7–18.0; the corner sums
    /// instead of the derivatives per channel (12 vector operations per eight channels instead of 21)
    /// 1378–1452 → 1289–1329, timings within the noise. Summing the corner lanes per (pixel, tap) as
    /// SIMD4 values instead compiled to scalar code (36 vaddss, 18 vmulss) and gained nothing.
    @inline(never)
    func scatterAndReduceChannelsLast(_ block: Block, _ plan: SamplingPlan, _ span: SamplingPlan.Window, _ pointers: Pointers,
                                      _ scratch: Scratch, columnGradientStride: Int, sampleRow: Int, partial: UnsafeMutablePointer<Float>, n: Int) {
        typealias V = SIMD8<Float>
        let p = problem
        let planeSize = p.height * p.width
        let (channels, columns) = (block.channels, nr)
        let columnShift = columns.trailingZeroBitCount
        precondition(columns == 1 << columnShift, "the microkernel's width must be a power of two")
        let samples = scratch.samples
        let vectors = channels / 8
        let aligned = sampleRow % 8 == 0
        let channelPlanes = (n * p.channels + block.firstChannel) * planeSize + span.first
        let (window, gradients, tByPixel) = (scratch.window, scratch.gradientWindow, scratch.columnGradientByPixel)
        transpose(pointers.x + channelPlanes, planeSize, into: window, channels, rows: channels, columns: span.count)
        gradients.initialize(repeating: 0, count: span.count * channels)
        let corner01 = 4 * plan.columnStep * channels, corner10 = 4 * plan.rowStep * channels
        let x = UnsafeRawPointer(window), gx = UnsafeMutableRawPointer(gradients)
        let coefficients = plan.coefficients + block.offsetGroup * taps * 13 * pixels
        let (cornerSums, maskedWeights) = (scratch.cornerSums, scratch.maskedWeights)
        // Pixels in groups of eight (the tile is a multiple of 16): per (pixel, tap) the four corners'
        // Σ_c t·v go to `cornerSums` as eight lanes each; per group and tap, the lanes are summed for
        // the eight pixels at once and combined with the corners' coefficients as vectors over the
        // pixels. The offsets and mask terms are these sums times the coefficients (t·m·∂⁺B =
        // m·Σ_corners coefficient·t·v), so the derivatives are not formed per channel: 12 vector
        // operations per eight channels instead of 21, and no lane sums per (pixel, tap).
        for group in stride(from: 0, to: pixels, by: 8) {
            for tap in 0..<taps {
                let c = coefficients + tap * 13 * pixels + group
                let mask = UnsafeRawPointer(c + 12 * pixels).loadUnaligned(as: V.self)
                for k in 0..<4 {
                    UnsafeMutableRawPointer(maskedWeights + (tap * 4 + k) * 8)
                        .storeBytes(of: mask * UnsafeRawPointer(c + k * pixels).loadUnaligned(as: V.self), as: V.self)
                }
            }
            for q in group..<(group + 8) {
                for tap in 0..<taps {
                    let mw = maskedWeights + tap * 32 + (q - group)
                    // m·ω: gx's terms are t·(m·ω), s = Σ (m·ω)·v over the corners.
                    let (m00, m01, m10, m11) = (V(repeating: mw[0]), V(repeating: mw[8]), V(repeating: mw[16]), V(repeating: mw[24]))
                    let base = 4 * scratch.relative[tap * pixels + q] * channels
                    let t = UnsafeRawPointer(tByPixel + q * columnGradientStride + tap * channels)
                    var (t00, t01, t10, t11) = (V(), V(), V(), V())
                    for v in 0..<vectors {
                        let at = base + 32 * v
                        let v00 = x.loadUnaligned(fromByteOffset: at, as: V.self), v01 = x.loadUnaligned(fromByteOffset: at + corner01, as: V.self)
                        let v10 = x.loadUnaligned(fromByteOffset: at + corner10, as: V.self)
                        let v11 = x.loadUnaligned(fromByteOffset: at + corner10 + corner01, as: V.self)
                        let tv = t.loadUnaligned(fromByteOffset: 32 * v, as: V.self)
                        // Fused (Swift does not contract a + b·c): FMAs on the sums.
                        t00 = t00.addingProduct(tv, v00)
                        t01 = t01.addingProduct(tv, v01)
                        t10 = t10.addingProduct(tv, v10)
                        t11 = t11.addingProduct(tv, v11)
                        @inline(__always) func add(_ offset: Int, _ weight: V) {
                            gx.storeBytes(of: gx.loadUnaligned(fromByteOffset: offset, as: V.self).addingProduct(tv, weight), toByteOffset: offset, as: V.self)
                        }
                        add(at, m00)
                        add(at + corner01, m01)
                        add(at + corner10, m10)
                        add(at + corner10 + corner01, m11)
                        // Tap-major rows: the eight channels are eight consecutive rows, of one row block where
                        // the index is a multiple of 8 (nr is a power of two, 16 or 32). It is not where an
                        // earlier block of the chunk has rows that are not (33 channels: blocks of 17 and 16).
                        let sampleIndex = sampleRow + tap * channels + 8 * v
                        @inline(__always) func position(_ row: Int) -> Int { ((row >> columnShift) * pixels + q) << columnShift | row & (columns - 1) }
                        let s = (m00 * v00).addingProduct(m01, v01).addingProduct(m10, v10).addingProduct(m11, v11)
                        if aligned {
                            UnsafeMutableRawPointer(samples + position(sampleIndex)).storeBytes(of: s, as: V.self)
                        } else {
                            for lane in 0..<8 { samples[position(sampleIndex + lane)] = s[lane] }
                        }
                    }
                    let sums = UnsafeMutableRawPointer(cornerSums + tap * 256 + (q - group) * 8)
                    sums.storeBytes(of: t00, as: V.self)
                    sums.storeBytes(of: t01, toByteOffset: 4 * 64, as: V.self)
                    sums.storeBytes(of: t10, toByteOffset: 8 * 64, as: V.self)
                    sums.storeBytes(of: t11, toByteOffset: 12 * 64, as: V.self)
                }
            }
            for tap in 0..<taps {
                @inline(__always) func corner(_ k: Int) -> V {
                    let r = UnsafeRawPointer(cornerSums + tap * 256 + k * 64)
                    @inline(__always) func row(_ i: Int) -> V { r.loadUnaligned(fromByteOffset: 32 * i, as: V.self) }
                    return laneSums(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
                }
                let (s00, s01, s10, s11) = (corner(0), corner(1), corner(2), corner(3))
                let c = UnsafeRawPointer(coefficients + tap * 13 * pixels + group)
                @inline(__always) func coefficient(_ k: Int) -> V { c.loadUnaligned(fromByteOffset: 4 * k * pixels, as: V.self) }
                @inline(__always) func combined(_ k: Int) -> V {
                    (coefficient(k) * s00).addingProduct(coefficient(k + 1), s01).addingProduct(coefficient(k + 2), s10).addingProduct(coefficient(k + 3), s11)
                }
                let mask = coefficient(12)
                // Each (component, tap, eight pixels) of the partial is written once, so it needs no
                // clearing: reducePartials sums the blocks' partials from +0 either way.
                @inline(__always) func store(_ component: Int, _ term: V) {
                    UnsafeMutableRawPointer(partial + component * taps * pixels + tap * pixels + group).storeBytes(of: term, as: V.self)
                }
                store(0, mask * combined(8))
                store(1, mask * combined(4))
                store(2, combined(0))
            }
        }
        transpose(gradients, channels, into: pointers.gx + channelPlanes, planeSize,
                                          rows: span.count, columns: channels, adding: true)
    }

    /// Phase 3 for one tile: goffsets of the tile, for each offset group its blocks' partials added in block order.
    func reducePartials(_ slot: Slot, _ pointers: Pointers, item: Int) {
        let p = problem
        let (n, _, firstPixel, valid) = tiles.item(item, groups: 1)
        let plane = tiles.plane, channelsK = p.offsetTaps
        for offsetGroup in 0..<p.deformableGroups {
            for component in 0..<3 {
                for tap in 0..<taps {
                    let destination = pointers.goffsets + (n * 3 * channelsK + component * channelsK + offsetGroup * taps + tap) * plane + firstPixel
                    let source = slot.partials + (component * taps + tap) * pixels
                    for l in 0..<valid {
                        var sum: Float = 0
                        for b in members[offsetGroup] { sum += source[b * partialStride + l] }
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
        let plane = tiles.plane
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
        // Eight pixels at a time where it can (`buildEightWide`, the same operations lane by lane):
        // scalar, this was 5% of simd's backward on b8-c64.
        let vectorPixels = eightWidePixels(p, firstPixel: firstPixel)
        if vectorPixels > 0 {
            buildEightWide(p, offsets: offsets, n: n, entries: 0..<entries, firstPixel: firstPixel, pixels: vectorPixels, backward: true)
        }
        forEachPosition(p, offsets: offsets, n: n, entries: 0..<entries, firstPixel: firstPixel, pixels: vectorPixels..<pixels,
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
