@testable import DeformConv
import XCTest

/// The channels-last forward (`ChannelsLastConvolution`), forced on the small shapes that
/// `TiledConvolution` would not give it: within the bound of the reference with windows and
/// with the fallback that reads x in place, exact where the arithmetic is, the same bits for any
/// thread count, and no leak of a non-finite input through a zero weight.
final class ChannelsLastConvolutionTests: XCTestCase {
    /// The standard tiling, and tiles of 16 and 48 pixels with every in-place Float32 entry this CPU runs.
    static let tilings = [Tiling(channelsLast: true)] + MicrokernelConfiguration.table.filter {
        $0.weightLayout == .inPlace && $0.accumulation == .float32 && $0.instructionSet.isAvailable()
    }.flatMap { entry in
        [Tiling(pixelsPerTile: 16, reductionRows: 1, microkernel: entry, channelsLast: true),
         Tiling(pixelsPerTile: 48, reductionRows: 30, microkernel: entry, channelsLast: true)]
    }

    func testWithinTheBoundOfTheReference() throws {
        var rng = TestRNG(seed: 23)
        // The first shapes of TiledKernelTests' edges, then blocks of several vectors with a partial
        // one (C/groups = 37, 20) and channels of one offset group split over blocks (dg = 1, 64).
        let descriptors = TiledKernelTests.descriptors + ["ic37ih6oc9kh3ph1pw1", "ic40ih5oc34kh3g2dg4", "ic64ih5oc16kh2sw2"]
        for descriptor in descriptors {
            let problem = try TiledKernelTests.problem(descriptor, bias: rng.next() % 2 == 0)
            TiledKernelTests.checkWithinTheBound(problem, TiledKernelTests.randomInputs(problem, &rng), tilings: Self.tilings, descriptor)
        }
    }

    /// Offsets of up to ±40 on a 64×64 image spread a tile's corners over most of it: more than a
    /// window holds, so those tiles sample x in place.
    func testTilesWiderThanAWindowSampleInPlace() throws {
        let problem = try TiledKernelTests.problem("ic32ih64oc8kh3ph1pw1", bias: true)
        var rng = TestRNG(seed: 5)
        var inputs = TiledKernelTests.randomInputs(problem, &rng)
        let plane = problem.outputHeight * problem.outputWidth
        for i in 0..<(2 * problem.offsetTaps * plane) { inputs.offsets[i] = rng.uniform(-40, 40) }
        let convolution = ChannelsLastConvolution(problem, tiling: Tiling(channelsLast: true))
        XCTAssertGreaterThan(64 * 64 * convolution.channelStride, ChannelsLastConvolution.windowCapacity,
                             "the image must not fit a window for this test to reach the fallback")
        TiledKernelTests.checkWithinTheBound(problem, inputs, tilings: Self.tilings, "wide offsets")
    }

    func testExactCaseIsBitExact() throws {
        var rng = TestRNG(seed: 9)
        for descriptor in ["ic12ih9oc7kh3ph1pw1dg3", "mb2ic6ih5iw8oc6kh3sh2pt1pb2pl0pr1g3", "ic40ih6oc5kh3ph1pw1"] {
            let problem = try TiledKernelTests.problem(descriptor, bias: true)
            let inputs = TiledKernelTests.exactInputs(problem, &rng)
            let exact = ReferenceKernel().evaluate(problem, inputs.map(Double.init)).y.map(Float.init)
            for tiling in Self.tilings {
                XCTAssertEqual(SimdKernel(tiling: tiling).run(problem, inputs), exact, descriptor)
            }
        }
    }

    func testSameBitsForAnyThreadCount() throws {
        var rng = TestRNG(seed: 31)
        for descriptor in ["mb3ic40ih9oc20kh3ph1pw1g2", "ic16ih20oc40kh3ph1pw1dg2"] {
            let problem = try TiledKernelTests.problem(descriptor, bias: true)
            let inputs = TiledKernelTests.randomInputs(problem, &rng)
            let tiling = Tiling(pixelsPerTile: 16, reductionRows: 256, channelsLast: true)
            let bits = SimdKernel(tiling: tiling).run(problem, inputs).map(\.bitPattern)
            for threads in [2, 3, 8] {
                XCTAssertEqual(ThreadedKernel(threads: threads, tiling: tiling).run(problem, inputs).map(\.bitPattern), bits, "\(descriptor), \(threads) threads")
            }
        }
    }

    func testNonFiniteInputOutsideTheSampledRegionDoesNotLeak() throws {
        let (problem, inputs) = try TiledKernelTests.infinityNoTapSamples()
        for kernel: any DeformConvKernel in [SimdKernel(tiling: Tiling(channelsLast: true)), ThreadedKernel(threads: 2, tiling: Tiling(channelsLast: true))] {
            XCTAssertTrue(kernel.run(problem, inputs).allSatisfy(\.isFinite), kernel.name)
        }
    }

    /// `TiledConvolution` picks the channels-last forward from 16 tiles per group on, in Float32 only.
    func testSelection() throws {
        let many = try TiledKernelTests.problem("mb2ic8ih32oc8kh3ph1pw1", bias: false)
        let few = try TiledKernelTests.problem("ic8ih32oc8kh3ph1pw1", bias: false)
        XCTAssertTrue(TiledConvolution(many, tiling: Tiling()).usesChannelsLast)
        XCTAssertFalse(TiledConvolution(few, tiling: Tiling()).usesChannelsLast)
        XCTAssertFalse(TiledConvolution(many, tiling: Tiling(channelsLast: true), accumulation: .float16).usesChannelsLast)
    }

}
