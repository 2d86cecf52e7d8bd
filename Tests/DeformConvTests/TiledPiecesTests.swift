@testable import DeformConv
import XCTest

/// The pieces of the tiled macro-kernel against element-by-element models: the
/// weight packer's transpose and the eight-wide sampling loop.
final class TiledPiecesTests: XCTestCase {
    /// Balanced slivers (14×32 entry): sizes differ by at most one, lie in 12...14, cover 0..<Co in
    /// order; where 12 per sliver is not reachable (Co = 20) the slivers are 14 rows with a short last one.
    /// The partition is arithmetic on the entry's rows, so it is checked on CPUs without AVX-512F too.
    func testSliversCoverTheOutputChannels() throws {
        let entry = try XCTUnwrap(MicrokernelConfiguration.table.first { $0.function == .float32x14x32AVX512 })
        for (co, balanced, sizes) in [(128, true, [13, 13, 13, 13, 13, 13, 13, 13, 12, 12]), (64, true, [13, 13, 13, 13, 12]),
                                      (14, true, [14]), (20, false, [14, 6]), (27, true, [14, 13]), (512, true, Array(repeating: 14, count: 31) + Array(repeating: 13, count: 6))] {
            let slivers = SliverPartition(co, entry)
            XCTAssertEqual(slivers.balanced, balanced, "Co \(co)")
            let starts = (0...slivers.slivers).map(slivers.start)
            XCTAssertEqual(starts.first, 0)
            XCTAssertEqual(starts.last, co, "Co \(co)")
            XCTAssertEqual(zip(starts.dropFirst(), starts).map { $0 - $1 }, sizes, "Co \(co)")
        }
    }

    /// The forward's finiteness check, split over threads: a non-finite value anywhere, in any
    /// thread's part, is seen; arrays long enough to be split into 2 and 3 parts.
    func testAllFiniteSeesEveryPart() {
        var values = [Float](repeating: 1.5, count: 300_001)
        for threads in [1, 2, 3, 8] {
            XCTAssertTrue(values.withUnsafeBufferPointer { TiledConvolution.allFinite($0, threads: threads) }, "\(threads) threads")
        }
        for (index, bad) in [(0, Float.nan), (150_000, .infinity), (300_000, -.infinity), (299_999, .nan)] {
            values[index] = bad
            for threads in [1, 2, 3, 8] {
                XCTAssertFalse(values.withUnsafeBufferPointer { TiledConvolution.allFinite($0, threads: threads) }, "\(bad) at \(index), \(threads) threads")
            }
            values[index] = 1.5
        }
        XCTAssertEqual(TiledConvolution.zeros(300_001, threads: 3), [Float](repeating: 0, count: 300_001))
    }

    func testPackedSliverIsTheTransposeWithZeroLanes() {
        var rng = TestRNG(seed: 41)
        for lanes in [1, 2, 5, 6, 8, 9, 12, 14, 16] {
            for rows in [1, 3, 7, 8, 9, 16, 17, 63] {
                let weights = (0..<(lanes * rows)).map { _ in Float(rng.double(-4...4)) }
                let present = (0..<lanes).map { lane in lane == 0 || rng.int(0...3) > 0 }
                // Guard lanes around the sliver: the packer must write exactly lanes · rows values.
                var packed = [Float](repeating: .nan, count: lanes * rows + 16)
                weights.withUnsafeBufferPointer { w in
                    let source = (0..<lanes).map { present[$0] ? w.baseAddress! + $0 * rows : nil }
                    packed.withUnsafeMutableBufferPointer { packWeightSliver(source, lanes: lanes, rows: rows, into: $0.baseAddress! + 8) }
                }
                for row in 0..<rows {
                    for lane in 0..<lanes {
                        let expected = present[lane] ? weights[lane * rows + row] : 0
                        XCTAssertEqual(packed[8 + row * lanes + lane].bitPattern, expected.bitPattern, "lanes \(lanes) rows \(rows) [\(row)][\(lane)]")
                    }
                }
                XCTAssertTrue(packed[..<8].allSatisfy(\.isNaN) && packed[(8 + lanes * rows)...].allSatisfy(\.isNaN),
                              "lanes \(lanes) rows \(rows): wrote outside the sliver")
            }
        }
    }

