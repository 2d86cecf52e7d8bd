import DeformConv
import Foundation
import XCTest

/// How long the Float64 reference backward takes on r50-c3 (N1 C128 H64 W64 Co128, 3×3,
/// padding 1), which a golden file with gradients needs: under 30 s in a release build.
/// Debug builds are far slower, so it runs only when asked:
/// `DCN_BACKWARD_TIMING=1 swift test -c release --filter BackwardTimingTests`.
final class BackwardTimingTests: XCTestCase {
    func testReferenceBackwardOnR50C3IsUnderThirtySeconds() throws {
        guard ProcessInfo.processInfo.environment["DCN_BACKWARD_TIMING"] == "1" else {
            throw XCTSkip("set DCN_BACKWARD_TIMING=1 and build in release to time r50-c3")
        }
        let s = TestShape(c: 128, h: 64, w: 64, co: 128, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, bias: true)
        var rng = TestRNG(seed: 80)
        let data = backwardData(s, &rng, offsets: .mixed(range: 1.5))
        let gy = backwardGy(s, &rng)
        let p = try s.problem()
        let start = Date()
        let gradients = ReferenceKernel().evaluateBackward(p, data.double, gy: gy, samplingUnitRoundoff: 0x1p-24)
        let seconds = Date().timeIntervalSince(start)
        print("reference backward r50-c3: \(String(format: "%.2f", seconds)) s")
        XCTAssertEqual(gradients.gx.value.count, s.xCount)
        XCTAssertTrue(gradients.goffsets.value.contains { $0 != 0 })
        XCTAssertLessThan(seconds, 30)
    }

    /// Median of 5 calls of naive (1 call), simd and threaded, forward and backward, on r50-c3: the
    /// figures of the tiled backward's report. Nothing is asserted about speed; run it as above.
    func testTiledBackwardTimesOnR50C3() throws {
        guard ProcessInfo.processInfo.environment["DCN_BACKWARD_TIMING"] == "1" else {
            throw XCTSkip("set DCN_BACKWARD_TIMING=1 and build in release to time r50-c3")
        }
        let s = TestShape(c: 128, h: 64, w: 64, co: 128, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, bias: true)
        var rng = TestRNG(seed: 81)
        let data = backwardData(s, &rng, offsets: .mixed(range: 1.5))
        let inputs = data.float, gy = backwardGy(s, &rng).map { Float($0) }
        let p = try s.problem()
        func median(_ runs: Int, _ body: () -> Void) -> Double {
            let times = (0..<runs).map { _ in
                let start = Date()
                body()
                return Date().timeIntervalSince(start) * 1000
            }.sorted()
            return times[runs / 2]
        }
        let kernels: [(any DeformConvKernel, Int)] = [(NaiveKernel(), 1), (SimdKernel(), 5), (ThreadedKernel(), 5)]
        for (kernel, runs) in kernels {
            let forward = median(runs) { _ = kernel.run(p, inputs) }
            let backward = median(runs) { _ = kernel.backward(p, inputs, gy: gy) }
            print(String(format: "r50-c3 %@ (%d threads): forward %.1f ms, backward %.1f ms", kernel.name, kernel.threads, forward, backward))
        }
    }
}
