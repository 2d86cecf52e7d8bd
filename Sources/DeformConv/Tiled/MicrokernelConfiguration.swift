import DeformConvAVX512

/// One microkernel of the tiled kernels and what the macro-kernel must know to call it,
/// after XNNPACK's gemm config tables: C[rows × columns] += A[rows × k] · B[k × columns],
/// with B a block of `columns` pixels of the sampled panel and C a block of the accumulator tile.
///
/// `table` lists them all; `TiledConvolution` takes the first entry that fits (its accumulation,
/// this CPU, the tile width) unless `Tiling` forces one, and calls its function through `multiply`,
/// the only place that maps a configuration to a function. Every entry gives every output element
/// the same sequence of operations as the scalar model of its accumulation, so the entries of one
/// accumulation are bit-identical to each other; MicrokernelConfigurationTests runs each entry the
/// CPU can run through the same checks.
struct MicrokernelConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// How the microkernel reads A, the weights.
    enum WeightLayout: Hashable, Sendable {
        /// Slivers of `rows` output channels packed k-major once per call (`packWeightSliver`):
        /// `fp16acc`'s 6×16 F16C kernel, whose weights are half values held in Float.
        case packedSlivers
        /// The weight tensor itself, one row pointer per output channel: no packing pass and no copy.
        case inPlace
    }

    /// The functions, one case per microkernel file.
    enum Function: Hashable, Sendable {
        case float16x6x16AVX2
        case float32x6x16InPlaceAVX2
        case float32x14x32AVX512
        case float16x12x32AVX512
    }

    /// Output channels per call (and per packed sliver).
    let rows: Int
    /// Pixels per call: the width of the panel's pixel blocks. The tile width must be a multiple of it.
    let columns: Int
    let accumulation: Accumulation
    let instructionSet: InstructionSet
    let weightLayout: WeightLayout
    let function: Function

    /// The configurations, preferred first. The AVX-512 entries are faster where they fit (simd on r50-c5,
    /// standard tiles, best of 15: 12.1–12.7 ms with 14×32 against 14.6–15.5 ms with 6×16); the AVX2 ones
    /// fit every tile `Tiling` accepts (multiples of 16 pixels), so that selection always finds an entry.
    ///
    /// There was a 12×16 AVX-512 Float32 entry (packed slivers) for tiles that are not a multiple of 32
    /// pixels. Only such non-standard tilings reach it, and there it gained little over 6×16 AVX2 (simd,
    /// best of 15, two runs on a shared host; 12×16 against 6×16): tiles of 48 pixels, r50-c5 18.3–19.7
    /// against 20.3–20.4 ms, mb1ic128ih28oc128kh3 2.90–2.99 against 2.92–2.95 ms, mb1ic64ih14oc64kh3
    /// 0.284 against 0.271–0.363 ms; tiles of 16 pixels, r50-c5 12.9–14.6 against 13.6–16.3 ms. The
    /// standard 128-pixel tiles with 14×32 beat both (r50-c5 12.1–12.7 ms), so it was removed rather than
    /// kept as a third Float32 kernel to maintain and test.
    ///
    /// There was also a 6×16 AVX2 Float32 entry over packed slivers, which the forward took on CPUs
    /// without AVX-512F. Reading the weights in place gives the same bits without the packing pass
    /// and its copy (r50-c5: 9.4 MB, fresh per call). 2-core Zen 3, perf samples of simd's forward
    /// over 22 calls, two alternations, packed against in place: r50-c5 2701, 2623 against 2279, 2111;
    /// r50-c4 2365, 2098 against 1917, 2204; g4dg4 979, 1031 against 1025, 847; s2-d2 927, 903 against
    /// 891, 862. threaded r50-c5: median 13.1–18.1 ms against 11.0–12.7, extra memory 10.2 against
    /// 1.2 MiB. So the in-place entry serves both passes, and that one was removed.
    static let table: [MicrokernelConfiguration] = [
        MicrokernelConfiguration(rows: 14, columns: 32, accumulation: .float32, instructionSet: .avx512,
                                 weightLayout: .inPlace, function: .float32x14x32AVX512),
        MicrokernelConfiguration(rows: 12, columns: 32, accumulation: .float16, instructionSet: .avx512,
                                 weightLayout: .inPlace, function: .float16x12x32AVX512),
        MicrokernelConfiguration(rows: 6, columns: 16, accumulation: .float32, instructionSet: .avx2,
                                 weightLayout: .inPlace, function: .float32x6x16InPlaceAVX2),
        MicrokernelConfiguration(rows: 6, columns: 16, accumulation: .float16, instructionSet: .avx2,
                                 weightLayout: .packedSlivers, function: .float16x6x16AVX2),
    ]

    /// The fewest live rows `multiply` computes without rows past them (it has kernels for every count
    /// from it to `rows`), or nil if it computes `rows` always. The macro-kernel balances the slivers
    /// when each can get at least this many channels, so that no FMA is spent on rows past Co.
    var shortestExactRows: Int? {
        function == .float32x14x32AVX512 ? 12 : nil
    }

    /// The granularity of tile widths: every width that is a multiple of it fits an AVX2 entry of each accumulation.
    static let pixelGranularity = 16

    /// A name after the tile and the instruction set, as XNNPACK names its microkernels: "14x32-avx512",
    /// "6x16-f16acc-avx2"; "-inplace" marks the AVX2 kernel that reads A in place (the AVX-512 ones all do).
    var name: String {
        let layout = weightLayout == .inPlace && instructionSet == .avx2 ? "-inplace" : ""
        return "\(rows)x\(columns)\(accumulation == .float16 ? "-f16acc" : "")\(layout)-\(instructionSet.rawValue)"
    }

    /// How many rows of C `multiply` stores for a sliver of `liveRows` rows: the live ones where the
    /// entry has an exact kernel for that height, else all `rows`. A caller writing C in place (the
    /// backward's gweight) must route a sliver through a scratch tile when this exceeds `liveRows`.
    func storedRows(liveRows: Int) -> Int {
        if let shortest = shortestExactRows, (shortest...rows).contains(liveRows) { return liveRows }
        return rows
    }

    var description: String { name }

    /// Whether the macro-kernel may use this entry for `accumulation` with tiles of `pixelsPerTile` pixels.
    func fits(_ accumulation: Accumulation, pixelsPerTile: Int, hasAVX512F: Bool = CPUFeatures.hasAVX512F) -> Bool {
        self.accumulation == accumulation && pixelsPerTile % columns == 0 && instructionSet.isAvailable(hasAVX512F: hasAVX512F)
    }

    /// The first Float32 entry that reads A in place and fits tiles of `pixelsPerTile` pixels: the
    /// backward's, whose A operands (the transposed weights, gy) are row-major already.
    static func selectedInPlace(pixelsPerTile: Int, hasAVX512F: Bool = CPUFeatures.hasAVX512F) -> MicrokernelConfiguration {
        guard let entry = table.first(where: { $0.weightLayout == .inPlace && $0.fits(.float32, pixelsPerTile: pixelsPerTile, hasAVX512F: hasAVX512F) })
        else { preconditionFailure("no in-place Float32 microkernel for tiles of \(pixelsPerTile) pixels") }
        return entry
    }

    /// The entry `tiling` forces if it is an in-place Float32 one (checked to fit), else `selectedInPlace`.
    static func inPlace(forcedBy tiling: Tiling, pixelsPerTile: Int) -> MicrokernelConfiguration {
        guard let forced = tiling.microkernel, forced.weightLayout == .inPlace, forced.accumulation == .float32 else {
            return selectedInPlace(pixelsPerTile: pixelsPerTile)
        }
        precondition(forced.fits(.float32, pixelsPerTile: pixelsPerTile), "microkernel \(forced) does not fit tiles of \(pixelsPerTile) pixels on this CPU")
        return forced
    }

    /// The first entry of `table` that fits.
    static func selected(for accumulation: Accumulation, pixelsPerTile: Int,
                         hasAVX512F: Bool = CPUFeatures.hasAVX512F) -> MicrokernelConfiguration {
        guard let entry = table.first(where: { $0.fits(accumulation, pixelsPerTile: pixelsPerTile, hasAVX512F: hasAVX512F) }) else {
            preconditionFailure("no microkernel for \(accumulation) accumulation and tiles of \(pixelsPerTile) pixels")
        }
        return entry
    }

    /// C[rows × columns] += A · B (or its Float16-rounding form): k rows of the panel block `b`,
    /// accumulators `c` with row stride `ldc`. `a` is the sliver's first weight, packed or in place;
    /// the in-place kernels find row i at `a + min(i, liveRows − 1) · lda` and the packed ones ignore
    /// both. With `columnMajor` (the Float32 in-place entries only: the backward's T = Wᵀ·gy on the
    /// weight tensor itself) step i's values are at `a + i · lda` instead, row j at `+ min(j, liveRows − 1)`.
    /// Without `accumulating` (the Float32 in-place entries only) C = A · B: the sums start from +0 and
    /// C is only written, so the caller need not clear it (the same bits as clearing it first).
    /// Inlined into the macro-kernel's block loop, so that the call stays a direct one: the switch is
    /// on values that are fixed for the whole call, and the branch predictor learns them.
    @inline(__always)
    func multiply(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ liveRows: Int,
                  _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, columnMajor: Bool = false, accumulating: Bool = true) {
        precondition(!columnMajor || weightLayout == .inPlace && accumulation == .float32, "\(name) has no column-major form")
        precondition(accumulating || weightLayout == .inPlace && accumulation == .float32, "\(name) always accumulates")
        switch function {
        case .float16x6x16AVX2: microkernel6x16RoundingToHalf(k, a, b, c, ldc)
        case .float32x6x16InPlaceAVX2:
            if columnMajor {
                microkernel6x16ColumnMajor(k, a, lda, liveRows, b, c, ldc, accumulating)
            } else {
                microkernel6x16InPlace(k, a, lda, liveRows, b, c, ldc, accumulating)
            }
        case .float32x14x32AVX512:
            // Slivers of 12 or 13 channels (balanced slivers, or a short last one) take the kernels
            // without the rows they would waste; the same operations per element, so the same bits.
            let kernel = switch (liveRows, columnMajor) {
            case (13, false): microkernel13x32AVX512
            case (12, false): microkernel12x32AVX512
            case (_, false): microkernel14x32AVX512
            case (13, true): microkernel13x32ColumnMajorAVX512
            case (12, true): microkernel12x32ColumnMajorAVX512
            case (_, true): microkernel14x32ColumnMajorAVX512
            }
            kernel(k, a, lda, liveRows, b, c, ldc, accumulating)
        case .float16x12x32AVX512: microkernel12x32RoundingToHalfAVX512(k, a, lda, liveRows, b, c, ldc)
        }
    }
}
