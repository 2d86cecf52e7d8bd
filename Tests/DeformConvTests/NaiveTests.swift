import DeformConv
import XCTest

/// The naive Float32 kernel against the Float64 reference, held to SPEC section 3.
final class NaiveTests: XCTestCase {
    let naive = NaiveKernel()
    let reference = ReferenceKernel()

    /// Reference geometries plus wider reductions, 1×1 kernels and non-square shapes, then random ones.
    static func geometries(seed: UInt64, random count: Int) -> [TestShape] {
        let extra = [
            TestShape(c: 16, h: 8, w: 8, co: 8, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, bias: true),   // R = 144
            TestShape(n: 2, c: 8, h: 5, w: 9, co: 4, kh: 1, kw: 1, groups: 2, dg: 4),                   // 1×1
            TestShape(c: 4, h: 3, w: 12, co: 2, kh: 3, kw: 5, sh: 1, sw: 3, pt: 1, pb: 2, pl: 2, pr: 0, dh: 1, dw: 2, dg: 2, bias: true),
            TestShape(n: 3, c: 2, h: 9, w: 2, co: 3, kh: 2, kw: 1, sh: 3, sw: 1, pt: 0, pb: 3, dh: 4),
        ]
        return ReferenceTests.geometries + extra + TestShape.random(seed: seed, count: count)
    }

    func testKernelDeclaresFloat32Roundoffs() {
        XCTAssertEqual(naive.name, "naive")
        XCTAssertEqual(naive.accumulationUnitRoundoff, 0x1p-24)
        XCTAssertEqual(naive.samplingUnitRoundoff, 0x1p-24)
        XCTAssertEqual(reference.name, "reference")
        XCTAssertEqual(KernelRegistry.named("naive")?.name, "naive")
        XCTAssertEqual(KernelRegistry.named("reference")?.name, "reference")
        XCTAssertNil(KernelRegistry.named("no-such-kernel"))
    }

