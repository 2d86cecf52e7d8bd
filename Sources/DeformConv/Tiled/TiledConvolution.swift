import Dispatch

/// How the tiled kernels round: Float32 throughout, or every sample and every
/// accumulator update rounded to Float16 (the `fp16acc` kernel).
enum Accumulation: Sendable {
    case float32
    case float16
}

/// Tile sizes of the tiled kernels, and (for tests) the microkernel they use.
public struct Tiling: Hashable, Sendable {
    /// Output pixels per tile of the forward (a multiple of 16, the width of the narrowest microkernel).
    public var pixelsPerTile: Int
    /// Output pixels per tile of the backward (a multiple of 16). Twice the forward's by default: the
    /// backward's threads share out channel blocks, not tiles, so a wider tile costs it no parallelism,
    /// and each tile adds one pass of gweight's GEMM over gweight (its k is the tile's pixels) and one
    /// read of the weights for T. Tiles of 256 against 128, simd and threaded backward, two alternations
    /// on a quiet 2-core Zen 4 (ms, median): r50-c5 25.0, 24.6 against 27.1, 27.1 (threaded 12.8, 13.1
    /// against 13.5, 14.3); r50-c3 threaded 17.4, 17.5 against 19.4, 18.2; s2-d2 threaded 4.22, 4.22
    /// against 4.43, 4.46; r50-c4, b8-c64 and g4dg4 within the noise. The forward keeps 128: its
    /// threads share out tiles, and r50-c5's plane is two tiles of 128.
    public var backwardPixelsPerTile: Int
    /// Panel rows per reduction block, rounded down to whole channels (at least one channel). 288 makes
    /// blocks of 32 channels of a 3×3 filter, whole vectors of eight channels for the forward's window
    /// sampling: g4dg4 simd 4.3 ms against 5.5 with 256 rows (28 channels, so blocks of 22 and 21 there).
    public var reductionRows: Int
    /// The entry of `MicrokernelConfiguration.table` to use, or nil for the first that fits. A forced
    /// entry must be of the kernel's accumulation, fit the tile width and be runnable on this CPU.
    var microkernel: MicrokernelConfiguration?
    /// Whether the Float32 forward runs channels-last (`ChannelsLastConvolution`) and the backward's
    /// channels-last scatter gets T as Tᵀ from packed weights (`TiledBackward.packsWeights`), or nil
    /// to let `TiledConvolution` and `TiledBackward` choose; tests force both.
    var channelsLast: Bool?

    public init(pixelsPerTile: Int = 128, backwardPixelsPerTile: Int = 256, reductionRows: Int = 288) {
        self.init(pixelsPerTile: pixelsPerTile, backwardPixelsPerTile: backwardPixelsPerTile, reductionRows: reductionRows, microkernel: nil)
    }

    init(pixelsPerTile: Int = 128, backwardPixelsPerTile: Int = 256, reductionRows: Int = 288, microkernel: MicrokernelConfiguration? = nil,
         channelsLast: Bool) {
        self.init(pixelsPerTile: pixelsPerTile, backwardPixelsPerTile: backwardPixelsPerTile, reductionRows: reductionRows, microkernel: microkernel)
        self.channelsLast = channelsLast
    }

    init(pixelsPerTile: Int, backwardPixelsPerTile: Int = 256, reductionRows: Int, microkernel: MicrokernelConfiguration?) {
        let granularity = MicrokernelConfiguration.pixelGranularity
        for pixels in [pixelsPerTile, backwardPixelsPerTile] {
            precondition(pixels > 0 && pixels % granularity == 0, "pixels per tile must be a positive multiple of \(granularity)")
        }
        precondition(reductionRows > 0, "reductionRows must be positive")
        self.pixelsPerTile = pixelsPerTile
        self.backwardPixelsPerTile = backwardPixelsPerTile
        self.reductionRows = reductionRows
        self.microkernel = microkernel
    }

    public static let standard = Tiling()
}

