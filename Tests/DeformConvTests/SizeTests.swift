import DeformConv
import XCTest

/// Valid calls: output size (SPEC section 1), reduction length, FLOPs (SPEC section 5).
final class OutputSizeTests: XCTestCase {
    /// Shapes with Ho, Wo worked out by hand from
    /// Ho = floor((H + pt + pb − (dh·(kh−1) + 1)) / sh) + 1, Wo likewise.
    let cases: [(shape: TestShape, ho: Int, wo: Int)] = [
        // 5×5, 3×3, no padding: 5 − 3 + 1
        (TestShape(h: 5, w: 5, kh: 3, kw: 3), 3, 3),
        // stride 2, padding 1: floor((7 + 2 − 3) / 2) + 1 = 4
        (TestShape(h: 7, w: 7, kh: 3, kw: 3, sh: 2, sw: 2, pt: 1, pb: 1, pl: 1, pr: 1), 4, 4),
        // dilation: extents 2·2+1 = 5 and 3·2+1 = 7: 9 − 5 + 1 = 5, 10 − 7 + 1 = 4
        (TestShape(h: 9, w: 10, kh: 3, kw: 3, dh: 2, dw: 3), 5, 4),
        // asymmetric padding: 6 + 2 + 0 − 2 + 1 = 7, 5 + 0 + 3 − 3 + 1 = 6
        (TestShape(h: 6, w: 5, kh: 2, kw: 3, pt: 2, pb: 0, pl: 0, pr: 3), 7, 6),
        // non-square everything: floor((6 − 1) / 3) + 1 = 2; extent 3·3+1 = 10: floor(1 / 2) + 1 = 1
        (TestShape(h: 6, w: 11, kh: 1, kw: 4, sh: 3, sw: 2, dh: 1, dw: 3), 2, 1),
        // stride not dividing: floor(5 / 3) + 1 = 2; floor((8 + 1 + 2 − 1) / 4) + 1 = 3
        (TestShape(h: 8, w: 8, kh: 3, kw: 1, sh: 3, sw: 4, pl: 1, pr: 2), 2, 3),
        // 1×1 input, 3×3 kernel, padding 1: 1
        (TestShape(h: 1, w: 1, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1), 1, 1),
        // padding only on one side: floor((4 + 3 − 3) / 2) + 1 = 3; floor((4 + 0 − 3) / 2) + 1 = 1
        (TestShape(h: 4, w: 4, kh: 3, kw: 3, sh: 2, sw: 2, pt: 0, pb: 3), 3, 1),
        // dilation and stride together: extent 2·2+1 = 5; floor((12 + 1 + 1 − 5) / 2) + 1 = 5
        (TestShape(h: 12, w: 3, kh: 3, kw: 1, sh: 2, sw: 1, pt: 1, pb: 1, dh: 2, dw: 5), 5, 3),
        // padding larger than the kernel: 2 + 4 + 4 − 1 + 1 = 10
        (TestShape(h: 2, w: 2, kh: 1, kw: 1, pt: 4, pb: 4, pl: 0, pr: 0), 10, 2),
    ]

    func testOutputSizeMatchesTheSpecFormula() throws {
        for (shape, ho, wo) in cases {
            XCTAssertEqual(shape.ho, ho, "test's own formula disagrees with the hand value for \(shape)")
            XCTAssertEqual(shape.wo, wo, "test's own formula disagrees with the hand value for \(shape)")
            let p = try shape.problem()
            XCTAssertEqual(p.outputHeight, ho, "\(shape)")
            XCTAssertEqual(p.outputWidth, wo, "\(shape)")
            XCTAssertEqual(p.outputShape, [shape.n, shape.co, ho, wo])
        }
    }

    func testReductionLengthAndFlops() throws {
        // N 3, C 6, groups 3, Co 9, kernel 2×3, 5×6 input: Ho 4, Wo 4.
        // R = (6/3)·2·3 = 12; FLOPs = 2·3·9·12·4·4 = 10368
        let s = TestShape(n: 3, c: 6, h: 5, w: 6, co: 9, kh: 2, kw: 3, groups: 3, dg: 1, bias: true)
        let p = try s.problem()
        XCTAssertEqual(p.outputHeight, 4)
        XCTAssertEqual(p.outputWidth, 4)
        XCTAssertEqual(p.reductionLength, 12)
        XCTAssertEqual(p.flops, 10368)
        XCTAssertEqual(p.offsetTaps, 6)
        XCTAssertEqual(p.channelsPerGroup, 2)
        XCTAssertEqual(p.outputChannelsPerGroup, 3)
    }

