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
}