/// The macro-kernel shared by `simd` and `threaded` (after BLIS): the output is cut
/// into work items of (image, convolution group, tile of pixels). For each item a
/// sampling plan is built, then for each block of channels the bilinear samples are
/// written into a packed panel in cache (from a channels-last window of the image where
/// it fits, `samplePanel`) and an FMA microkernel (an entry of
/// `MicrokernelConfiguration.table`) multiplies the weights by it: weights read in
/// place by the Float32 kernels (14×32 AVX-512, 6×16 AVX2) and by `fp16acc`'s 12×32
/// AVX-512 one, packed once per call into k-major slivers for its 6×16 F16C one.
///
/// Every output element is summed by one work item in one fixed order (bias, then
/// channels, taps inside), whatever the thread count: results are bit-identical
/// for any number of threads. Memory beyond the packed weights (if any) is a plan,
/// a panel, an accumulator tile and a window of at most `ChannelsLastConvolution.windowCapacity`
/// floats per thread, independent of the image size.
struct TiledConvolution: Sendable {
    let problem: DeformConvProblem
    let tiling: Tiling
    let accumulation: Accumulation
    let tiles: OutputTiles
    var taps: Int { tiles.taps }
    /// The table entry that multiplies: the one the tiling forces, else the first that fits.
    let microkernel: MicrokernelConfiguration
    /// The group's output channels in slivers of the microkernel's rows (balanced where it can).
    let outputSlivers: SliverPartition
    var slivers: Int { outputSlivers.slivers }
    let channelsPerBlock: Int
    /// The group's channels in reduction blocks of balanced sizes, at most `channelsPerBlock` each
    /// (b8-c64: 22, 21, 21 channels instead of 28, 28, 8, whose 72-row block made short microkernel
    /// calls); every output still sums its rows in order, so the bits do not depend on the cut.
    let reductionBlocks: SliverPartition
    let blockRows: Int

    init(_ problem: DeformConvProblem, tiling: Tiling, accumulation: Accumulation = .float32) {
        self.problem = problem
        self.tiling = tiling
        self.accumulation = accumulation
        let tiles = OutputTiles(problem, pixelsPerTile: tiling.pixelsPerTile)
        self.tiles = tiles
        let taps = tiles.taps
        // A microkernel forced together with the channels-last forward is that path's (an in-place entry).
        let forced = tiling.channelsLast == true && accumulation == .float32 ? nil : tiling.microkernel
        let microkernel = forced ?? .selected(for: accumulation, pixelsPerTile: tiling.pixelsPerTile)
        precondition(microkernel.fits(accumulation, pixelsPerTile: tiling.pixelsPerTile),
                     "microkernel \(microkernel) does not fit \(accumulation) accumulation, tiles of \(tiling.pixelsPerTile) pixels on this CPU")
        self.microkernel = microkernel
        outputSlivers = SliverPartition(problem.outputChannelsPerGroup, microkernel)
        channelsPerBlock = min(problem.channelsPerGroup, max(1, tiling.reductionRows / taps))
        reductionBlocks = SliverPartition(problem.channelsPerGroup, partsOfAtMost: channelsPerBlock)
        blockRows = channelsPerBlock * taps
    }

    var workItems: Int { problem.batch * problem.groups * tiles.perImage }

    /// Whether `run` hands the call to `ChannelsLastConvolution`: Float32, the microkernel not forced
    /// (tests force one to check a table entry), and at least 16 tiles per group, over which its copy of
    /// the weights and its windows pay off. simd, best of 15, two A/B runs on a shared 2-core Zen 4:
    /// b8-c64 (200 tiles) 23.4–27.7 ms against 28.8–33.7, r50-c3 (32) 13.4–15.1 against 15.1–18.0;
    /// with 8 tiles it lost, g4dg4 5.5–6.2 against 4.5–5.4 and s2-d2 4.3–4.5 against 3.5–3.9.
    var usesChannelsLast: Bool {
        accumulation == .float32 && (tiling.channelsLast ?? (tiling.microkernel == nil && problem.batch * tiles.perImage >= 16))
    }

    /// Output channels per microkernel call (and per packed weight sliver), and pixels per panel block.
    var mr: Int { microkernel.rows }
    var nr: Int { microkernel.columns }

    /// Whether the microkernel reads the weights where they are instead of from packed slivers
    /// (every entry but fp16acc's 6×16 F16C one: measured faster without packing, see the table).
    var readsWeightsInPlace: Bool { microkernel.weightLayout == .inPlace }

    /// The first output channel (within the group) of sliver `sliver`, for `sliver` in 0...slivers.
    @inline(__always)
    func sliverStart(_ sliver: Int) -> Int { outputSlivers.start(sliver) }

