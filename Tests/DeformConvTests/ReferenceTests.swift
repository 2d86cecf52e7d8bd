import DeformConv
import XCTest

/// The float64 reference kernel against results computed independently in the
/// test (plain convolutions, hand-worked bilinear samples, the SPEC formulas).
final class ReferenceTests: XCTestCase {
    let reference = ReferenceKernel()

    /// Geometries covering stride, dilation, asymmetric padding, groups, dg, batch, 1×1, non-square.
    static let geometries: [TestShape] = [
        TestShape(h: 5, w: 5, kh: 3, kw: 3),
        TestShape(n: 2, c: 4, h: 7, w: 6, co: 6, kh: 3, kw: 2, sh: 2, sw: 1, pt: 1, pb: 0, pl: 2, pr: 1, dh: 1, dw: 2, groups: 2, dg: 2, bias: true),
        TestShape(c: 6, h: 5, w: 4, co: 3, groups: 3, bias: true),
        TestShape(c: 3, h: 8, w: 5, co: 2, kh: 2, kw: 3, sh: 1, sw: 2, pt: 0, pb: 2, pl: 1, pr: 0, dh: 3, dw: 1, bias: true),
        TestShape(n: 3, c: 2, h: 4, w: 4, co: 4, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2),
        TestShape(c: 4, h: 3, w: 9, co: 4, kh: 3, kw: 3, sh: 3, sw: 3, pt: 2, pb: 2, pl: 0, pr: 1, groups: 4, dg: 4, bias: true),
        TestShape(n: 2, c: 6, h: 6, w: 3, co: 6, kh: 1, kw: 3, sh: 2, sw: 1, pt: 0, pb: 1, pl: 2, pr: 2, dw: 2, groups: 3, dg: 2, bias: true),
    ]

    static func geometriesWithRandom(seed: UInt64, count: Int) -> [TestShape] {
        geometries + TestShape.random(seed: seed, count: count)
    }

    func evaluate(_ data: TestData) throws -> ReferenceOutput {
        reference.evaluate(try data.shape.problem(), data.double)
    }

    // (a) zero offsets and unit masks: an ordinary grouped convolution.