    func testFlopsOnManyShapes() throws {
        var rng = TestRNG(seed: 11)
        for _ in 0..<40 {
            let s = TestShape.random(&rng)
            let p = try s.problem()
            let expected = 2.0 * Double(s.n) * Double(s.co) * Double(s.c / s.groups) * Double(s.kh) * Double(s.kw) * Double(s.ho) * Double(s.wo)
            XCTAssertEqual(p.flops, expected, "\(s)")
            XCTAssertEqual(p.reductionLength, (s.c / s.groups) * s.kh * s.kw, "\(s)")
            XCTAssertEqual(p.offsetTaps, s.dg * s.kh * s.kw)
            XCTAssertEqual([p.outputHeight, p.outputWidth], [s.ho, s.wo], "\(s)")
        }
    }

    func testDeformableGroupsIndependentOfGroups() throws {
        // C 6, groups 3 (2 channels each), dg 2 (3 channels each): valid.
        let s = TestShape(c: 6, h: 4, w: 4, co: 3, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 3, dg: 2)
        let p = try s.problem()
        XCTAssertEqual(p.channelsPerDeformableGroup, 3)
        XCTAssertEqual(p.offsetsCount, 1 * 3 * 18 * 4 * 4)
    }
}

/// too_large: element counts or byte sizes that overflow, or exceed the configured limit.
final class ResourceLimitTests: XCTestCase {
    func testDefaultLimitIsFourGiB() {
        XCTAssertEqual(ResourceLimits.standard.maxWorkingBytes, 4 * 1024 * 1024 * 1024)
        XCTAssertEqual(ResourceLimits().maxWorkingBytes, 1 << 32)
    }

    func testHugeProblemExceedsTheDefaultLimit() {
        // 16384×16384 output: its float64 copy alone is 2 GiB, and the harness keeps
        // the inputs, output, reference and two magnitudes: far over 4 GiB.
        let s = TestShape(h: 16384, w: 16384)
        assertRejects(s.arguments(), .tooLarge)
        let wide = TestShape(n: 32, c: 64, h: 256, w: 256, co: 64, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1)
        assertRejects(wide.arguments(), .tooLarge)
    }

    func testModerateProblemFitsTheDefaultLimit() throws {
        // r50-like layer: well under 4 GiB
        let s = TestShape(c: 128, h: 64, w: 64, co: 128, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1)
        XCTAssertEqual(try s.problem().outputHeight, 64)
    }

    func testWorkingBytesFormulaAndLimitBoundary() throws {
        // Base call: x 2·4·7·6 = 336, weight 6·2·3·2 = 72, offsets 2·36·3·7 = 1512,
        // bias 6, output 2·6·3·7 = 252. Documented working memory:
        // 8·(336 + 72 + 1512 + 6) + 32·252 = 15408 + 8064 = 23472 bytes.
        let p = try DeformConvProblem(validating: baseArguments(), limits: ResourceLimits(maxWorkingBytes: 23472))
        XCTAssertEqual(p.workingBytes, 23472)
        XCTAssertEqual([p.xCount, p.weightCount, p.offsetsCount, p.outputCount], [336, 72, 1512, 252])
        let e = assertRejects(baseArguments(), limits: ResourceLimits(maxWorkingBytes: 23471), .tooLarge, mentions: ["23472", "23471"])
        XCTAssertNotNil(e)
        assertRejects(baseArguments(), limits: ResourceLimits(maxWorkingBytes: 1000), .tooLarge, mentions: ["23472", "1000"])
        assertRejects(baseArguments(), limits: ResourceLimits(maxWorkingBytes: 0), .tooLarge)
    }

    func testDefaultLimitBoundary() throws {
        // N 1, C 1, Co 1, 1×1 kernel: bytes = 8·(HW + 1 + 3HW + 1) + 32·HW = 64·HW + 16.
        // HW = 2^26 gives 2^32 + 16 > 4 GiB; HW = 2^26 − 2^13 gives 2^32 − 2^19 + 16.
        assertRejects(TestShape(h: 8192, w: 8192).arguments(), .tooLarge)
        XCTAssertEqual(try TestShape(h: 8192, w: 8191).problem().workingBytes, (1 << 32) - (1 << 19) + 16)
    }
}