    /// Every panel value is (w00·v00 + w01·v01) + (w10·v10 + w11·v11) of the plan's
    /// weights and the four corners at its base index, bit for bit.
    func testEightWideSamplingFollowsTheScalarFormula() throws {
        var rng = TestRNG(seed: 43)
        for descriptor in ["ic3ih5oc4kh3ph1pw1", "ic8ih6oc14kh3g2dg4", "mb2ic5ih11iw9oc7kh3kw2sh2sw1pt1pb0pl2pr1dh2dw1", "ic4ih2iw2oc2kh3ph1pw1"] {
            let problem = try TiledKernelTests.problem(descriptor, bias: false)
            let inputs = TiledKernelTests.randomInputs(problem, &rng)
            for accumulation in [Accumulation.float32, .float16] {
                let tiled = TiledConvolution(problem, tiling: Tiling(pixelsPerTile: 32, reductionRows: 20), accumulation: accumulation)
                let pixels = tiled.tiling.pixelsPerTile
                let plan = SamplingPlan(entries: problem.deformableGroups * tiled.taps, pixels: pixels, coefficients: 4,
                                        height: problem.height, width: problem.width)
                defer { plan.deallocate() }
                XCTAssertEqual(plan.columnStep, 1, descriptor)
                var panel = [Float](repeating: .nan, count: tiled.blockRows * pixels)
                let n = problem.batch - 1, channels = min(tiled.channelsPerBlock, problem.channels)
                inputs.offsets.withUnsafeBufferPointer { offsets in
                    plan.build(problem, offsets: offsets.baseAddress!, n: n, groups: 0..<problem.deformableGroups, firstPixel: 0)
                }
                inputs.x.withUnsafeBufferPointer { x in
                    panel.withUnsafeMutableBufferPointer {
                        tiled.sampleBlockEightWide(plan, x.baseAddress!, $0.baseAddress!, n: n, firstChannel: 0, channels: channels)
                    }
                }
                let planeSize = problem.height * problem.width
                for c in 0..<channels {
                    for tap in 0..<tiled.taps {
                        let entry = c / problem.channelsPerDeformableGroup * tiled.taps + tap
                        for q in 0..<pixels {
                            let base = (n * problem.channels + c) * planeSize + plan.indices[entry * pixels + q]
                            let v = [inputs.x[base], inputs.x[base + 1], inputs.x[base + plan.rowStep], inputs.x[base + plan.rowStep + 1]]
                            let w = (0..<4).map { plan.coefficients[(entry * 4 + $0) * pixels + q] }
                            var sample = (w[0] * v[0] + w[1] * v[1]) + (w[2] * v[2] + w[3] * v[3])
                            if accumulation == .float16 { sample = Float(Float16(sample)) }
                            let stored = panel[(q / tiled.nr * tiled.blockRows + c * tiled.taps + tap) * tiled.nr + q % tiled.nr]
                            XCTAssertEqual(stored.bitPattern, sample.bitPattern, "\(descriptor) \(accumulation) c \(c) tap \(tap) pixel \(q)")
                        }
                    }
                }
            }
        }
    }

