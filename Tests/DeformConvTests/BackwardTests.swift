import DeformConv
import XCTest

/// The backward pass of SPEC section 7: the Float64 reference against an independent
/// evaluation, finite differences and a case worked by hand; the naive kernel against the
/// reference within the bound, bit for bit on exact cases; planted faults caught.
final class BackwardTests: XCTestCase {
    let reference = ReferenceKernel()
    let naive = NaiveKernel()

    /// Fixed geometries covering stride, dilation, asymmetric padding, groups, deformable
    /// groups, batch and bias, then random ones.
    static func geometries(seed: UInt64, random count: Int) -> [TestShape] {
        let fixed = [
            TestShape(n: 2, c: 4, h: 5, w: 6, co: 4, kh: 3, kw: 2, sh: 2, sw: 1, pt: 1, pb: 0, pl: 2, pr: 1, dh: 1, dw: 2, groups: 2, dg: 2, bias: true),
            TestShape(c: 3, h: 4, w: 4, co: 2, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1),
            TestShape(c: 6, h: 4, w: 5, co: 6, kh: 2, kw: 2, sh: 1, sw: 2, dh: 2, dw: 1, groups: 3, dg: 3, bias: true),
            TestShape(n: 3, c: 2, h: 3, w: 3, co: 3, kh: 1, kw: 1, dg: 2, bias: true),
        ]
        return fixed + TestShape.random(seed: seed, count: count)
    }

    // MARK: Protocol

    func testFP16AccAloneHasNoBackwardPass() throws {
        XCTAssertEqual(KernelPass.allCases.map(\.rawValue), ["forward", "backward"])
        XCTAssertEqual(reference.passes, [.forward, .backward])
        XCTAssertEqual(naive.passes, [.forward, .backward])
        XCTAssertEqual(SimdKernel().passes, [.forward, .backward])
        XCTAssertEqual(ThreadedKernel().passes, [.forward, .backward])
        let s = TestShape(c: 2, h: 3, w: 3, co: 2, kh: 2, kw: 2)
        var rng = TestRNG(seed: 70)
        let data = backwardData(s, &rng, offsets: .mixed(range: 1))
        let gy = backwardGy(s, &rng)
        for kernel in [FP16AccKernel()] as [any DeformConvKernel] {
            XCTAssertEqual(kernel.passes, [.forward], kernel.name)
            XCTAssertNil(kernel.backward(try s.problem(), data.float, gy: gy.map { Float($0) }), kernel.name)
            XCTAssertNil(kernel.backward(try s.problem(dtype: .float16), data.half, gy: gy.map { Float16($0) }), kernel.name)
        }
        XCTAssertNotNil(naive.backward(try s.problem(), data.float, gy: gy.map { Float($0) }))
        XCTAssertNotNil(reference.backward(try s.problem(dtype: .float16), data.half, gy: gy.map { Float16($0) }))
    }

    // MARK: Validation

    func testGradientOfTheWrongShapeIsGradShape() throws {
        // baseArguments(): output (N, Co, Ho, Wo) = (2, 6, 3, 7).
        let p = try DeformConvProblem(validating: baseArguments())
        XCTAssertNoThrow(try p.validateGradient(TensorSpec(shape: [2, 6, 3, 7], dtype: .float32)))
        for shape in [[2, 6, 3, 6], [1, 6, 3, 7], [2, 5, 3, 7], [2, 6, 4, 7], [2, 6, 21], [2, 6, 3, 7, 1]] {
            do throws(DeformConvError) {
                try p.validateGradient(TensorSpec(shape: shape, dtype: .float32))
                XCTFail("gy of shape \(shape) accepted")
            } catch {
                XCTAssertEqual(error.code, .gradShape, "\(shape)")
                XCTAssertEqual(error.exceptionClass, .valueError)
                XCTAssertEqual(error.exceptionClass.rawValue, specClass(of: .gradShape))
                for token in ["gy", "[2, 6, 3, 7]", "\(shape)"] {
                    XCTAssertTrue(containsToken(error.message, token), "'\(token)' not in: \(error.message)")
                }
            }
        }
    }

