import Foundation
@testable import DeformConv
import XCTest

/// The reference is the same bits on any number of threads (every element keeps its one order
/// of terms), and reports its progress in order.
final class ReferenceThreadsTests: XCTestCase {
    /// With groups and deformable groups; the second's groups straddle its offset groups, and its
    /// pixels (10·7) and outputs per group (5) leave partial vectors.
    static let shapes = [
        TestShape(n: 2, c: 8, h: 10, w: 11, co: 16, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 2, bias: true),
        TestShape(c: 12, h: 11, w: 13, co: 15, kh: 3, kw: 2, sh: 1, sw: 2, pt: 1, pb: 2, pl: 0, pr: 1, dh: 2, dw: 1,
                  groups: 3, dg: 4),
    ]

    /// Shared among threads however small (the kernel's default runs small problems on one thread).
    func reference(threads: Int) -> ReferenceKernel {
        ReferenceKernel(threads: threads, minimumUnitsToShare: 0)
    }

    /// Offsets from `backwardData`, with every fifth position moved 2⁻²¹ off its integer: within
    /// Float32's δ of it, so that the jump terms are there.
    func nearIntegerData(_ s: TestShape, _ rng: inout TestRNG) -> TestData {
        var data = backwardData(s, &rng, offsets: .mixed(range: 2))
        let positions = 2 * s.taps * s.ho * s.wo
        for index in data.offsets.indices where index % (3 * s.taps * s.ho * s.wo) < positions && index % 5 == 0 {
            data.offsets[index] = data.offsets[index].rounded() + 0x1p-21
        }
        return data
    }

    func testEveryThreadCountGivesTheSameBits() throws {
        var rng = TestRNG(seed: 1701)
        for s in Self.shapes {
            let p = try s.problem()
            let data = nearIntegerData(s, &rng)
            let gy = backwardGy(s, &rng)
            func bits(threads: Int) -> [String: [UInt64]] {
                let kernel = reference(threads: threads)
                let forward = kernel.evaluate(p, data.double)
                var result = ["y": forward.y, "y_abs": forward.yAbs, "y_pos": forward.yPos, "y_tiny": forward.yTiny]
                    .mapValues { $0.map(\.bitPattern) }
                // u_s of Float32 so that the jump terms are there, and the central convention's two cells.
                for (us, convention) in [(0x1p-24, DerivativeConvention.fromTheRight), (UnitRoundoff.float64, .central)] {
                    let g = kernel.evaluateBackward(p, data.double, gy: gy, samplingUnitRoundoff: us, convention: convention)
                    let tensors = [("gx", g.gx), ("gweight", g.gweight), ("goffsets", g.goffsets)] + (g.gbias.map { [("gbias", $0)] } ?? [])
                    for (name, t) in tensors {
                        let key = "\(name) \(convention)"
                        result[key] = t.value.map(\.bitPattern)
                        result[key + " abs"] = t.abs.map(\.bitPattern)
                        result[key + " pos"] = t.pos.map(\.bitPattern)
                        result[key + " jump"] = t.jump.map(\.bitPattern)
                        result[key + " L"] = t.reductionLength.map { UInt64($0) }
                    }
                    result["integer \(convention)"] = g.integerPositions.map { $0 ? 1 : 0 }
                }
                return result
            }
            let one = bits(threads: 1)
            XCTAssertTrue(one["goffsets fromTheRight jump"]!.contains { $0 != 0 }, "\(s): no jump term to compare")
            for threads in [2, 3, 8] {
                let other = bits(threads: threads)
                XCTAssertEqual(Set(other.keys), Set(one.keys))
                for (name, values) in one {
                    XCTAssertTrue(values == other[name], "\(s): \(name) differs on \(threads) threads")
                }
            }
        }
    }

    func testProgressCountsEveryUnitInOrder() throws {
        let s = Self.shapes[0]
        var rng = TestRNG(seed: 1702)
        let p = try s.problem()
        let data = nearIntegerData(s, &rng)
        let gy = backwardGy(s, &rng)
        let kernel = reference(threads: 2)
        let forward = ProgressLog()
        _ = kernel.evaluate(p, data.double, progress: forward.record)
        XCTAssertEqual(ReferenceKernel.progressTotals(p).forward, p.outputCount)
        XCTAssertEqual(ReferenceKernel.progressTotals(p).backward, 2 * s.n * s.c * s.kh * s.kw * s.ho * s.wo)
        forward.check(total: p.outputCount, "forward")
        let backward = ProgressLog()
        _ = kernel.evaluateBackward(p, data.double, gy: gy, progress: backward.record)
        backward.check(total: 2 * s.n * s.c * s.kh * s.kw * s.ho * s.wo, "backward")
    }
}

/// The calls a progress hook received; it fails on two calls at once.
private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [(done: Int, total: Int)] = []
    private var inside = false
    private var overlapped = false

    func record(_ done: Int, _ total: Int) {
        lock.lock()
        if inside { overlapped = true }
        inside = true
        lock.unlock()
        usleep(100)   // long enough for another thread to arrive if the calls were not serialised
        lock.lock()
        calls.append((done, total))
        inside = false
        lock.unlock()
    }

    func check(total: Int, _ pass: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(overlapped, "\(pass): two progress calls at once", file: file, line: line)
        XCTAssertFalse(calls.isEmpty, "\(pass): no progress", file: file, line: line)
        XCTAssertTrue(calls.allSatisfy { $0.total == total }, "\(pass): totals \(Set(calls.map(\.total))), expected \(total)",
                      file: file, line: line)
        XCTAssertEqual(calls.last?.done, total, "\(pass): the last call is not the total", file: file, line: line)
        XCTAssertTrue(zip(calls, calls.dropFirst()).allSatisfy { $0.done < $1.done }, "\(pass): done does not increase",
                      file: file, line: line)
        XCTAssertLessThanOrEqual(calls.count, 201, "\(pass): too many calls", file: file, line: line)
        XCTAssertGreaterThan(calls.count, 10, "\(pass): too coarse", file: file, line: line)
    }
}
