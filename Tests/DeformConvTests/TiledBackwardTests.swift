@testable import DeformConv
import XCTest

/// The tiled backward of `simd` and `threaded` (SPEC section 7): within the bound of the Float64
/// reference on geometries that reach every edge of the tiling, bit for bit on exact cases, and
/// `threaded` equal to `simd` bit for bit whatever the thread count.
final class TiledBackwardTests: XCTestCase {
    let reference = ReferenceKernel()

    /// BackwardTests' geometries (stride, dilation, asymmetric padding, groups, deformable groups,
    /// batch, bias; then random ones), plus shapes with several channel blocks per tile: an offset
    /// group spanning two convolution groups, two offset groups, 2×2 taps, one offset group of two
    /// blocks (of 32 channels, and of 17 and 16), and odd plane sizes (63, 35, 30 pixels) that leave tile tails for
    /// every tiling below.
    static func geometries(seed: UInt64, random count: Int) -> [TestShape] {
        BackwardTests.geometries(seed: seed, random: count) + [
            TestShape(n: 2, c: 32, h: 7, w: 9, co: 10, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 1, bias: true),
            TestShape(c: 48, h: 5, w: 7, co: 7, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2),
            TestShape(n: 2, c: 40, h: 6, w: 5, co: 17, kh: 2, kw: 2, sh: 1, sw: 1, pt: 1, pb: 0, pl: 0, pr: 1, dh: 1, dw: 1, bias: true),
            TestShape(c: 64, h: 5, w: 6, co: 9, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1),
            // Blocks of 17 and 16 channels in one chunk: the second's tap-major samples start at row 153.
            TestShape(c: 33, h: 9, w: 8, co: 9, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, bias: true),
        ]
    }

    /// The standard tiles (T of the channels-last scatter from packed weights as Tᵀ, and as T
    /// transposed, forced), the forward's 128 pixels, and tiles of one and three 16-pixel blocks.
    static let tilings = [Tiling(channelsLast: true), Tiling(channelsLast: false), Tiling(backwardPixelsPerTile: 128),
                          Tiling(backwardPixelsPerTile: 16), Tiling(backwardPixelsPerTile: 48)]

    func testSimdAndThreadedDeclareTheBackward() {
        XCTAssertEqual(SimdKernel().passes, [.forward, .backward])
        XCTAssertEqual(ThreadedKernel(threads: 2).passes, [.forward, .backward])
        XCTAssertEqual(ThreadedKernel(threads: 2).with(threads: 3).passes, [.forward, .backward])
        XCTAssertEqual(ThreadedKernel(threads: 2).bitIdenticalPeer?.name, "simd")
    }

    func testFloat32WithinTheBound() throws {
        try checkBound(half: false, seed: 90)
    }

    func testFloat16WithinTheBound() throws {
        try checkBound(half: true, seed: 91)
    }

    func checkBound(half: Bool, seed: UInt64) throws {
        var rng = TestRNG(seed: seed)
        var worst = 0.0, checked = 0
        for (number, s) in Self.geometries(seed: seed + 100, random: 8).enumerated() {
            let style = number % 2 == 0 ? OffsetStyle.mixed(range: 1.5) : .mixed(range: 5)
            let data = backwardData(s, &rng, offsets: style, half: half)
            let gy = backwardGy(s, &rng, half: half)
            let p = try s.problem(dtype: half ? .float16 : .float32)
            let exact = reference.evaluateBackward(p, data.double, gy: gy, samplingUnitRoundoff: 0x1p-24)
            for tiling in Self.tilings {
                let kernel = SimdKernel(tiling: tiling)
                let got = try backwardGradients(kernel, p, data, gy: gy, half: half)
                let comparison = compareGradients(got, exact, s, precision: half ? .float32ToHalf : .float32)
                XCTAssertEqual(comparison.failed, [], "\(s) tiles of \(tiling.backwardPixelsPerTile)")
                worst = max(worst, comparison.worstRatio)
                checked += comparison.checked
            }
        }
        XCTAssertGreaterThan(checked, 20_000)
        XCTAssertGreaterThan(worst, half ? 0.05 : 1e-3, "no element came near its bound: the comparison is suspicious")
    }

    /// SPEC 7's exact cases are exact in Float32 in any order: every gradient must be the
    /// reference's, bit for bit (−0 for +0 included), which pins the derivative from the right.
    func testEqualsTheReferenceBitForBitOnExactCases() throws {
        var rng = TestRNG(seed: 92)
        for s in Self.geometries(seed: 93, random: 8) {
            let data = backwardData(s, &rng, offsets: .exact)
            let gy = backwardGy(s, &rng, exact: true)
            let p = try s.problem()
            let exact = reference.evaluateBackward(p, data.double, gy: gy)
            for tensor in [exact.gx, exact.gweight, exact.goffsets] {
                XCTAssertLessThan(tensor.abs.max() ?? 0, 0x1p18, "not an exact case: \(s)")
            }
            for tiling in Self.tilings {
                let got = try XCTUnwrap(SimdKernel(tiling: tiling).backward(p, data.float, gy: gy.map { Float($0) }))
                XCTAssertEqual(compareGradients(got.double, exact, s, precision: .float32, exact: true).failed, [], "\(s)")
                XCTAssertEqual(got.gx.map(\.bitPattern), exact.gx.value.map { Float($0).bitPattern }, "\(s)")
                XCTAssertEqual(got.gweight.map(\.bitPattern), exact.gweight.value.map { Float($0).bitPattern }, "\(s)")
                XCTAssertEqual(got.goffsets.map(\.bitPattern), exact.goffsets.value.map { Float($0).bitPattern }, "\(s)")
                XCTAssertEqual(got.gbias?.map(\.bitPattern), exact.gbias?.value.map { Float($0).bitPattern }, "\(s)")
            }
        }
    }