/// Hostile sizes: every one of them must be an error (or a valid problem), never a trap.
/// Each test runs its body in a child process so that a trap fails only that test.
final class NoTrapTests: XCTestCase {
    /// A 1×1-kernel call with the given x shape and everything else consistent with it.
    func call(x: [Int], co: Int = 1, ho: Int? = nil, wo: Int? = nil, padding: [Int] = [0, 0, 0, 0],
              kernel: [Int] = [1, 1], strides: [Int] = [1, 1, 1, 1], dilations: [Int] = [1, 1, 1, 1]) -> DeformConvArguments {
        DeformConvArguments(
            x: TensorSpec(shape: x, dtype: .float32),
            weight: TensorSpec(shape: [co, x[1], kernel[0], kernel[1]], dtype: .float32),
            offsets: TensorSpec(shape: [x[0], 3 &* kernel[0] &* kernel[1], ho ?? x[2], wo ?? x[3]], dtype: .float32),
            kernelSize: .integers(kernel), strides: .integers(strides), padding: .integers(padding),
            dilations: .integers(dilations))
    }

    func testElementCountOverflowIsTooLarge() {
        runInChildProcess {
            // x and offsets: 2^32·2^32 = 2^64 elements
            assertRejects(call(x: [1, 1, 1 << 32, 1 << 32]), .tooLarge, "2^64 pixels")
            // offsets: 3·Int.max elements (x itself is Int.max elements, which fits)
            assertRejects(call(x: [Int.max, 1, 1, 1]), .tooLarge, "Int.max batch")
            // weight: 2^40·2^40
            assertRejects(call(x: [1, 1 << 40, 1, 1], co: 1 << 40), .tooLarge, "2^80 weights")
            // byte size overflows although every element count fits: 8·(2^61 + ...) > Int.max
            assertRejects(call(x: [1, 1, 1 << 30, 1 << 30], co: 1 << 1), .tooLarge, "bytes overflow")
            assertRejects(call(x: [1, 1, 1 << 59, 1]), .tooLarge, "8·(2^59 + 3·2^59 + 2) bytes")
            // even when the configured limit is Int.max
            assertRejects(call(x: [1, 1, 1 << 32, 1 << 32]), limits: ResourceLimits(maxWorkingBytes: .max), .tooLarge, "limit Int.max")
            assertRejects(call(x: [1, 1, 1 << 61, 1]), limits: ResourceLimits(maxWorkingBytes: .max), .tooLarge, "8·2^61 bytes")
        }
    }

    func testIntMaxPaddingIsTooLarge() {
        runInChildProcess {
            // Ho = 5 + Int.max − 1 + 1 does not fit in Int.
            assertRejects(call(x: [1, 1, 5, 5], padding: [Int.max, 0, 0, 0]), .tooLarge, "pt = Int.max")
            assertRejects(call(x: [1, 1, 5, 5], padding: [0, 0, 0, Int.max]), .tooLarge, "pr = Int.max")
            assertRejects(call(x: [1, 1, 5, 5], padding: [Int.max, Int.max, Int.max, Int.max]), .tooLarge, "all Int.max")
            assertRejects(call(x: [1, 1, Int.max, 5], padding: [1, 0, 0, 0]), .tooLarge, "H = Int.max, pt 1")
        }
    }

    func testHugeKernelGivesEmptyOutput() {
        runInChildProcess {
            // kernel Int.max on a 1-pixel image: extent Int.max, Ho = 1 − Int.max + 1 < 1
            let a = call(x: [1, 1, 1, 1], ho: 1, kernel: [Int.max, 1])
            assertRejects(a, .emptyOutput, "kh = Int.max")
        }
    }

    func testHugeStrideDoesNotTrap() {
        runInChildProcess {
            // 1×1 image, 3×3 kernel, sh = Int.max: Ho = floor(−2 / Int.max) + 1 = 0 → empty_output.
            let a = call(x: [1, 1, 1, 1], ho: 0, wo: 0, kernel: [3, 3], strides: [1, 1, Int.max, 1])
            assertRejects(a, .emptyOutput, "sh = Int.max")
        }
    }

    func testHugeDilationDoesNotTrap() {
        runInChildProcess {
            // dh = 2^62 − 1, kh 3: extent dh·2 + 1 = Int.max (fits). With sh = 3:
            // Ho = floor((1 − Int.max) / 3) + 1 < 1 → empty_output.
            let dh = (1 << 62) - 1
            let a = call(x: [1, 1, 1, 1], ho: 0, wo: 1, kernel: [3, 1], strides: [1, 1, 3, 1], dilations: [1, 1, dh, 1])
            assertRejects(a, .emptyOutput, "dh = 2^62 − 1, sh = 3")
        }
    }

