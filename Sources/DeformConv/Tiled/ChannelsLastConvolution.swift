/// The Float32 forward with the GEMM turned around: per tile, yᵀ[pixel][o] = Sᵀ[pixel][row] ·
/// Wᵀ[row][o], so that the samples are written channel-contiguous and the sampling runs eight
/// channels per instruction instead of eight pixels.
///
/// Per (image, group, tile) and offset group, the plan (`SamplingPlan.build`) gives each (tap,
/// pixel) its base index and corner weights, as for `TiledConvolution`. For each block of
/// channels, the part of the image the tile's corners touch (the window, from the smallest to the
/// largest index) is copied channels-last, [position][channel]; a sample of eight channels is then
/// four vector loads and (w00·v00 + w01·v01) + (w10·v10 + w11·v11), and it is stored as one vector
/// into the block's Sᵀ, [pixel][tap][channel]. The microkernel (14×32 AVX-512, else 6×16 AVX2,
/// both reading A in place) multiplies Sᵀ's pixel slivers by the weights, packed once per call as
/// [group][block of nr outputs][row][nr] with the block's rows tap-major.
///
/// In `TiledConvolution`'s layout the eight lanes of a sample are eight pixels whose corners lie
/// anywhere: 16 eight-byte loads and the shuffles that split them into columns, about 2.4 cycles
/// a sample on Zen 4 and a third of simd's time on b8-c64.
///
/// Every output element is summed by one work item in one fixed order (bias, then the blocks in
/// order, each tap-major with channels inside), whatever the thread count. Memory beyond the
/// packed weights is per thread: a plan, a window of at most `windowCapacity` floats, one block's
/// Sᵀ and an accumulator tile, none of which depends on the image size. A window larger than that
/// (offsets that spread a tile's corners over many rows), non-finite inputs (a corner of weight 0
/// must give 0, not 0 × Inf) take a scalar loop reading x where it is.
struct ChannelsLastConvolution: Sendable {
    typealias Block = ChannelBlock

    let problem: DeformConvProblem
    let tiles: OutputTiles
    var pixels: Int { tiles.pixels }
    var taps: Int { tiles.taps }
    let microkernel: MicrokernelConfiguration
    /// The tile's pixels in slivers of the microkernel's rows.
    let pixelSlivers: SliverPartition
    /// The group's output channels in blocks of the microkernel's columns, the last zero-padded.
    let outputBlocks: Int
    let blocks: [Block]
    /// For each convolution group, its blocks in channel order.
    let groupBlocks: [Range<Int>]
    /// Channels a block aims at: four eight-lane vectors per sample, and 288 rows on a 3×3 filter.
    static let blockChannels = 32
    /// Floats a window may take (256 KiB): a tile of 128 pixels on a 64-wide image, 3×3 taps and
    /// offsets of ±2 spans about 9 rows, 576 positions of 32 channels.
    static let windowCapacity = 1 << 16

    init(_ problem: DeformConvProblem, tiling: Tiling) {
        self.problem = problem
        tiles = OutputTiles(problem, pixelsPerTile: tiling.pixelsPerTile)
        // Every in-place Float32 entry fits (so the tile width does not matter): the tile is cut into
        // slivers of its rows and Co padded to its columns.
        microkernel = .inPlace(forcedBy: tiling, pixelsPerTile: 0)
        pixelSlivers = SliverPartition(tiles.pixels, microkernel)
        outputBlocks = (problem.outputChannelsPerGroup + microkernel.columns - 1) / microkernel.columns
        let blocks = ChannelBlock.cut(problem) { _ in Self.blockChannels }
        self.blocks = blocks
        groupBlocks = (0..<problem.groups).map { g in
            blocks.firstIndex { $0.group == g }! ..< (blocks.lastIndex { $0.group == g }! + 1)
        }
    }

    var mr: Int { microkernel.rows }
    var nr: Int { microkernel.columns }
    var paddedOutputs: Int { outputBlocks * nr }
    /// The window's channel stride: a block's channels rounded up to whole vectors.
    var channelStride: Int { (Self.blockChannels + 7) / 8 * 8 }
    var maxBlockRows: Int { blocks.map(\.rows).max() ?? 0 }