    func run(_ inputs: DeformConvInputs<Float>, threads: Int) -> [Float] {
        precondition(inputs.matches(problem), "inputs do not match the problem's shapes")
        if usesChannelsLast {
            return ChannelsLastConvolution(problem, tiling: tiling).run(inputs, threads: threads)
        }
        let p = problem
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: readsWeightsInPlace ? 0 : p.groups * slivers * p.reductionLength * mr)
        defer { packed.deallocate() }
        return Self.output(p, inputs, packed: packed, threads: threads) { pointers in
            // Two passes, so that every thread sees all packed weights before it multiplies.
            if !readsWeightsInPlace { Self.split(p.groups * slivers, over: threads) { packWeights($0, pointers) } }
            Self.split(workItems, over: threads) { process($0, pointers) }
        }
    }

    /// y, written by `body` through the inputs' pointers (and `packed`, the caller's weight buffer).
    /// A corner outside the image has weight 0, and 0 × Inf is NaN where the formula has 0: the
    /// pointers say whether x is all finite, and non-finite inputs take sampling loops that skip zero weights.
    static func output(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>, packed: UnsafeMutablePointer<Float>, threads: Int,
                       _ body: (Pointers) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: p.outputCount) { y, initialized in
            inputs.x.withUnsafeBufferPointer { x in
                inputs.offsets.withUnsafeBufferPointer { offsets in
                    inputs.weight.withUnsafeBufferPointer { weight in
                        withBias(inputs.bias) { bias in
                            body(Pointers(x: x.baseAddress!, offsets: offsets.baseAddress!, weight: weight.baseAddress!,
                                          packed: packed, bias: bias, y: y.baseAddress!, finite: allFinite(x, threads: threads)))
                        }
                    }
                }
            }
            initialized = p.outputCount
        }
    }

    /// Whether every element is finite, each thread checking a part: on one thread the check was a
    /// serial pass over x before every call (b8-c64: 6.4 MB).
    static func allFinite(_ values: UnsafeBufferPointer<Float>, threads: Int) -> Bool {
        let count = values.count, parts = max(1, min(threads, values.count / 65536))
        var finite = [Bool](repeating: true, count: parts)
        nonisolated(unsafe) let base = values.baseAddress
        finite.withUnsafeMutableBufferPointer { flags in
            nonisolated(unsafe) let flags = flags
            split(parts, over: parts) { range in
                for part in range {
                    let chunk = count * part / parts ..< count * (part + 1) / parts
                    flags[part] = base.map { isFinite($0 + chunk.lowerBound, count: chunk.count) } ?? true
                }
            }
        }
        return !finite.contains(false)
    }

    /// Whether `count` values from `start` are all finite: Σ v·0 is ±0 for finite values and NaN once
    /// an infinity or a NaN is among them, summed 16 lanes at a time (an element-by-element test
    /// with an early exit stayed scalar, 1.3% of threaded r50-c3).
    static func isFinite(_ start: UnsafePointer<Float>, count: Int) -> Bool {
        typealias V = SIMD16<Float>
        var sum = V()
        let full = count / 16 * 16
        let raw = UnsafeRawPointer(start)
        for i in stride(from: 0, to: full, by: 16) { sum += raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self) * 0 }
        var tail: Float = 0
        for i in full..<count { tail += start[i] * 0 }
        return sum.sum() == 0 && tail == 0
    }

    /// A Float array of zeros whose pages are first touched by `threads` threads (each zeroes a part):
    /// the page faults of a large gradient (r50-c5's gweight, 9.4 MB) are then taken in parallel.
    static func zeros(_ count: Int, threads: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            nonisolated(unsafe) let base = buffer.baseAddress
            split(count, over: max(1, min(threads, count / 65536))) { range in
                base.map { ($0 + range.lowerBound).initialize(repeating: 0, count: range.count) }
            }
            initialized = count
        }
    }

    /// Runs `body` on `threads` contiguous parts of 0..<count, concurrently when there is more than one.
    static func split(_ count: Int, over threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = min(threads, count)
        if parts <= 1 { return body(0..<count) }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            body(count * part / parts ..< count * (part + 1) / parts)
        }
    }

    /// Raw pointers shared by the threads; each thread writes a disjoint part of `packed` and `y`.
    struct Pointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let offsets: UnsafePointer<Float>
        let weight: UnsafePointer<Float>
        let packed: UnsafeMutablePointer<Float>
        let bias: UnsafePointer<Float>?
        let y: UnsafeMutablePointer<Float>
        let finite: Bool
    }

    private static func withBias<R>(_ bias: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let bias else { return body(nil) }
        return bias.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Packs weight slivers `items` (numbered group · slivers-per-group + sliver): `mr` output
    /// channels each, k-major ([row][mr]), zero-padded past the group's last channel.
    func packWeights(_ items: Range<Int>, _ pointers: Pointers) {
        let p = problem
        let (rows, outputsPerGroup) = (p.reductionLength, p.outputChannelsPerGroup)
        for item in items {
            let (group, sliver) = (item / slivers, item % slivers)
            let source = (0..<mr).map { lane -> UnsafePointer<Float>? in
                let o = sliver * mr + lane
                return o < outputsPerGroup ? pointers.weight + (group * outputsPerGroup + o) * rows : nil
            }
            packWeightSliver(source, lanes: mr, rows: rows, into: pointers.packed + item * rows * mr)
        }
    }

    /// Runs work items with this thread's own plan, panel and accumulator tile.
    func process(_ items: Range<Int>, _ pointers: Pointers) {
        guard !items.isEmpty else { return }
        let p = problem
        let pixels = tiles.pixels
        let plan = tiles.plan(p, coefficients: 4)
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * pixels)
        let accumulators = UnsafeMutablePointer<Float>.allocate(capacity: slivers * mr * pixels)
        var window = ChannelsLastWindow(taps: taps, pixels: pixels, maxStride: (channelsPerBlock + 7) / 8 * 8)
        defer {
            plan.deallocate()
            panel.deallocate()
            accumulators.deallocate()
            window.deallocate()
        }
        let (channelsPerGroup, outputsPerGroup, plane) = (p.channelsPerGroup, p.outputChannelsPerGroup, tiles.plane)
        for item in items {
            let (n, group, firstPixel, valid) = tiles.item(item, groups: p.groups)
            plan.build(p, offsets: pointers.offsets, n: n, convolutionGroup: group, firstPixel: firstPixel)
            window.offsetGroup = -1
            for row in 0..<(slivers * mr) {
                let value: Float = row < outputsPerGroup ? pointers.bias?[group * outputsPerGroup + row] ?? 0 : 0
                (accumulators + row * pixels).initialize(repeating: value, count: pixels)
            }
            for blockIndex in 0..<reductionBlocks.slivers {
                let firstBlockChannel = reductionBlocks.start(blockIndex)
                let channels = reductionBlocks.start(blockIndex + 1) - firstBlockChannel
                samplePanel(plan, &window, pointers.x, panel, n: n, firstChannel: group * channelsPerGroup + firstBlockChannel, channels: channels,
                            finite: pointers.finite)
                let rows = channels * taps
                for sliver in 0..<slivers {
                    // The sliver's weights: its first row in the weight tensor, or its packed copy.
                    let start = sliverStart(sliver)
                    let firstOutput = group * outputsPerGroup + start
                    let weights = readsWeightsInPlace
                        ? pointers.weight + firstOutput * p.reductionLength + firstBlockChannel * taps
                        : UnsafePointer(pointers.packed) + ((group * slivers + sliver) * p.reductionLength + firstBlockChannel * taps) * mr
                    let liveRows = sliverStart(sliver + 1) - start
                    for block in 0..<(pixels / nr) {
                        let b = panel + block * blockRows * nr
                        let c = accumulators + start * pixels + block * nr
                        microkernel.multiply(rows, weights, p.reductionLength, liveRows, b, c, pixels)
                    }
                }
            }
            for row in 0..<outputsPerGroup {
                let destination = pointers.y + (n * p.outputChannels + group * outputsPerGroup + row) * plane + firstPixel
                destination.update(from: accumulators + row * pixels, count: valid)
            }
        }
    }

    /// One thread's channels-last copy of a part of the image for `samplePanel`: the positions the
    /// corners of one offset group's taps touch in the current tile, `stride` floats apart.
    struct ChannelsLastWindow {
        /// Each (tap, pixel)'s base relative to the window's first position, [tap][pixel].
        let relative: UnsafeMutablePointer<Int>
        let values: UnsafeMutablePointer<Float>
        /// One tap's samples, [pixel][channel], at the window's stride.
        let samples: UnsafeMutablePointer<Float>
        /// The offset group whose span `span` is, or −1 when the tile's plan is new.
        var offsetGroup = -1
        var span = SamplingPlan.Window()

        init(taps: Int, pixels: Int, maxStride: Int) {
            relative = .allocate(capacity: taps * pixels)
            values = .allocate(capacity: ChannelsLastConvolution.windowCapacity)
            samples = .allocate(capacity: pixels * maxStride)
        }

        func deallocate() {
            relative.deallocate()
            values.deallocate()
            samples.deallocate()
        }
    }

    /// Samples `channels` channels from `firstChannel` into the panel (`sampleBlock`'s layout), the
    /// channels of each offset group from a channels-last window of the image where x is finite and the
    /// window fits (`sampleFromWindow`), else with `sampleBlock`. The same sums either way, so the same bits.
    func samplePanel(_ plan: SamplingPlan, _ window: inout ChannelsLastWindow, _ x: UnsafePointer<Float>, _ panel: UnsafeMutablePointer<Float>,
                     n: Int, firstChannel: Int, channels: Int, finite: Bool) {
        let p = problem
        var first = firstChannel
        while first < firstChannel + channels {
            let offsetGroup = first / p.channelsPerDeformableGroup
            let end = min(firstChannel + channels, (offsetGroup + 1) * p.channelsPerDeformableGroup)
            let segment = panel + (first - firstChannel) * taps * nr
            // Whole vectors of channels per position: the pads are zeroed, since sampling reads them.
            let stride = (end - first + 7) / 8 * 8
            if finite && offsetGroup != window.offsetGroup {
                window.offsetGroup = offsetGroup
                window.span = plan.window(entries: offsetGroup * taps ..< (offsetGroup + 1) * taps, relative: window.relative)
            }
            if finite && window.span.count * stride <= ChannelsLastConvolution.windowCapacity {
                let planeSize = p.height * p.width
                transpose(x + (n * p.channels + first) * planeSize + window.span.first, planeSize, into: window.values, stride,
                          rows: end - first, columns: window.span.count)
                if stride > end - first {
                    for position in 0..<window.span.count {
                        (window.values + position * stride + end - first).update(repeating: 0, count: stride - (end - first))
                    }
                }
                sampleFromWindow(plan, window, stride: stride, segment, offsetGroup: offsetGroup, channels: end - first)
            } else {
                sampleBlock(plan, x, segment, n: n, firstChannel: first, channels: end - first, finite: finite)
            }
            first = end
        }
    }

    /// `sampleBlock` for one offset group's channels from their channels-last window, tap by tap: a
    /// sample of eight channels is four vector loads and (w00·v00 + w01·v01) + (w10·v10 + w11·v11), as
    /// in the channels-last forward, into the tap's samples [pixel][channel] (`ChannelsLastWindow.samples`, in L1),
    /// which `transpose` then turns into the tap's panel rows, a block of nr pixels at a time. The
    /// eight-wide panel loop needs 16 eight-byte corner loads and their shuffles per eight samples (2.4
    /// cycles a sample on Zen 4, a quarter of simd's forward on g4dg4); the weights stay in place, so
    /// unlike the channels-last forward there is no copy of them. (Transposing each eight pixels' sample
    /// vectors in registers instead made LLVM rebuild the transposed lanes from scalar products.)
    @inline(never)
    func sampleFromWindow(_ plan: SamplingPlan, _ window: ChannelsLastWindow, stride: Int, _ panel: UnsafeMutablePointer<Float>,
                          offsetGroup: Int, channels: Int) {
        let roundToHalf = accumulation == .float16
        let pixels = plan.pixels, columns = nr
        let values = UnsafeRawPointer(window.values)
        let samples = UnsafeMutableRawPointer(window.samples)
        let vectors = (channels + 7) / 8
        // One loop per rounding, so that the Float32 one has no lane-by-lane conversions in it (with the
        // choice inside, LLVM took the vectors apart into scalar and 128-bit pieces).
        @inline(__always) func sampleTap(_ entry: Int, _ positions: UnsafePointer<Int>, roundToHalf: Bool) {
            for pixel in 0..<pixels {
                let weights = SamplingPlan.EightChannels(plan, entry: entry, pixel: pixel, channelStride: stride)
                let corner = values + 4 * positions[pixel] * stride
                let destination = samples + 4 * pixel * stride
                for v in 0..<vectors {
                    let sample = weights.sample(corner, byteOffset: 32 * v)
                    destination.storeBytes(of: roundToHalf ? roundedToHalf(sample) : sample, toByteOffset: 32 * v, as: SIMD8<Float>.self)
                }
            }
        }
        for tap in 0..<taps {
            let positions = window.relative + tap * pixels
            if roundToHalf {
                sampleTap(offsetGroup * taps + tap, positions, roundToHalf: true)
            } else {
                sampleTap(offsetGroup * taps + tap, positions, roundToHalf: false)
            }
            for block in 0..<(pixels / columns) {
                transpose(window.samples + block * columns * stride, stride, into: panel + block * blockRows * columns + tap * columns,
                          taps * columns, rows: columns, columns: channels)
            }
        }
    }

    /// Samples `channels` channels from `firstChannel` into the panel, laid out
    /// [pixel block][row][nr] with row = channel · kh·kw + tap, so that the
    /// microkernel reads each pixel block's rows contiguously. With `.float16`
    /// accumulation each sample is rounded to Float16, as a framework that stores
    /// the deformed feature map in half precision does.
    ///
    /// Finite inputs on images at least two pixels wide (nearly every call) take the
    /// eight-wide loop; this one pixel at a time handles the rest: one-pixel-wide
    /// images, and non-finite inputs, where a corner of weight 0 must give 0, not 0 × Inf.
    @inline(never)
    func sampleBlock(_ plan: SamplingPlan, _ x: UnsafePointer<Float>, _ panel: UnsafeMutablePointer<Float>,
                     n: Int, firstChannel: Int, channels: Int, finite: Bool) {
        if finite && plan.columnStep == 1 {
            return sampleBlockEightWide(plan, x, panel, n: n, firstChannel: firstChannel, channels: channels)
        }
        let roundToHalf = accumulation == .float16
        let p = problem
        let pixels = plan.pixels
        let planeSize = p.height * p.width
        let columns = nr
        let (columnStep, rowStep) = (plan.columnStep, plan.rowStep)
        for local in 0..<channels {
            let c = firstChannel + local
            let entryBase = c / p.channelsPerDeformableGroup * taps
            let xc = x + (n * p.channels + c) * planeSize
            for tap in 0..<taps {
                let index = plan.indices + (entryBase + tap) * pixels
                let weight = plan.coefficients + (entryBase + tap) * 4 * pixels
                let row = local * taps + tap
                for block in 0..<(pixels / columns) {
                    let destination = panel + (block * blockRows + row) * columns
                    for lane in 0..<columns {
                        let q = block * columns + lane
                        let w = SIMD4(weight[q], weight[pixels + q], weight[2 * pixels + q], weight[3 * pixels + q])
                        let corner = xc + index[q]
                        let values: SIMD4<Float>
                        if columnStep == 1 {
                            // Both columns of a row in one 8-byte load: the base is never in the last column.
                            let top = UnsafeRawPointer(corner).loadUnaligned(as: SIMD2<Float>.self)
                            let bottom = UnsafeRawPointer(corner + rowStep).loadUnaligned(as: SIMD2<Float>.self)
                            values = SIMD4(lowHalf: top, highHalf: bottom)
                        } else {
                            values = SIMD4(corner[0], corner[0], corner[rowStep], corner[rowStep])
                        }
                        let sample = SamplingPlan.sample(w, values, finite: finite)
                        destination[lane] = roundToHalf ? Float(Float16(sample)) : sample
                    }
                }
            }
        }
    }
    /// `sampleBlock` for finite inputs on images at least two pixels wide, eight pixels at
    /// a time, channel by channel, then tap by tap. Each pixel's two corner pairs come from
    /// two 8-byte loads; the pairs of four pixels are split into first and second columns by
    /// one shuffle. The sum is (v00·w00 + v01·w01) + (v10·w10 + v11·w11), as in the scalar
    /// loop, so the bits are the same.
    ///
    /// The channels are the outer loop although the corner addresses and weights of a tap are
    /// then loaded once per channel instead of once per offset group: the planes of a 64×64
    /// image are 16 KiB apart, a multiple of the L1's set stride, so with the channels innermost
    /// the corners of all of a block's channels fell into the same few sets. simd, best of 20,
    /// two runs each on a shared 2-core Zen 4: r50-c3 13.8–14.2 ms against 15.6–15.9 ms,
    /// b8-c64 28.0–28.1 against 30.8–30.9 ms.
    ///
    /// Tried and dropped (2026-12-01, Zen 4, Swift 6.3.1): an AVX-512 version in DeformConvAVX512,
    /// eight pixels per channel, the corner pairs as one SIMD8<UInt64> per row of corners. LLVM
    /// splits the deinterleave (vpermt2ps, or truncating and shifting the 64-bit lanes) back into xmm
    /// and ymm pieces, whatever the formulation (about 7.4 instructions per sample, no better than
    /// this loop); hiding the vectors behind an AND with a run-time all-ones mask keeps the
    /// arithmetic in zmm, but SLP then turns the eight 8-byte loads into vpgatherqq, which is slow on
    /// Zen 4: simd b8-c64 42.5–49.3 ms against 35.3–36.9 ms, r50-c3 18.1–23.3 against 17.2–18.9 ms.
    /// Swift has no gather or permute intrinsics to pin the instructions down; a C target with
    /// intrinsics (masked vpbroadcastq loads + vpermt2ps, about 3 instructions per sample) is the
    /// way left to try.
    @inline(never)
    func sampleBlockEightWide(_ plan: SamplingPlan, _ x: UnsafePointer<Float>, _ panel: UnsafeMutablePointer<Float>,
                              n: Int, firstChannel: Int, channels: Int) {
        typealias V = SIMD8<Float>
        let roundToHalf = accumulation == .float16
        let p = problem
        let pixels = plan.pixels
        let columns = nr
        let rowBytes = 4 * plan.rowStep
        var first = 0
        while first < channels {
            // The channels of the block that share one offset group, hence one plan entry per tap.
            let offsetGroup = (firstChannel + first) / p.channelsPerDeformableGroup
            let end = min(channels, (offsetGroup + 1) * p.channelsPerDeformableGroup - firstChannel)
            // Channels outermost: the planes of a 64×64 image are 16 KiB apart, so with the channels
            // innermost the corners of every channel fell into the same few L1 sets.
            for channel in first..<end {
                let planes = UnsafeRawPointer(x + (n * p.channels + firstChannel + channel) * (p.height * p.width))
                for tap in 0..<taps {
                    let index = plan.indices + (offsetGroup * taps + tap) * pixels
                    let weight = UnsafeRawPointer(plan.coefficients + (offsetGroup * taps + tap) * 4 * pixels)
                    let row = UnsafeMutableRawPointer(panel + (channel * taps + tap) * columns)
                    for q in stride(from: 0, to: pixels, by: 8) {
                        let w = weight + 4 * q
                        let w00 = w.loadUnaligned(as: V.self)
                        let w01 = w.loadUnaligned(fromByteOffset: 4 * pixels, as: V.self)
                        let w10 = w.loadUnaligned(fromByteOffset: 8 * pixels, as: V.self)
                        let w11 = w.loadUnaligned(fromByteOffset: 12 * pixels, as: V.self)
                        let c0 = planes + 4 * index[q], c1 = planes + 4 * index[q + 1]
                        let c2 = planes + 4 * index[q + 2], c3 = planes + 4 * index[q + 3]
                        let c4 = planes + 4 * index[q + 4], c5 = planes + 4 * index[q + 5]
                        let c6 = planes + 4 * index[q + 6], c7 = planes + 4 * index[q + 7]
                        // Pairs of pixels 0, 1 | 4, 5 and 2, 3 | 6, 7: one in-lane shuffle of the two
                        // then gives the eight pixels' first (and second) columns in pixel order.
                        @inline(__always) func pair(_ c: UnsafeRawPointer, _ offset: Int) -> UInt64 {
                            c.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                        }
                        @inline(__always) func columnsAt(_ offset: Int) -> (V, V) {
                            let s = unsafeBitCast(SIMD4(pair(c0, offset), pair(c1, offset), pair(c4, offset), pair(c5, offset)), to: V.self)
                            let t = unsafeBitCast(SIMD4(pair(c2, offset), pair(c3, offset), pair(c6, offset), pair(c7, offset)), to: V.self)
                            return (V(s[0], s[2], t[0], t[2], s[4], s[6], t[4], t[6]),
                                    V(s[1], s[3], t[1], t[3], s[5], s[7], t[5], t[7]))
                        }
                        let (v00, v01) = columnsAt(0)
                        let (v10, v11) = columnsAt(rowBytes)
                        let samples = (w00 * v00 + w01 * v01) + (w10 * v10 + w11 * v11)
                        let destination = row + 4 * ((q / columns) * blockRows * columns + q % columns)
                        destination.storeBytes(of: roundToHalf ? roundedToHalf(samples) : samples, as: V.self)
                    }
                }
            }
            first = end
        }
    }
}