    func testIntMaxDilationIsRejected() {
        runInChildProcess {
            // dh·(kh − 1) + 1 = Int.max + 1: empty output by the formula; an overflow
            // report is acceptable too. It must not trap.
            let a = call(x: [1, 1, 1, 1], ho: 0, kernel: [2, 1], dilations: [1, 1, Int.max, 1])
            do throws(DeformConvError) {
                _ = try DeformConvProblem(validating: a)
                XCTFail("accepted")
            } catch {
                XCTAssertTrue([.emptyOutput, .tooLarge].contains(error.code), "\(error)")
            }
        }
    }

    func testMostNegativeInputHeightDoesNotTrap() {
        runInChildProcess {
            // H = Int.min + 1 (a corrupt shape): Ho = Int.min + 1 < 1 → empty_output.
            let a = call(x: [1, 1, Int.min + 1, 1], ho: 1, wo: 1)
            assertRejects(a, .emptyOutput, "H = Int.min + 1")
        }
    }

    func testPaddingThatCancelsAHugeKernelIsValid() {
        runInChildProcess {
            // pt = Int.max, dh = 2^62 − 1, kh = 3 (extent Int.max), H = 1:
            // Ho = floor((1 + Int.max + 0 − Int.max) / 1) + 1 = 2, Wo = 1. Every element count
            // and byte size is tiny, so SPEC section 2 has no rule this call breaks;
            // H + pt alone exceeds Int.max, but that is not an element count or a byte size.
            let dh = (1 << 62) - 1
            let a = call(x: [1, 1, 1, 1], ho: 2, wo: 1, padding: [Int.max, 0, 0, 0], kernel: [3, 1], dilations: [1, 1, dh, 1])
            do {
                let p = try DeformConvProblem(validating: a)
                XCTAssertEqual(p.outputHeight, 2)
                XCTAssertEqual(p.outputWidth, 1)
            } catch {
                XCTFail("valid call rejected: \(error)")
            }
        }
    }

    func testHugeValidProblemUnderIntMaxLimitHasExactDerivedSizes() {
        runInChildProcess {
            // N 2^20, 1024×1024, 1×1 kernel: 2^40 output elements,
            // 8·(2^40 + 1 + 3·2^40 + 1) + 32·2^40 = 64·2^40 + 16 bytes.
            let a = call(x: [1 << 20, 1, 1024, 1024])
            do {
                let p = try DeformConvProblem(validating: a, limits: ResourceLimits(maxWorkingBytes: .max))
                XCTAssertEqual(p.outputCount, 1 << 40)
                XCTAssertEqual(p.flops, 2 * 0x1p40)
                XCTAssertEqual(p.workingBytes, 64 * (1 << 40) + 16)
            } catch {
                XCTFail("valid call rejected: \(error)")
            }
            assertRejects(a, .tooLarge, "default limit")
        }
    }

    func testOverflowMessageNamesTheTensor() {
        runInChildProcess {
            // SPEC section 2: every error names the argument. x has 2^64 elements here.
            let e = assertRejects(call(x: [1, 1, 1 << 32, 1 << 32]), .tooLarge)
            if let e {
                XCTAssertTrue(containsToken(e.message, "x") || containsToken(e.message, "offsets"),
                              "too_large message does not name the tensor whose size overflows: \(e.message)")
            }
        }
    }
}

/// A negative image size is not a valid call, even when padding makes Ho positive.
final class NegativeSizeTests: XCTestCase {
    func testNegativeInputHeightIsRejected() {
        // x (1, 1, −2, 4), padding 3 + 3, 1×1 kernel: Ho = −2 + 6 − 1 + 1 = 4.
        let a = DeformConvArguments(
            x: TensorSpec(shape: [1, 1, -2, 4], dtype: .float32),
            weight: TensorSpec(shape: [1, 1, 1, 1], dtype: .float32),
            offsets: TensorSpec(shape: [1, 3, 4, 4], dtype: .float32),
            kernelSize: .integers([1, 1]), strides: .integers([1, 1, 1, 1]), padding: .integers([3, 3, 0, 0]))
        do {
            let p = try DeformConvProblem(validating: a)
            XCTFail("x with height −2 accepted as a problem with height \(p.height), xCount \(p.xCount), workingBytes \(p.workingBytes)")
        } catch {
            // any code will do; the SPEC has no dedicated row
        }
    }
}