    func run(_ inputs: DeformConvInputs<Float>, threads: Int) -> [Float] {
        precondition(inputs.matches(problem), "inputs do not match the problem's shapes")
        let p = problem
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: p.groups * outputBlocks * p.reductionLength * nr)
        defer { packed.deallocate() }
        return TiledConvolution.output(p, inputs, packed: packed, threads: threads) { pointers in
            TiledConvolution.split(p.groups * outputBlocks, over: threads) { packWeights($0, pointers) }
            TiledConvolution.split(p.batch * p.groups * tiles.perImage, over: threads) { process($0, pointers) }
        }
    }

    /// Packs items (group · outputBlocks + block of nr outputs): [row][nr], rows in block order and
    /// tap-major inside a block, zero past the group's last output channel.
    func packWeights(_ items: Range<Int>, _ pointers: TiledConvolution.Pointers) {
        let p = problem
        let (rows, outputsPerGroup) = (p.reductionLength, p.outputChannelsPerGroup)
        for item in items {
            let (group, outputBlock) = (item / outputBlocks, item % outputBlocks)
            let destination = pointers.packed + item * rows * nr
            for block in blocks[groupBlocks[group]] {
                for tap in 0..<taps {
                    for channel in 0..<block.channels {
                        let row = block.firstRow + tap * block.channels + channel
                        let source = block.firstRow + channel * taps + tap
                        for lane in 0..<nr {
                            let o = outputBlock * nr + lane
                            destination[row * nr + lane] = o < outputsPerGroup ? pointers.weight[(group * outputsPerGroup + o) * rows + source] : 0
                        }
                    }
                }
            }
        }
    }

    /// Runs work items (image, group, tile) with this thread's own plan, window, Sᵀ and accumulators.
    func process(_ items: Range<Int>, _ pointers: TiledConvolution.Pointers) {
        guard !items.isEmpty else { return }
        let p = problem
        let plan = tiles.plan(p, coefficients: 4)
        let relative = UnsafeMutablePointer<Int>.allocate(capacity: taps * pixels)
        let window = UnsafeMutablePointer<Float>.allocate(capacity: Self.windowCapacity)
        // Sᵀ, plus one vector: a sample's last vector may run past the block's last row.
        let samples = UnsafeMutablePointer<Float>.allocate(capacity: pixels * maxBlockRows + 8)
        let accumulators = UnsafeMutablePointer<Float>.allocate(capacity: (pixelSlivers.slivers * mr) * paddedOutputs)
        defer {
            plan.deallocate()
            relative.deallocate()
            window.deallocate()
            samples.deallocate()
            accumulators.deallocate()
        }
        let (outputsPerGroup, plane) = (p.outputChannelsPerGroup, tiles.plane)
        let rows = p.reductionLength
        for item in items {
            let (n, group, firstPixel, valid) = tiles.item(item, groups: p.groups)
            plan.build(p, offsets: pointers.offsets, n: n, convolutionGroup: group, firstPixel: firstPixel)
            for o in 0..<paddedOutputs { accumulators[o] = o < outputsPerGroup ? pointers.bias?[group * outputsPerGroup + o] ?? 0 : 0 }
            for pixel in 1..<(pixelSlivers.slivers * mr) { (accumulators + pixel * paddedOutputs).update(from: accumulators, count: paddedOutputs) }
            var windowGroup = -1, fits = false
            var span = SamplingPlan.Window()
            for block in blocks[groupBlocks[group]] {
                if block.offsetGroup != windowGroup {
                    windowGroup = block.offsetGroup
                    span = plan.window(entries: block.offsetGroup * taps ..< (block.offsetGroup + 1) * taps, relative: relative)
                    fits = pointers.finite && span.count * channelStride <= Self.windowCapacity
                }
                if fits {
                    copyWindow(span, pointers.x, window, n: n, block: block)
                    sampleFromWindow(plan, relative, window, samples, block: block)
                } else {
                    sampleInPlace(plan, pointers.x, samples, n: n, block: block, finite: pointers.finite)
                }
                for outputBlock in 0..<outputBlocks {
                    let b = UnsafePointer(pointers.packed) + ((group * outputBlocks + outputBlock) * rows + block.firstRow) * nr
                    for sliver in 0..<pixelSlivers.slivers {
                        let start = pixelSlivers.start(sliver)
                        let live = pixelSlivers.start(sliver + 1) - start
                        microkernel.multiply(block.rows, samples + start * block.rows, block.rows, live, b,
                                             accumulators + start * paddedOutputs + outputBlock * nr, paddedOutputs)
                    }
                }
            }
            let y = pointers.y + (n * p.outputChannels + group * outputsPerGroup) * plane + firstPixel
            transpose(accumulators, paddedOutputs, into: y, plane, rows: valid, columns: outputsPerGroup)
        }
    }

    /// x's positions of the window, channels-last: window[position][channel], `channelStride` apart.
    @inline(never)
    func copyWindow(_ span: SamplingPlan.Window, _ x: UnsafePointer<Float>, _ window: UnsafeMutablePointer<Float>, n: Int, block: Block) {
        let planeSize = problem.height * problem.width
        let source = x + (n * problem.channels + block.firstChannel) * planeSize + span.first
        transpose(source, planeSize, into: window, channelStride, rows: block.channels, columns: span.count)
    }

    /// Sᵀ[pixel][tap · channels + channel] from the window, eight channels per vector; pixels
    /// outermost, so that a vector running past a tap's channels is overwritten by the next one.
    @inline(never)
    func sampleFromWindow(_ plan: SamplingPlan, _ relative: UnsafePointer<Int>, _ window: UnsafePointer<Float>,
                          _ samples: UnsafeMutablePointer<Float>, block: Block) {
        let stride = channelStride
        let (channels, blockRows) = (block.channels, block.rows)
        let vectors = (channels + 7) / 8
        let base = UnsafeRawPointer(window)
        for pixel in 0..<pixels {
            let row = UnsafeMutableRawPointer(samples + pixel * blockRows)
            for tap in 0..<taps {
                let weights = SamplingPlan.EightChannels(plan, entry: block.offsetGroup * taps + tap, pixel: pixel, channelStride: stride)
                let corner = base + 4 * relative[tap * pixels + pixel] * stride
                let destination = row + 4 * tap * channels
                for v in 0..<vectors {
                    destination.storeBytes(of: weights.sample(corner, byteOffset: 32 * v), toByteOffset: 32 * v, as: SIMD8<Float>.self)
                }
            }
        }
    }

    /// Sᵀ as `sampleFromWindow` gives it, one sample at a time from x where it is; with non-finite
    /// inputs a corner of weight 0 adds 0.
    func sampleInPlace(_ plan: SamplingPlan, _ x: UnsafePointer<Float>, _ samples: UnsafeMutablePointer<Float>,
                       n: Int, block: Block, finite: Bool) {
        let planeSize = problem.height * problem.width
        let (columnStep, rowStep) = (plan.columnStep, plan.rowStep)
        let blockRows = block.rows
        let index = plan.indices + block.offsetGroup * taps * pixels
        let weights = plan.coefficients + block.offsetGroup * taps * 4 * pixels
        for pixel in 0..<pixels {
            for tap in 0..<taps {
                let w = weights + tap * 4 * pixels + pixel
                let weight = SIMD4(w[0], w[pixels], w[2 * pixels], w[3 * pixels])
                let base = index[tap * pixels + pixel]
                for channel in 0..<block.channels {
                    let corner = x + (n * problem.channels + block.firstChannel + channel) * planeSize + base
                    let corners = SIMD4(corner[0], corner[columnStep], corner[rowStep], corner[rowStep + columnStep])
                    samples[pixel * blockRows + tap * block.channels + channel] = SamplingPlan.sample(weight, corners, finite: finite)
                }
            }
        }
    }
}