    func testGradientOfAnotherDtypeIsDtypeMismatchBeforeItsShape() throws {
        let p = try DeformConvProblem(validating: baseArguments())
        for (dtype, shape) in [(DataType.float16, [2, 6, 3, 7]), (.float64, [2, 6, 3, 7]), (.integer(bits: 32, signed: true), [1, 1])] {
            do throws(DeformConvError) {
                try p.validateGradient(TensorSpec(shape: shape, dtype: dtype))
                XCTFail("gy of dtype \(dtype) accepted")
            } catch {
                XCTAssertEqual(error.code, .dtypeMismatch, "\(dtype) \(shape)")
                XCTAssertEqual(error.exceptionClass, .typeError)
                for token in ["gy", "float32", "\(dtype)"] {
                    XCTAssertTrue(containsToken(error.message, token), "'\(token)' not in: \(error.message)")
                }
            }
        }
        XCTAssertEqual(ErrorCode.allCases.last, .gradShape, "grad_shape is the last row of SPEC section 2's table")
        XCTAssertEqual(ErrorCode.forwardCases, Array(ErrorCode.allCases.dropLast()))
    }

    // MARK: Reference

    func testReferenceMatchesAnIndependentChainRuleEvaluation() throws {
        var rng = TestRNG(seed: 71)
        var checked = 0, nonzero = 0
        for s in Self.geometries(seed: 72, random: 6) {
            for style in [OffsetStyle.mixed(range: 1.5), .mixed(range: 5), .exact] {
                let data = backwardData(s, &rng, offsets: style)
                let gy = backwardGy(s, &rng)
                let got = reference.evaluateBackward(try s.problem(), data.double, gy: gy)
                let expected = specBackward(data, gy: gy)
                let tensors: [(String, ReferenceGradient?, [Double]?, [Double]?, [Int]?)] = [
                    ("gx", got.gx, expected.values.gx, expected.abs.gx, expected.gxSamples.map { $0 + s.copg }),
                    ("gweight", got.gweight, expected.values.gweight, expected.abs.gweight, Array(repeating: s.n * s.ho * s.wo, count: s.weightCount)),
                    ("goffsets", got.goffsets, expected.values.goffsets, expected.abs.goffsets, Array(repeating: s.copg + s.cpdg, count: s.offsetsCount)),
                    ("gbias", got.gbias, expected.values.gbias, expected.abs.gbias, s.bias ? Array(repeating: s.n * s.ho * s.wo, count: s.co) : nil),
                ]
                for (name, r, value, abs, length) in tensors {
                    guard let r, let value, let abs, let length else {
                        XCTAssertTrue(r == nil && value == nil, "\(name) present in one evaluation only, \(s)")
                        continue
                    }
                    XCTAssertEqual(r.value.count, value.count, "\(name) \(s)")
                    XCTAssertEqual(r.reductionLength, length, "\(name) L, \(s)")
                    for index in value.indices {
                        let tolerance = 1e-13 * abs[index]
                        XCTAssertLessThanOrEqual(Swift.abs(r.value[index] - value[index]), tolerance, "\(name)[\(index)] \(s)")
                        XCTAssertLessThanOrEqual(Swift.abs(r.abs[index] - abs[index]), 1e-13 * abs[index], "\(name)_abs[\(index)] \(s)")
                        XCTAssertGreaterThanOrEqual(r.pos[index], 0)
                        XCTAssertGreaterThanOrEqual(r.jump[index], 0)
                        if name != "goffsets" { XCTAssertEqual(r.jump[index], 0, "\(name) has no jump") }
                        checked += 1
                        if value[index] != 0 { nonzero += 1 }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 5_000)
        XCTAssertGreaterThan(nonzero, checked / 3, "mostly zero gradients test little")
    }

    func testReferenceMatchesFiniteDifferencesOfTheForwardReference() throws {
        // L = Σ gy·y is linear in x, weight, bias and the masks, and linear in each position
        // within a cell: with every position's fraction in [0.1, 0.9] and h = 2⁻¹⁰, the central
        // difference is exact up to Float64 rounding.
        var rng = TestRNG(seed: 73)
        let shapes = [
            TestShape(n: 2, c: 2, h: 4, w: 4, co: 2, kh: 2, kw: 2, pt: 1, pb: 0, pl: 0, pr: 1, dg: 2, bias: true),
            TestShape(c: 4, h: 3, w: 5, co: 2, kh: 2, kw: 3, sh: 2, sw: 1, pt: 1, pb: 1, pl: 1, pr: 1, dh: 1, dw: 2, groups: 2, bias: true),
        ]
        let h = 0x1p-10
        for s in shapes {
            let p = try s.problem()
            let data = backwardData(s, &rng, offsets: .awayFromEdges)
            let gy = backwardGy(s, &rng)
            let got = reference.evaluateBackward(p, data.double, gy: gy)
            func loss(_ inputs: DeformConvInputs<Double>) -> Double {
                zip(reference.evaluate(p, inputs).y, gy).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let tensors: [(String, WritableKeyPath<DeformConvInputs<Double>, [Double]>, ReferenceGradient)] = [
                ("gx", \.x, got.gx), ("gweight", \.weight, got.gweight), ("goffsets", \.offsets, got.goffsets),
            ]
            var all = tensors.map { ($0.0, $0.2, $0.1 as WritableKeyPath<DeformConvInputs<Double>, [Double]>?) }
            all.append(("gbias", got.gbias!, nil))
            for (name, gradient, path) in all {
                for index in gradient.value.indices {
                    var up = data.double, down = data.double
                    if let path {
                        up[keyPath: path][index] += h
                        down[keyPath: path][index] -= h
                    } else {
                        up.bias![index] += h
                        down.bias![index] -= h
                    }
                    let difference = (loss(up) - loss(down)) / (2 * h)
                    XCTAssertEqual(gradient.value[index], difference, accuracy: 1e-9 * (gradient.abs[index] + 1), "\(name)[\(index)] \(s)")
                }
                XCTAssertTrue(gradient.value.contains { $0 != 0 }, "\(name) all zero: the check tests nothing")
            }
        }
    }

    /// A 1-channel 2×2 image x = [[1, 2], [4, 8]], 1×1 kernel, weight 2, bias 0.5, Ho = Wo = 2,
    /// gy = [1, 3, 2, −1], masks [1, 2, 0.5, −1], so t = gy·w = [2, 6, 4, −2]. Positions (py, px):
    /// - (0, 0): integers. Cell (0, 0), ly = lx = 0: B = 1; from the right ∂B/∂py = v10 − v00 = 3
    ///   (from the left it would be v00 − 0 = 1), ∂B/∂px = v01 − v00 = 1. gx[0,0] += t·m = 2.
    /// - (−1, 1): on the line py = −1. B = 0, so no gx, mask or gweight term, but from the
    ///   right ∂B/∂py = v(0,1) − v(−1,1) = 2 (mmcv: 0); ∂B/∂px = 0 (row −1 is zero).
    /// - (0.5, 0.25): ω = [0.375, 0.125, 0.375, 0.125], B = 0.375 + 0.25 + 1.5 + 1 = 3.125,
    ///   ∂B/∂py = 0.75·3 + 0.25·6 = 3.75, ∂B/∂px = 0.5·1 + 0.5·4 = 2.5; t·m = 2 scatters
    ///   [0.75, 0.25, 0.75, 0.25].
    /// - (1, 1.5): row H − 1, cell (1, 1), ly = 0, lx = 0.5: only v00 = 8 is inside. B = 4,
    ///   ∂B/∂py = 0.5·(0 − 8) = −4, ∂B/∂px = 0 − 8 = −8; t·m = 2 gives gx[1,1] += 2·0.5.
    /// gx offsets block = t·m·∂B/∂px = [2, 0, 5, −16]; y block t·m·∂B/∂py = [6, 24, 7.5, −8];
    /// mask block t·B = [2, 0, 12.5, −8]; gweight = Σ gy·m·B = 1 + 0 + 3.125 + 4 = 8.125;
    /// gbias = Σ gy = 5; gx = [2 + 0.75, 0.25, 0.75, 0.25 + 1].
    func handWorkedCase() -> (TestShape, TestData, [Double]) {
        let s = TestShape(h: 2, w: 2, bias: true)
        let taps: [(dy: Double, dx: Double, m: Double)] = [(0, 0, 1), (-1, 0, 2), (-0.5, 0.25, 0.5), (0, 0.5, -1)]
        let offsets = makeOffsets(s) { _, _, _, _, oh, ow in taps[oh * 2 + ow] }
        return (s, TestData(shape: s, x: [1, 2, 4, 8], weight: [2], offsets: offsets, bias: [0.5]), [1, 3, 2, -1])
    }

    func testHandWorkedIntegerAndMinusOnePositions() throws {
        let (s, data, gy) = handWorkedCase()
        let got = reference.evaluateBackward(try s.problem(), data.double, gy: gy, samplingUnitRoundoff: 0x1p-24)
        XCTAssertEqual(got.gx.value, [2.75, 0.25, 0.75, 1.25])
        XCTAssertEqual(got.goffsets.value, [2, 0, 5, -16, 6, 24, 7.5, -8, 2, 0, 12.5, -8])
        XCTAssertEqual(got.gweight.value, [8.125])
        XCTAssertEqual(got.gbias?.value, [5])
        // L: Co/groups = 1 plus the samples whose cell has the element as a corner
        // (the first sample's cell has all four, the third's too, the fourth's only (1, 1)).
        XCTAssertEqual(got.gx.reductionLength, [3, 3, 3, 4])
        XCTAssertEqual(got.goffsets.reductionLength, Array(repeating: 2, count: 12))
        XCTAssertEqual(got.gweight.reductionLength, [4])
        XCTAssertEqual(got.gbias?.reductionLength, [4])
        // abs of the first y-offset term: |t|·|m|·(1 − lx)·(|v10| + |v00|) = 2·1·5.
        XCTAssertEqual(got.goffsets.abs[4], 10)
        // pos of the third sample (no position near an integer): offsets |t|·|m|·Σ|v|·(|p| + 1)
        // = 2·15·1.25 (y block, varies with px) and 2·15·1.5 (x block); mask
        // |t|·(dyAbs·(|py| + 1) + dxAbs·(|px| + 1)) = 4·(6.25·1.5 + 7.5·1.25) = 75.
        XCTAssertEqual(got.goffsets.pos[6], 37.5)
        XCTAssertEqual(got.goffsets.pos[2], 45)
        XCTAssertEqual(got.goffsets.pos[10], 75)
        // The second sample sits on integers in both axes, so pos takes the larger of the cells
        // meeting there: Σ|v| is 3 in cell (−1, 0) against 2 in its own (−1, 1): 6·2·3·(1 + 1).
        XCTAssertEqual(got.goffsets.pos[5], 72)
        // Every position is exact, so nothing can jump.
        XCTAssertEqual(got.goffsets.jump, Array(repeating: 0, count: 12))
    }

    /// SPEC section 7's other conventions on the hand-worked case, by hand. Only the y-offset
    /// block changes there: its integer positions are py = 0, −1 and 1 (pixels 0, 1, 3), while at
    /// px = 0 and 1 the two x-derivatives agree (v01 − v00 = v00 − 0 = 1, and row −1 is zero).
    /// t·m = [2, 12, 2, 2]; ∂B/∂py per cell: pixel 0 (column 0): cell 0 gives 4 − 1 = 3, cell −1
    /// gives 1 − 0 = 1; pixel 1 (column 1): cell −1 gives 2, cell −2 gives 0; pixel 3 (lx = 0.5
    /// between columns 1 and 2): cell 1 gives 0.5·(0 − 8) = −4, cell 0 gives 0.5·(8 − 2) = 3.
    /// - from the left: [2·1, 12·0, 7.5, 2·3] = [2, 0, 7.5, 6];
    /// - central: [2·2, 12·1, 7.5, 2·(−0.5)] = [4, 12, 7.5, −1];
    /// - mmcv: from the right but zero at py = −1: [6, 0, 7.5, −8].
    func testOtherConventionsByHandAtIntegerPositionsAndMinusOne() throws {
        let (s, data, gy) = handWorkedCase()
        let right = reference.evaluateBackward(try s.problem(), data.double, gy: gy)
        let expected: [DerivativeConvention: [Double]] = [
            .fromTheRight: [6, 24, 7.5, -8], .fromTheLeft: [2, 0, 7.5, 6], .central: [4, 12, 7.5, -1], .zeroAtMinusOne: [6, 0, 7.5, -8],
        ]
        for convention in DerivativeConvention.allCases {
            let got = reference.evaluateBackward(try s.problem(), data.double, gy: gy, convention: convention)
            XCTAssertEqual(Array(got.goffsets.value[4..<8]), expected[convention], "\(convention)")
            XCTAssertEqual(Array(got.goffsets.value[0..<4]), [2, 0, 5, -16], "\(convention): the x block")
            XCTAssertEqual(Array(got.goffsets.value[8..<12]), [2, 0, 12.5, -8], "\(convention): the mask block")
            XCTAssertEqual(got.gx.value, right.gx.value, "\(convention)")
            XCTAssertEqual(got.gweight.value, right.gweight.value, "\(convention)")
            // Where the conventions can differ: px = 0, 1 (x block), py = 0, −1, 1 (y block).
            XCTAssertEqual(got.integerPositions, [true, true, false, false, true, true, false, true] + Array(repeating: false, count: 4))
        }
        // abs follows the cells read: central at pixel 1 weighs cell −1 (|v(0,1)| = 2) by ½, cell −2 (0) by ½.
        let central = reference.evaluateBackward(try s.problem(), data.double, gy: gy, convention: .central)
        XCTAssertEqual(central.goffsets.abs[5], 12 * 1)
        XCTAssertEqual(right.goffsets.abs[5], 12 * 2)

        // The x axis the same way: the transposed problem (x and every tap's dy, dx swapped, pixels
        // transposed) has the y block above as its x block.
        let taps: [(dy: Double, dx: Double, m: Double)] = [(0, 0, 1), (0, -1, 2), (0.25, -0.5, 0.5), (0.5, 0, -1)]
        let transposed = TestData(shape: s, x: [1, 4, 2, 8], weight: [2],
                                  offsets: makeOffsets(s) { _, _, _, _, oh, ow in taps[ow * 2 + oh] }, bias: [0.5])
        for convention in DerivativeConvention.allCases {
            let got = reference.evaluateBackward(try s.problem(), transposed.double, gy: [1, 2, 3, -1], convention: convention)
            let block = expected[convention]!
            XCTAssertEqual(Array(got.goffsets.value[0..<4]), [block[0], block[2], block[1], block[3]], "\(convention)")
        }
    }

    /// At py = H exactly B's window is closed and the derivative from the right sees rows H and
    /// H + 1, outside; from the left it sees rows H − 1 and H: x = [[1, 2], [4, 8]], py = 2,
    /// px = 0.5, t·m = 1: 0.5·(0 − 4) + 0.5·(0 − 8) = −6 from the left, −3 central, 0 otherwise.
    func testFromTheLeftSeesTheLastRowAtH() throws {
        let s = TestShape(h: 2, w: 2)
        let data = TestData(shape: s, x: [1, 2, 4, 8], weight: [1],
                            offsets: makeOffsets(s) { _, _, _, _, oh, ow in oh == 0 && ow == 0 ? (2, 0.5, 1) : (0, 0, 1) }, bias: nil)
        let expected: [DerivativeConvention: Double] = [.fromTheRight: 0, .fromTheLeft: -6, .central: -3, .zeroAtMinusOne: 0]
        for convention in DerivativeConvention.allCases {
            let got = reference.evaluateBackward(try s.problem(), data.double, gy: [1, 0, 0, 0], convention: convention)
            XCTAssertEqual(got.goffsets.value[4], expected[convention], "\(convention)")
            XCTAssertEqual(got.goffsets.value[0], 0, "\(convention): rows 2 and 3 are outside, so ∂B/∂px is 0")
            XCTAssertEqual(got.goffsets.value[8], 0, "\(convention): B is 0 on the window's edge")
        }
    }

    func testJumpNearAnIntegerDependsOnTheSamplingUnitRoundoff() throws {
        // x = [[1, 2], [4, 8]], weight 1, gy 1 at pixel (0, 0) only, dy = −2⁻³⁰ there: py lies
        // 2⁻³⁰ below 0, within δ = 2·2⁻²⁴·(|py| + 1) of it, but not within Float64's δ. The cell
        // below has ∂B/∂py = v(0,0) − 0 = 1, the cell above v(1,0) − v(0,0) = 3: jump = |1 − 3| = 2.
        // Pixel (0, 1) sits 2⁻³⁰ below −1, outside B's window: no gradient, but a rounded position
        // of −1 sees row 0: jump = |0 − (v(0,1) − 0)| = 2, with gy 1 there too.
        let s = TestShape(h: 2, w: 2)
        let taps: [(dy: Double, dx: Double, m: Double)] = [(-0x1p-30, 0, 1), (-1 - 0x1p-30, 0, 1), (0, 0, 1), (0, 0, 1)]
        let data = TestData(shape: s, x: [1, 2, 4, 8], weight: [1], offsets: makeOffsets(s) { _, _, _, _, oh, ow in taps[oh * 2 + ow] }, bias: nil)
        let gy: [Double] = [1, 1, 0, 0]
        let float32 = reference.evaluateBackward(try s.problem(), data.double, gy: gy, samplingUnitRoundoff: 0x1p-24)
        XCTAssertEqual(float32.goffsets.jump[4], 2)
        XCTAssertEqual(float32.goffsets.jump[5], 2)
        XCTAssertEqual(float32.goffsets.value[5], 0)
        XCTAssertEqual(float32.goffsets.jump.enumerated().filter { $0.offset != 4 && $0.offset != 5 }.map(\.element), Array(repeating: 0, count: 10))
        let float64 = reference.evaluateBackward(try s.problem(), data.double, gy: gy)
        XCTAssertEqual(float64.goffsets.jump, Array(repeating: 0, count: 12))
        XCTAssertEqual(float64.goffsets.value, float32.goffsets.value, "u_s changes the magnitudes only")
    }

    func testReferenceBackwardRoundsTheFloat64Evaluation() throws {
        var rng = TestRNG(seed: 74)
        let s = TestShape(n: 2, c: 2, h: 4, w: 3, co: 2, kh: 2, kw: 2, pt: 1, pb: 1, pl: 0, pr: 1, bias: true)
        let data = backwardData(s, &rng, offsets: .mixed(range: 2))
        let gy = backwardGy(s, &rng)
        let exact = specBackward(data, gy: gy).values
        let float = try XCTUnwrap(reference.backward(try s.problem(), data.float, gy: gy.map { Float($0) }))
        XCTAssertEqual(float.gx, exact.gx.map { Float($0) })
        XCTAssertEqual(float.goffsets, exact.goffsets.map { Float($0) })
        XCTAssertEqual(float.gbias, exact.gbias?.map { Float($0) })
    }

    // MARK: Naive against the reference

    func testNaiveFloat32WithinTheBound() throws {
        try checkNaive(half: false, seed: 75)
    }

    func testNaiveFloat16WithinTheBound() throws {
        try checkNaive(half: true, seed: 76)
    }

    func checkNaive(half: Bool, seed: UInt64) throws {
        var rng = TestRNG(seed: seed)
        var worst = 0.0, checked = 0
        for s in Self.geometries(seed: seed + 100, random: 8) {
            for style in [OffsetStyle.mixed(range: 1.5), .mixed(range: 5)] {
                let data = backwardData(s, &rng, offsets: style, half: half)
                let gy = backwardGy(s, &rng, half: half)
                let p = try s.problem(dtype: half ? .float16 : .float32)
                let exact = reference.evaluateBackward(p, data.double, gy: gy, samplingUnitRoundoff: naive.samplingUnitRoundoff)
                let got = try backwardGradients(naive, p, data, gy: gy, half: half)
                let precision = half ? GradientPrecision.float32ToHalf : .float32
                let comparison = compareGradients(got, exact, s, precision: precision)
                XCTAssertEqual(comparison.failed, [], "\(s)")
                worst = max(worst, comparison.worstRatio)
                checked += comparison.checked
            }
        }
        XCTAssertGreaterThan(checked, 3_000)
        XCTAssertGreaterThan(worst, half ? 0.05 : 1e-3, "no element came near its bound: the comparison is suspicious")
    }

    func testNaiveEqualsTheReferenceBitForBitOnExactCases() throws {
        var rng = TestRNG(seed: 77)
        var onIntegers = 0, atMinusOne = 0, samples = 0
        for s in Self.geometries(seed: 78, random: 8) {
            let data = backwardData(s, &rng, offsets: .exact)
            let gy = backwardGy(s, &rng, exact: true)
            let p = try s.problem()
            let exact = reference.evaluateBackward(p, data.double, gy: gy)
            for tensor in [exact.gx, exact.gweight, exact.goffsets] {
                XCTAssertLessThan(tensor.abs.max() ?? 0, 0x1p18, "not an exact case: \(s)")
            }
            let got = try XCTUnwrap(naive.backward(p, data.float, gy: gy.map { Float($0) }))
            XCTAssertEqual(compareGradients(got.double, exact, s, precision: .float32, exact: true).failed, [], "\(s)")
            // The exact comparison uses bit patterns, so that a −0 for +0 would show too.
            XCTAssertEqual(got.goffsets.map(\.bitPattern), exact.goffsets.value.map { Float($0).bitPattern }, "\(s)")
            XCTAssertEqual(got.gx.map(\.bitPattern), exact.gx.value.map { Float($0).bitPattern }, "\(s)")
            // The draw has what SPEC 7 asks of exact cases: positions on integers and at −1.
            let block = s.taps * s.ho * s.wo
            for n in 0..<s.n {
                for index in 0..<block {
                    let dy = data.offsets[(n * 3 + 1) * block + index]
                    samples += 1
                    if dy == dy.rounded() { onIntegers += 1 }
                    let k = index / (s.ho * s.wo), oh = index / s.wo % s.ho, i = k / s.kw % s.kh
                    if Double(oh * s.sh - s.pt + i * s.dh) + dy == -1 { atMinusOne += 1 }
                }
            }
        }
        XCTAssertGreaterThan(Double(onIntegers), 0.25 * Double(samples))
        XCTAssertGreaterThan(atMinusOne, 20)
    }

    // MARK: Planted faults

    func testPlantedFaultsFailTheCheckWithTheElementNamed() throws {
        var rng = TestRNG(seed: 79)
        let s = TestShape(n: 2, c: 4, h: 5, w: 5, co: 2, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 2, bias: true)
        let data = backwardData(s, &rng, offsets: .exact)
        let gy = backwardGy(s, &rng, exact: true)
        let p = try s.problem()
        let exact = reference.evaluateBackward(p, data.double, gy: gy, samplingUnitRoundoff: naive.samplingUnitRoundoff)
        let good = try XCTUnwrap(naive.backward(p, data.float, gy: gy.map { Float($0) }))
        XCTAssertEqual(compareGradients(good.double, exact, s, precision: .float32, exact: true).failures.count, 0, "the unperturbed gradients pass")

        // One ulp on one element of an exact gradient, in each tensor.
        for (name, path) in [("gx", \DeformConvGradients<Float>.gx), ("gweight", \.gweight), ("goffsets y-offset", \.goffsets)] {
            var bad = good
            let index = name == "goffsets y-offset" ? s.taps * s.ho * s.wo + 3 : 5
            bad[keyPath: path][index] = bad[keyPath: path][index].nextUp
            let failures = compareGradients(bad.double, exact, s, precision: .float32, exact: true).failures
            XCTAssertEqual(failures.map(\.tensor), [name])
            XCTAssertEqual(failures.map(\.index), [index])
        }
        var noBias = good
        noBias.gbias![1] = noBias.gbias![1].nextDown
        XCTAssertEqual(compareGradients(noBias.double, exact, s, precision: .float32, exact: true).failures.map(\.tensor), ["gbias"])

        // Coarser faults fail even the rounding bound, in the tensor they corrupt.
        let expected: [PlantedFault: Set<String>] = [
            .droppedCorner: ["gx"], .leftDerivative: ["goffsets x-offset", "goffsets y-offset"],
            .missingMask: ["gx", "goffsets x-offset", "goffsets y-offset"],
        ]
        for fault in PlantedFault.allCases {
            let planted = specBackward(data, gy: gy, fault: fault).values
            let failures = compareGradients(planted, exact, s, precision: .float32).failures
            XCTAssertEqual(Set(failures.map(\.tensor)), expected[fault] ?? [], "\(fault): \(failures.prefix(3))")
        }
    }
}