    /// The forward's and the backward's plans (eight pixels at a time where they can) against the scalar
    /// formula written out here: the guard on (−1, H) × (−1, W) ([−1, H) × [−1, W) for the backward),
    /// floor, `SamplingPlan.fit` on rows and columns, and mask × (row weight × column weight) (the
    /// backward's 13: ω, the derivatives' −1/1 row and column weights, the mask), bit for bit; offsets
    /// that reach past every edge, integers, NaN, and tiles that end past the output plane.
    func testPlanFollowsTheScalarFormula() throws {
        var rng = TestRNG(seed: 47)
        for descriptor in ["ic4ih9oc2kh3ph1pw1", "mb2ic4ih7iw12oc2kh3kw2sh2sw1pt1pb0pl2pr1dh2dw1dg2", "ic2ih2iw3oc2kh2"] {
            let problem = try TiledKernelTests.problem(descriptor, bias: false)
            var inputs = TiledKernelTests.randomInputs(problem, &rng)
            for i in inputs.offsets.indices where rng.int(0, 9) == 0 { inputs.offsets[i] = rng.int(0, 1) == 0 ? .nan : Float(rng.int(-12, 12)) }
            for i in inputs.offsets.indices where rng.int(0, 5) == 0 { inputs.offsets[i] = rng.uniform(-12, 12) }
            let (taps, plane) = (problem.kernelHeight * problem.kernelWidth, problem.outputHeight * problem.outputWidth)
            let g = problem.geometry
            for (pixels, firstPixel) in [(32, 0), (16, plane / 16 * 16), (48, 8)] { for backward in [false, true] {
                let count = backward ? 13 : 4
                let plan = SamplingPlan(entries: problem.deformableGroups * taps, pixels: pixels, coefficients: count,
                                        height: problem.height, width: problem.width)
                defer { plan.deallocate() }
                let n = problem.batch - 1
                inputs.offsets.withUnsafeBufferPointer { offsets in
                    if backward {
                        plan.buildForBackward(problem, offsets: offsets.baseAddress!, n: n, firstPixel: firstPixel)
                    } else {
                        plan.build(problem, offsets: offsets.baseAddress!, n: n, groups: 0..<problem.deformableGroups, firstPixel: firstPixel)
                    }
                }
                for entry in 0..<(problem.deformableGroups * taps) {
                    let tap = entry % taps
                    for q in 0..<pixels {
                        let pixel = firstPixel + q
                        var index = 0, w = [Float](repeating: 0, count: count)
                        if pixel < plane {
                            let (oh, ow) = (pixel / problem.outputWidth, pixel % problem.outputWidth)
                            let dx = inputs.offsets[(n * 3 * problem.offsetTaps + entry) * plane + pixel]
                            let dy = inputs.offsets[(n * 3 * problem.offsetTaps + problem.offsetTaps + entry) * plane + pixel]
                            let mask = inputs.offsets[(n * 3 * problem.offsetTaps + 2 * problem.offsetTaps + entry) * plane + pixel]
                            let py = Float(oh * g.strideHeight - g.padTop + tap / g.kernelWidth * g.dilationHeight) + dy
                            let px = Float(ow * g.strideWidth - g.padLeft + tap % g.kernelWidth * g.dilationWidth) + dx
                            // The backward's window includes the lines −1 (SPEC section 7's derivative from the right).
                            let inside = backward ? py >= -1 && py < Float(g.height) && px >= -1 && px < Float(g.width)
                                                  : py > -1 && py < Float(g.height) && px > -1 && px < Float(g.width)
                            if inside {
                                let (y0, x0) = (py.rounded(.down), px.rounded(.down))
                                let (row, rw) = SamplingPlan.fit(Int(y0), 1 - (py - y0), py - y0, size: g.height)
                                let (column, cw) = SamplingPlan.fit(Int(x0), 1 - (px - x0), px - x0, size: g.width)
                                let (_, rd) = SamplingPlan.fit(Int(y0), -1, 1, size: g.height)
                                let (_, cd) = SamplingPlan.fit(Int(x0), -1, 1, size: g.width)
                                index = row * g.width + column
                                w = backward
                                    ? [rw.0 * cw.0, rw.0 * cw.1, rw.1 * cw.0, rw.1 * cw.1, rd.0 * cw.0, rd.0 * cw.1, rd.1 * cw.0, rd.1 * cw.1,
                                       rw.0 * cd.0, rw.0 * cd.1, rw.1 * cd.0, rw.1 * cd.1, mask]
                                    : [mask * (rw.0 * cw.0), mask * (rw.0 * cw.1), mask * (rw.1 * cw.0), mask * (rw.1 * cw.1)]
                            }
                        }
                        let label = "\(descriptor) tile \(firstPixel) entry \(entry) pixel \(q)\(backward ? " backward" : "")"
                        XCTAssertEqual(plan.indices[entry * pixels + q], index, label)
                        for k in 0..<count {
                            XCTAssertEqual(plan.coefficients[(entry * count + k) * pixels + q].bitPattern, w[k].bitPattern, "\(label) weight \(k)")
                        }
                    }
                }
            } }
        }
    }

    /// The register transpose on sizes with full 8×8 blocks and edges in both directions, with
    /// strides past the copied part, written and added; what lies outside is left alone.
    func testTransposeMovesEveryElementOnce() {
        for (rows, columns) in [(8, 8), (11, 13), (3, 20), (16, 5)] {
            let (sourceStride, destinationStride) = (columns + 3, rows + 2)
            let source = (0..<(rows * sourceStride)).map { Float($0) }
            for adding in [false, true] {
                var destination = (0..<(columns * destinationStride)).map { -Float($0) - 1 }
                let before = destination
                source.withUnsafeBufferPointer { s in
                    destination.withUnsafeMutableBufferPointer {
                        transpose(s.baseAddress!, sourceStride, into: $0.baseAddress!, destinationStride, rows: rows, columns: columns, adding: adding)
                    }
                }
                for j in 0..<columns {
                    for i in 0..<destinationStride {
                        let k = j * destinationStride + i
                        let expected = i < rows ? (adding ? before[k] : 0) + source[i * sourceStride + j] : before[k]
                        XCTAssertEqual(destination[k], expected, "\(rows)×\(columns) adding \(adding) at \(j), \(i)")
                    }
                }
            }
        }
    }
}