    func testZeroOffsetsUnitMasksIsPlainConvolution() throws {
        var rng = TestRNG(seed: 1)
        for s in Self.geometriesWithRandom(seed: 2, count: 8) {
            // small integers and a bias multiple of 1/64: every sum is exact in Float64
            let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 64, denominator: 64) },
                                tap: { _, _, _, _, _, _ in (0, 0, 1) })
            let expected = plainConvolution(s, x: data.x, weight: data.weight, bias: data.bias)
            let out = try evaluate(data)
            XCTAssertEqual(out.y, expected, "\(s)")
            // the Float32 entry point gives the same numbers, rounded to Float
            XCTAssertEqual(reference.run(try s.problem(), data.float), expected.map { Float($0) }, "\(s)")
        }
    }

    func testZeroOffsetsUnitMasksRealValues() throws {
        var rng = TestRNG(seed: 3)
        for s in Self.geometriesWithRandom(seed: 4, count: 4) {
            let data = TestData(shape: s, value: { rng.float32Value(-1...1) }, tap: { _, _, _, _, _, _ in (0, 0, 1) })
            let expected = plainConvolution(s, x: data.x, weight: data.weight, bias: data.bias)
            let out = try evaluate(data)
            for index in expected.indices {
                XCTAssertEqual(out.y[index], expected[index], accuracy: 1e-13 * max(1, out.yAbs[index]), "\(s) at \(index)")
            }
        }
    }

    // (b) the same integer (dy, dx) everywhere: a convolution of the shifted input.

    func testIntegerOffsetsShiftTheInput() throws {
        var rng = TestRNG(seed: 5)
        let shifts = [(1, 0), (0, -1), (-2, 3), (3, 3), (-1, -1), (2, -3), (-4, 0)]
        for (index, s) in Self.geometries.enumerated() {
            for (dy, dx) in shifts {
                let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 4, denominator: 64) },
                                    tap: { _, _, _, _, _, _ in (Double(dy), Double(dx), 1) })
                let expected = plainConvolution(s, x: data.x, weight: data.weight, bias: data.bias, shift: { _ in (dy, dx) })
                XCTAssertEqual(try evaluate(data).y, expected, "geometry \(index) shift (\(dy), \(dx))")
            }
        }
    }

    // (c) all-zero masks: exactly the bias.

    func testZeroMasksGiveExactlyTheBias() throws {
        var rng = TestRNG(seed: 6)
        for s in Self.geometriesWithRandom(seed: 7, count: 4) {
            let data = TestData(shape: s, value: { rng.float32Value(-3...3) },
                                tap: { _, _, _, _, _, _ in (rng.float32Value(-2.5...2.5), rng.float32Value(-2.5...2.5), 0) })
            let out = try evaluate(data)
            for n in 0..<s.n {
                for o in 0..<s.co {
                    for oh in 0..<s.ho {
                        for ow in 0..<s.wo {
                            let index = s.outputIndex(n, o, oh, ow)
                            let bias = data.bias?[o] ?? 0
                            XCTAssertEqual(out.y[index], bias, "\(s)")
                            XCTAssertEqual(out.yAbs[index], abs(bias), "\(s)")
                            XCTAssertEqual(out.yPos[index], 0, "\(s)")
                        }
                    }
                }
            }
        }
    }

    // (d) fractional offsets, worked by hand.

    func testHalfIntegerOffsetAlongWidth() throws {
        // x = [2, 10] (1×1×1×2), weight 1, 1×1 kernel: Ho 1, Wo 2. dx = 0.5 everywhere.
        // wo 0: px 0.5 → (2 + 10)/2 = 6. wo 1: px 1.5 → ½·10 + ½·0 (outside) = 5.
        let s = TestShape(h: 1, w: 2)
        let data = TestData(shape: s, x: [2, 10], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, _ in (0, 0.5, 1) }, bias: nil)
        let out = try evaluate(data)
        XCTAssertEqual(out.y, [6, 5])
        // y_abs: Σ a·|v| = 6 and 5. y_pos: py = 0 contributes nothing; ∂B/∂px = v01 − v00:
        // wo 0: |0.5|·|10 − 2| = 4; wo 1: |1.5|·|0 − 10| = 15.
        XCTAssertEqual(out.yAbs, [6, 5])
        XCTAssertEqual(out.yPos, [4, 15])
        // y_tiny: R + 1 = 3 (R = 1 tap + 1), plus |w|·(1 + |m| + |B|) + |m·B| = (2 + 6) + 6 and (2 + 5) + 5.
        XCTAssertEqual(out.yTiny, [17, 15])
    }

    func testHalfIntegerOffsetAlongHeight() throws {
        // x = [4, 8] as a 2×1 column, dy = 0.5: ho 0 → 6, ho 1 → ½·8 = 4.
        let s = TestShape(h: 2, w: 1)
        let data = TestData(shape: s, x: [4, 8], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, _ in (0.5, 0, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(data).y, [6, 4])
    }

    func testHalfIntegerOffsetInBothDirections() throws {
        // x = [[1, 2], [3, 4]], dy = dx = 0.5, 1×1 kernel:
        // (0,0): ¼(1+2+3+4) = 2.5; (0,1): ¼(2+4) = 1.5; (1,0): ¼(3+4) = 1.75; (1,1): ¼·4 = 1.
        let s = TestShape(h: 2, w: 2)
        let data = TestData(shape: s, x: [1, 2, 3, 4], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, _ in (0.5, 0.5, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(data).y, [2.5, 1.5, 1.75, 1])
    }

    func testQuarterOffsetWeightsTheNeighbours() throws {
        // x = [8, 16, 40] (1×3), dx = 0.25 at wo 0, −0.75 at wo 2 (px 1.25), weight 2, bias 1:
        // wo 0: ¾·8 + ¼·16 = 10 → 1 + 2·10 = 21; wo 1: dx 0 → 16 → 33; wo 2: ¾·16 + ¼·40 = 22 → 45.
        let s = TestShape(h: 1, w: 3, bias: true)
        let dxs = [0.25, 0, -0.75]
        let data = TestData(shape: s, x: [8, 16, 40], weight: [2], offsets: makeOffsets(s) { _, _, _, _, _, ow in (0, dxs[ow], 1) }, bias: [1])
        XCTAssertEqual(try evaluate(data).y, [21, 33, 45])
    }

    func testOffsetsIndexedPerTapAndPixel() throws {
        // 1×1 image [5], kernel 1×2 with padding right 1: taps j = 0 and j = 1 at wo 0.
        // Tap 0: dx = 0 → 5 (weight 1). Tap 1 (px = 1 + dx): dx = −0.5 → ½·5; mask 2, weight 10.
        // y = 5 + 10·2·2.5 = 55. dx of tap 1 lives in offsets channel 1, its mask in channel 2K + 1 = 5.
        let s = TestShape(h: 1, w: 1, kh: 1, kw: 2, pr: 1)
        XCTAssertEqual(s.wo, 1)
        let offsets = [0, -0.5, /* dy */ 0, 0, /* masks */ 1, 2]
        let data = TestData(shape: s, x: [5], weight: [1, 10], offsets: offsets, bias: nil)
        XCTAssertEqual(try evaluate(data).y, [55])
    }

    // (e) boundaries: −1 and H give 0, H − 1 gives the edge value.

    func testSamplingPositionsOnTheBoundary() throws {
        // x = 1…9 in a 3×3 image, 1×1 kernel, weight 1, bias 0.25. Per output pixel (dy, dx):
        let taps: [[(Double, Double)]] = [
            [(-1, 0), (0, -2), (2, 0)],     // py = −1 → 0 | px = −1 → 0 | py = 2 = H−1, px = 2 → x[2,2] = 9
            [(0, 2), (-1.5, 0), (0, 1)],    // px = 2 = W−1 → x[1,2] = 6 | py = −0.5 → ½·x[0,1] = 1 | px = 3 = W → 0
            [(0, 0), (0.5, 0), (1, 0)],     // x[2,0] = 7 | py = 2.5 → ½·x[2,1] = 4 | py = 3 = H → 0
        ]
        let s = TestShape(h: 3, w: 3, bias: true)
        let data = TestData(shape: s, x: (1...9).map(Double.init), weight: [1],
                            offsets: makeOffsets(s) { _, _, _, _, oh, ow in (taps[oh][ow].0, taps[oh][ow].1, 1) }, bias: [0.25])
        let out = try evaluate(data)
        XCTAssertEqual(out.y, [0.25, 0.25, 9.25, 6.25, 1.25, 0.25, 7.25, 4.25, 0.25])
        // "both terms zero where B is zero": y_abs is the bias alone, y_pos is 0, y_tiny is R + 1 = 3.
        for index in [0, 1, 5, 8] {
            XCTAssertEqual(out.yAbs[index], 0.25, "pixel \(index)")
            XCTAssertEqual(out.yPos[index], 0, "pixel \(index)")
            XCTAssertEqual(out.yTiny[index], 3, "pixel \(index)")
        }
    }

    func testJustInsideTheBoundaryStillSamples() throws {
        // px = −1 + 1/1024 on a 1×2 image [64, 0]: x0 = −1, lx = 1/1024, B = (1/1024)·64 = 1/16.
        // px = W − 1/1024 on [0, 64]: x0 = 1, lx = 1 − 1/1024, B = (1/1024)·64 = 1/16.
        let s = TestShape(h: 1, w: 2)
        let eps = 1.0 / 1024
        let left = TestData(shape: s, x: [64, 0], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, ow in (0, ow == 0 ? -1 + eps : 0, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(left).y, [64 * eps, 0])
        let right = TestData(shape: s, x: [0, 64], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, ow in (0, ow == 1 ? 1 - eps : 0, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(right).y, [0, 64 * eps])
        // and the same just beyond: exactly zero
        let beyond = TestData(shape: s, x: [64, 64], weight: [1], offsets: makeOffsets(s) { _, _, _, _, _, ow in (0, ow == 0 ? -1 - eps : 1 + eps, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(beyond).y, [0, 0])
    }

    func testNaNOffsetSamplesNothing() throws {
        // Not a SPEC rule, but the reference documents it: a NaN position takes the zero branch.
        let s = TestShape(h: 2, w: 2)
        var offsets = makeOffsets(s) { _, _, _, _, _, _ in (0, 0, 1) }
        offsets[s.offsetsIndex(0, 1, 0, 0)] = .nan   // dy of (0, 0)
        offsets[s.offsetsIndex(0, 0, 0, 1)] = .nan   // dx of (0, 1)
        let data = TestData(shape: s, x: [1, 2, 3, 4], weight: [1], offsets: offsets, bias: nil)
        XCTAssertEqual(try evaluate(data).y, [0, 0, 3, 4])
    }

    // (f) masks scale the samples linearly, negative masks included.

    func testMasksScaleLinearly() throws {
        var rng = TestRNG(seed: 8)
        for s in Self.geometries {
            // exact inputs: integers, quarter offsets and masks, 1/64 bias
            let masks = (0..<s.offsetsCount).map { _ in rng.dyadic(limit: 2, denominator: 4) }
            let base = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 64, denominator: 64) },
                                tap: { _, _, _, _, _, _ in (rng.dyadic(limit: 3, denominator: 4), rng.dyadic(limit: 3, denominator: 4), 0) })
            var offsets = base.offsets
            for index in (2 * s.taps * s.ho * s.wo)..<(3 * s.taps * s.ho * s.wo) {
                for n in 0..<s.n { offsets[n * 3 * s.taps * s.ho * s.wo + index] = masks[n * 3 * s.taps * s.ho * s.wo + index] }
            }
            let original = try evaluate(TestData(shape: s, x: base.x, weight: base.weight, offsets: offsets, bias: base.bias))
            for factor in [2.0, -1, -0.5, 0.25, -3] {
                var scaled = offsets
                for n in 0..<s.n {
                    for index in (2 * s.taps * s.ho * s.wo)..<(3 * s.taps * s.ho * s.wo) {
                        scaled[n * 3 * s.taps * s.ho * s.wo + index] *= factor
                    }
                }
                let out = try evaluate(TestData(shape: s, x: base.x, weight: base.weight, offsets: scaled, bias: base.bias))
                for index in out.y.indices {
                    let bias = base.bias?[index / (s.ho * s.wo) % s.co] ?? 0
                    XCTAssertEqual(out.y[index] - bias, factor * (original.y[index] - bias), "\(s) factor \(factor)")
                    XCTAssertEqual(out.yAbs[index] - abs(bias), abs(factor) * (original.yAbs[index] - abs(bias)), "\(s) factor \(factor)")
                    XCTAssertEqual(out.yPos[index], abs(factor) * original.yPos[index], "\(s) factor \(factor)")
                }
            }
        }
    }

    func testNegativeMaskOnOneTap() throws {
        // x = [[1, 2], [3, 4]], kernel 1×2 with padding right 1, weights (1, 1), dy = dx = 0:
        // taps sample x[oh, ow] and x[oh, ow+1]. Mask −1 on tap 1: y = x[oh,ow] − x[oh,ow+1].
        let s = TestShape(h: 2, w: 2, kh: 1, kw: 2, pr: 1)
        let data = TestData(shape: s, x: [1, 2, 3, 4], weight: [1, 1],
                            offsets: makeOffsets(s) { _, _, _, j, _, _ in (dy: 0.0, dx: 0.0, m: j == 1 ? -1.0 : 1.0) }, bias: nil)
        let expected: [Double] = [1 - 2, 2 - 0, 3 - 4, 4 - 0]
        XCTAssertEqual(try evaluate(data).y, expected)
    }

    // (g) the two error magnitudes.

    func testMagnitudeBoundsTheOutput() throws {
        var rng = TestRNG(seed: 9)
        for s in Self.geometriesWithRandom(seed: 10, count: 6) {
            let data = TestData(shape: s, value: { rng.float32Value(-2...2) },
                                tap: { _, _, _, _, _, _ in (rng.float32Value(-3...3), rng.float32Value(-3...3), rng.float32Value(-1.5...1.5)) })
            let out = try evaluate(data)
            for index in out.y.indices {
                // |y| ≤ |bias| + Σ |w|·|m|·|B| ≤ y_abs, since |B| ≤ Σ a·|v| with a ≥ 0
                XCTAssertGreaterThanOrEqual(out.yAbs[index] * (1 + 1e-14), abs(out.y[index]), "\(s)")
                XCTAssertGreaterThanOrEqual(out.yPos[index], 0, "\(s)")
            }
        }
    }

    func testMagnitudesForIntegerOffsets() throws {
        // With integer positions ly = lx = 0, so a00 = 1 and the other bilinear weights are 0:
        //   y_abs = |bias| + Σ |w|·|m|·|v(py, px)|
        //   ∂B/∂py = v(py+1, px) − v(py, px),  ∂B/∂px = v(py, px+1) − v(py, px)
        //   y_pos = Σ |w|·|m|·(|py|·|v(py+1,px) − v(py,px)| + |px|·|v(py,px+1) − v(py,px)|)
        // with the sum over taps where py, px lie in [0, H−1] × [0, W−1] (B = 0 elsewhere).
        // These are not zero in general: y_pos vanishes only where the image is locally flat.
        // y_tiny = R + 1 + Σ |w|·(1 + |m| + |v|) + Σ |m·v| over the same taps, R = (C/groups)·kh·kw + 1.
        var rng = TestRNG(seed: 12)
        for s in Self.geometries {
            let shifts = (0..<s.dg).map { _ in (rng.int(-2...2), rng.int(-2...2)) }
            let data = TestData(shape: s, value: { rng.float32Value(-2...2) },
                                tap: { _, g, _, _, _, _ in (Double(shifts[g].0), Double(shifts[g].1), rng.float32Value(-2...2)) })
            let out = try evaluate(data)
            for n in 0..<s.n {
                for o in 0..<s.co {
                    let group = o / s.copg
                    for oh in 0..<s.ho {
                        for ow in 0..<s.wo {
                            var yAbs = abs(data.bias?[o] ?? 0), yPos = 0.0
                            var yTiny = Double(s.cpg * s.kh * s.kw + 2)
                            for cg in 0..<s.cpg {
                                let c = group * s.cpg + cg
                                let g = c / s.cpdg
                                func v(_ a: Int, _ b: Int) -> Double { a >= 0 && a < s.h && b >= 0 && b < s.w ? data.x[s.xIndex(n, c, a, b)] : 0 }
                                for i in 0..<s.kh {
                                    for j in 0..<s.kw {
                                        let py = oh * s.sh - s.pt + i * s.dh + shifts[g].0
                                        let px = ow * s.sw - s.pl + j * s.dw + shifts[g].1
                                        guard py >= 0, py < s.h, px >= 0, px < s.w else { continue }
                                        let k = (g * s.kh + i) * s.kw + j
                                        let m = data.offsets[s.offsetsIndex(n, 2 * s.taps + k, oh, ow)]
                                        let w = data.weight[s.weightIndex(o, cg, i, j)]
                                        let scale = abs(w) * abs(m)
                                        yAbs += scale * abs(v(py, px))
                                        yTiny += abs(w) * (1 + abs(m) + abs(v(py, px))) + abs(m * v(py, px))
                                        yPos += scale * (Double(abs(py)) * abs(v(py + 1, px) - v(py, px)) + Double(abs(px)) * abs(v(py, px + 1) - v(py, px)))
                                    }
                                }
                            }
                            let index = s.outputIndex(n, o, oh, ow)
                            XCTAssertEqual(out.yAbs[index], yAbs, accuracy: 1e-12 * max(1, yAbs), "\(s)")
                            XCTAssertEqual(out.yPos[index], yPos, accuracy: 1e-12 * max(1, yPos), "\(s)")
                            XCTAssertEqual(out.yTiny[index], yTiny, accuracy: 1e-12 * yTiny, "\(s)")
                        }
                    }
                }
            }
        }
    }

    func testPositionMagnitudeVanishesOnAFlatImageAwayFromTheEdges() throws {
        // Constant image, every sampled position strictly inside with room for the +1 neighbours:
        // both derivatives are 0, so y_pos = 0, while y_abs = |bias| + Σ|w|·|m|·7.
        let s = TestShape(h: 6, w: 6, co: 2, kh: 2, kw: 2, bias: true)   // positions 0…5 + shift
        let data = TestData(shape: s, x: Array(repeating: 7, count: s.xCount), weight: [1, -2, 3, -4, 0.5, 0.5, 0.5, 0.5],
                            offsets: makeOffsets(s) { _, _, _, _, oh, ow in (oh == 0 ? 0 : -1, ow == 0 ? 0 : -1, -1) }, bias: [1, -1])
        // positions: oh + i − (oh > 0) ∈ [0, 4], same for px: the +1 neighbour is always inside.
        let out = try evaluate(data)
        XCTAssertEqual(out.yPos, Array(repeating: 0, count: s.outputCount))
        XCTAssertEqual(Array(out.yAbs[0..<s.ho * s.wo]), Array(repeating: 1 + 10 * 7, count: s.ho * s.wo))
        XCTAssertEqual(Array(out.y[0..<s.ho * s.wo]), Array(repeating: 1 + 2 * 7, count: s.ho * s.wo))   // −(1 − 2 + 3 − 4)·7
    }

    // (h) deformable groups: channel c uses offset block c / (C/dg).

    func testDeformableGroupsUseTheirOwnOffsetBlock() throws {
        var rng = TestRNG(seed: 13)
        let cases: [(TestShape, [(Int, Int)], [Double])] = [
            // C 4, dg 2, groups 1: channels 0–1 use block 0, 2–3 block 1
            (TestShape(c: 4, h: 5, w: 6, co: 3, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2, bias: true), [(1, -1), (-2, 0)], [1, -0.5]),
            // C 6, groups 3, dg 2: conv group 1 = channels 2–3 straddles offset blocks 0 and 1
            (TestShape(n: 2, c: 6, h: 4, w: 5, co: 3, kh: 2, kw: 2, pt: 0, pb: 1, pl: 1, pr: 0, groups: 3, dg: 2), [(0, 2), (1, 1)], [2, -1]),
            // C 4, dg 4, groups 2, stride and dilation
            (TestShape(c: 4, h: 7, w: 7, co: 2, kh: 3, kw: 2, sh: 2, sw: 1, pt: 1, pb: 1, pl: 0, pr: 1, dh: 1, dw: 2, groups: 2, dg: 4, bias: true),
             [(1, 0), (0, 1), (-1, -1), (2, -2)], [1, 0.5, -2, 0.25]),
        ]
        for (s, shifts, masks) in cases {
            let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 8, denominator: 64) },
                                tap: { _, g, _, _, _, _ in (Double(shifts[g].0), Double(shifts[g].1), masks[g]) })
            let group = { (c: Int) in c / (s.c / s.dg) }
            let expected = plainConvolution(s, x: data.x, weight: data.weight, bias: data.bias,
                                            shift: { shifts[group($0)] }, scale: { masks[group($0)] })
            XCTAssertEqual(try evaluate(data).y, expected, "\(s)")
            // and swapping the blocks changes the answer (the test can tell the blocks apart)
            let swapped = plainConvolution(s, x: data.x, weight: data.weight, bias: data.bias,
                                           shift: { shifts[s.dg - 1 - group($0)] }, scale: { masks[s.dg - 1 - group($0)] })
            XCTAssertNotEqual(swapped, expected)
        }
    }

    func testBatchesUseTheirOwnOffsets() throws {
        // N 2, same image in both batches, offsets shift +1 in batch 0 and −1 in batch 1.
        let s = TestShape(n: 2, h: 1, w: 3)
        let data = TestData(shape: s, x: [1, 2, 3, 1, 2, 3], weight: [1],
                            offsets: makeOffsets(s) { n, _, _, _, _, _ in (0, n == 0 ? 1 : -1, 1) }, bias: nil)
        XCTAssertEqual(try evaluate(data).y, [2, 3, 0, 0, 1, 2])
    }

    func testFloat16EntryPointRoundsTheExactResultOnce() throws {
        // A 1×3 kernel with weights (1, 2^-11, 2^-12) over [1, 1, 1]: y = 1 + 2^-11 + 2^-12, above
        // the Float16 tie 1 + 2^-11, rounds once to 1 + 2^-10 (rounding 1 + 2^-11 first would give 1).
        let s = TestShape(h: 1, w: 3, kh: 1, kw: 3)
        let data = TestData(shape: s, x: [1, 1, 1], weight: [1, 0x1p-11, 0x1p-12],
                            offsets: makeOffsets(s) { _, _, _, _, _, _ in (0, 0, 1) }, bias: nil)
        let half = reference.run(try s.problem(dtype: .float16), data.half)
        XCTAssertEqual(half, [Float16(1 + 0x1p-10)])
        XCTAssertEqual(reference.run(try s.problem(), data.float), [Float(1 + 0x1p-11 + 0x1p-12)])
    }
}