    /// threaded on 1, 2, 3 and 8 threads gives simd's bits for every gradient, on shapes with
    /// more blocks than threads, fewer blocks than threads, several tiles and images.
    func testThreadedEqualsSimdBitForBitForAnyThreadCount() throws {
        var rng = TestRNG(seed: 94)
        let shapes = Self.geometries(seed: 95, random: 4) + [
            TestShape(n: 2, c: 64, h: 11, w: 13, co: 12, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 4, bias: true),
        ]
        for s in shapes {
            let data = backwardData(s, &rng, offsets: .mixed(range: 3))
            let gy = backwardGy(s, &rng)
            let p = try s.problem()
            for tiling in [Tiling(channelsLast: true), Tiling(channelsLast: false), Tiling(backwardPixelsPerTile: 16)] {
                let simd = try XCTUnwrap(SimdKernel(tiling: tiling).backward(p, data.float, gy: gy.map { Float($0) }))
                for threads in [1, 2, 3, 8] {
                    let kernel = ThreadedKernel(threads: 1, tiling: tiling).with(threads: threads)
                    XCTAssertEqual(kernel.threads, threads)
                    let got = try XCTUnwrap(kernel.backward(p, data.float, gy: gy.map { Float($0) }))
                    let label = "\(s) tiles of \(tiling.backwardPixelsPerTile), \(threads) threads"
                    XCTAssertEqual(got.gx.map(\.bitPattern), simd.gx.map(\.bitPattern), label)
                    XCTAssertEqual(got.gweight.map(\.bitPattern), simd.gweight.map(\.bitPattern), label)
                    XCTAssertEqual(got.goffsets.map(\.bitPattern), simd.goffsets.map(\.bitPattern), label)
                    XCTAssertEqual(got.gbias?.map(\.bitPattern), simd.gbias?.map(\.bitPattern), label)
                }
            }
            // Float16 problems: widened, computed as above, each gradient rounded once.
            let half = try s.problem(dtype: .float16)
            let halfData = data.half, halfGy = gy.map { Float16($0) }
            let simd = try XCTUnwrap(SimdKernel().backward(half, halfData, gy: halfGy))
            let threaded = try XCTUnwrap(ThreadedKernel(threads: 3).backward(half, halfData, gy: halfGy))
            XCTAssertEqual(threaded.gx.map(\.bitPattern), simd.gx.map(\.bitPattern), "\(s) float16")
            XCTAssertEqual(threaded.goffsets.map(\.bitPattern), simd.goffsets.map(\.bitPattern), "\(s) float16")
            XCTAssertEqual(threaded.gweight.map(\.bitPattern), simd.gweight.map(\.bitPattern), "\(s) float16")
        }
    }

    /// Tᵀ from the packed weights and T transposed give the same bits (the same FMAs per element in
    /// the same order), on shapes whose blocks take the channels-last scatter (multiples of 8 channels,
    /// finite x, small offsets) with tap-major samples; and the copy is made where the call has at
    /// least 8 output pixels per output channel of a group.
    func testPackedWeightsGiveTheTransposedColumnGradientsBits() throws {
        var rng = TestRNG(seed: 96)
        let shapes = [
            TestShape(n: 2, c: 64, h: 11, w: 13, co: 12, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 4, bias: true),
            TestShape(c: 48, h: 9, w: 21, co: 40, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2),
            TestShape(c: 16, h: 8, w: 8, co: 70, kh: 1, kw: 2, pt: 0, pb: 0, pl: 0, pr: 1),
        ]
        for s in shapes {
            let data = backwardData(s, &rng, offsets: .mixed(range: 1.5))
            let gy = backwardGy(s, &rng).map { Float($0) }
            let p = try s.problem()
            let backward = TiledBackward(p, tiling: Tiling(channelsLast: true))
            XCTAssertTrue(backward.packsWeights && backward.packedCount > 0, "\(s)")
            XCTAssertFalse(TiledBackward(p, tiling: Tiling(channelsLast: false)).packsWeights)
            let packed = try XCTUnwrap(SimdKernel(tiling: Tiling(channelsLast: true)).backward(p, data.float, gy: gy))
            let transposed = try XCTUnwrap(SimdKernel(tiling: Tiling(channelsLast: false)).backward(p, data.float, gy: gy))
            XCTAssertEqual(packed.gx.map(\.bitPattern), transposed.gx.map(\.bitPattern), "\(s)")
            XCTAssertEqual(packed.gweight.map(\.bitPattern), transposed.gweight.map(\.bitPattern), "\(s)")
            XCTAssertEqual(packed.goffsets.map(\.bitPattern), transposed.goffsets.map(\.bitPattern), "\(s)")
        }
        let r50c3 = try TiledKernelTests.problem("mb1ic128ih64oc128kh3ph1pw1", bias: false)
        let r50c5 = try TiledKernelTests.problem("mb1ic512ih16oc512kh3ph1pw1", bias: false)
        XCTAssertTrue(TiledBackward(r50c3, tiling: Tiling()).packsWeights)
        XCTAssertFalse(TiledBackward(r50c5, tiling: Tiling()).packsWeights)
    }
}