    func testFloat32WithinTheSpecBound() throws {
        var rng = TestRNG(seed: 21)
        var worst = 0.0, checked = 0
        for s in Self.geometries(seed: 22, random: 24) {
            for offsetRange in [1.5, 6.0] {   // mostly inside, and large offsets that leave the image
                let data = TestData(shape: s, value: { rng.float32Value(-1...1) },
                                    tap: { _, _, _, _, _, _ in
                                        (rng.float32Value(-offsetRange...offsetRange), rng.float32Value(-offsetRange...offsetRange), rng.float32Value(-1...2))
                                    })
                let p = try s.problem()
                let exact = reference.evaluate(p, data.double)
                let got = naive.run(p, data.float)
                XCTAssertEqual(got.count, s.outputCount)
                for index in exact.y.indices {
                    let bound = float32Bound(y: exact.y[index], yAbs: exact.yAbs[index], yPos: exact.yPos[index], shape: s)
                    // the bound is tight enough to mean something: far below the magnitude itself
                    XCTAssertLessThan(bound, 1e-4 * max(exact.yAbs[index], 1e-30) + 1e-30, "\(s)")
                    let error = abs(Double(got[index]) - exact.y[index])
                    XCTAssertLessThanOrEqual(error, bound, "\(s) element \(index): naive \(got[index]) exact \(exact.y[index])")
                    worst = max(worst, error / bound)
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 4_000)
        XCTAssertGreaterThan(worst, 0, "no element differed at all: the comparison is suspicious")
    }

    func testFloat32NegativeMasksAndIntegerOffsets() throws {
        var rng = TestRNG(seed: 23)
        for s in ReferenceTests.geometries {
            let data = TestData(shape: s, value: { rng.float32Value(-4...4) },
                                tap: { _, _, _, _, _, _ in (Double(rng.int(-2...2)), Double(rng.int(-2...2)), rng.float32Value(-2 ... -0.5)) })
            let p = try s.problem()
            let exact = reference.evaluate(p, data.double)
            let got = naive.run(p, data.float)
            for index in exact.y.indices {
                let bound = float32Bound(y: exact.y[index], yAbs: exact.yAbs[index], yPos: exact.yPos[index], shape: s)
                XCTAssertLessThanOrEqual(abs(Double(got[index]) - exact.y[index]), bound, "\(s)")
            }
        }
    }

    /// SPEC section 3's exact cases: |x| ≤ 8 and |w| ≤ 4 integers, offsets and masks
    /// multiples of 1/4 (|m| ≤ 2), bias a multiple of 1/64 (|bias| ≤ 64), R < 4096:
    /// every intermediate is exact in Float32, so the naive kernel must match bit for bit.
    func testExactCasesAreBitExact() throws {
        var rng = TestRNG(seed: 24)
        var shapes = Self.geometries(seed: 25, random: 16)
        shapes.append(TestShape(c: 32, h: 5, w: 5, co: 2, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 4, bias: true))   // R = 288
        var nonzero = 0
        for s in shapes {
            XCTAssertLessThan(s.cpg * s.kh * s.kw + 1, 4096)
            let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 64, denominator: 64) },
                                tap: { _, _, _, _, _, _ in
                                    (rng.dyadic(limit: 3, denominator: 4), rng.dyadic(limit: 3, denominator: 4), rng.dyadic(limit: 2, denominator: 4))
                                })
            let weights = data.weight.map { max(-4, min(4, $0)) }
            let exactData = TestData(shape: s, x: data.x, weight: weights, offsets: data.offsets, bias: data.bias)
            let p = try s.problem()
            let exact = reference.evaluate(p, exactData.double)
            let got = naive.run(p, exactData.float)
            for index in exact.y.indices {
                let y = Float(exact.y[index])
                XCTAssertEqual(Double(y), exact.y[index], "the exact answer must itself be a Float32")
                XCTAssertEqual(got[index].bitPattern, y.bitPattern, "\(s) element \(index): naive \(got[index]) exact \(y)")
                if y != 0 { nonzero += 1 }
            }
        }
        XCTAssertGreaterThan(nonzero, 1000)
    }

    func testFloat16WithinOneUlpOfTheRoundedExactResult() throws {
        var rng = TestRNG(seed: 26)
        var wellConditioned = 0, total = 0
        for s in Self.geometries(seed: 27, random: 12) {
            let data = TestData(shape: s, value: { rng.float16Value(-1...1) },
                                tap: { _, _, _, _, _, _ in (rng.float16Value(-3...3), rng.float16Value(-3...3), rng.float16Value(-1...1.5)) })
            let p = try s.problem(dtype: .float16)
            XCTAssertEqual(p.dtype, .float16)
            // the true result: the formula on the Float16 numbers, exactly (Float64), rounded once
            let exact = reference.evaluate(p, data.half.map { Double($0) })
            let got = naive.run(p, data.half)
            for index in exact.y.indices {
                let y = exact.y[index]
                let rounded = Float16(y)
                let u = 0x1p-24, r = Double(s.cpg * s.kh * s.kw + 1)
                // what the Float32 arithmetic may cost before the final rounding (SPEC section 3 without ½ulp)
                let float32Error = gamma(r + 8, u) * exact.yAbs[index] + 8 * u * exact.yAbs[index] + 2 * u * exact.yPos[index]
                total += 1
                if float32Error <= 0.5 * Double(rounded.ulp) {
                    // within ½ ulp before rounding, so within one Float16 ulp after
                    wellConditioned += 1
                    XCTAssertTrue([rounded.nextDown, rounded, rounded.nextUp].contains(got[index]),
                                  "\(s) element \(index): naive \(got[index]), Float16(exact) \(rounded), exact \(y)")
                } else {
                    // heavy cancellation: the SPEC bound with ulp_out the Float16 ulp
                    let bound = float32Error + 0.5 * Double(Float16(abs(y)).ulp) + 0.5 * Double(abs(got[index]).ulp)
                    XCTAssertLessThanOrEqual(abs(Double(got[index]) - y), bound, "\(s) element \(index)")
                }
            }
        }
        XCTAssertGreaterThan(Double(wellConditioned), 0.9 * Double(total), "too few elements checked to one ulp")
    }

    func testFloat16ExactCaseIsCorrectlyRounded() throws {
        // Exact-case inputs are Float16 numbers too, and the Float32 result is exact: the
        // naive kernel's only rounding is the final one, so it must equal Float16(exact).
        var rng = TestRNG(seed: 28)
        for s in ReferenceTests.geometries {
            let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { rng.dyadic(limit: 8, denominator: 64) },
                                tap: { _, _, _, _, _, _ in
                                    (rng.dyadic(limit: 2, denominator: 4), rng.dyadic(limit: 2, denominator: 4), rng.dyadic(limit: 2, denominator: 4))
                                })
            let weights = data.weight.map { max(-4, min(4, $0)) }
            let exactData = TestData(shape: s, x: data.x, weight: weights, offsets: data.offsets, bias: data.bias)
            let p = try s.problem(dtype: .float16)
            let exact = reference.evaluate(p, exactData.double)
            XCTAssertEqual(naive.run(p, exactData.half), exact.y.map { Float16($0) }, "\(s)")
        }
    }

    func testBoundaryPositionsMatchTheReference() throws {
        // Integer and half-integer positions exactly on −1, H − 1, H and beyond, for every pixel.
        let s = TestShape(c: 2, h: 4, w: 5, co: 2, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2, bias: true)
        let steps = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4, 5]
        var rng = TestRNG(seed: 29)
        let data = TestData(shape: s, value: { Double(rng.int(-8...8)) }, biasValue: { 0.5 },
                            tap: { _, _, _, _, _, _ in (steps.randomElement(using: &rng)!, steps.randomElement(using: &rng)!, 1) })
        let p = try s.problem()
        XCTAssertEqual(naive.run(p, data.float), reference.evaluate(p, data.double).y.map { Float($0) })
    }
}
