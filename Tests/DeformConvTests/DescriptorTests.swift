import DeformConv
import XCTest

/// SPEC section 5: benchdnn-style problem descriptors.
final class DescriptorTests: XCTestCase {
    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> ProblemDescriptor {
        do {
            return try ProblemDescriptor(parsing: text)
        } catch {
            XCTFail("'\(text)' did not parse: \(error)", file: file, line: line)
            throw error
        }
    }

    func assertParseError(_ text: String, mentions: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        do throws(ProblemDescriptor.ParseError) {
            let d = try ProblemDescriptor(parsing: text)
            XCTFail("'\(text)' parsed as \(d.geometry)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.descriptor, text, file: file, line: line)
            if !text.isEmpty {
                XCTAssertTrue(error.description.contains(text), error.description, file: file, line: line)
            }
            for word in mentions {
                XCTAssertTrue(error.reason.contains(word), "reason does not mention '\(word)': \(error.reason)", file: file, line: line)
            }
        }
    }

    /// A geometry with every field spelled out.
    func geometry(mb: Int = 1, ic: Int, ih: Int, iw: Int, oc: Int, kh: Int, kw: Int, sh: Int = 1, sw: Int = 1,
                  pt: Int = 0, pb: Int = 0, pl: Int = 0, pr: Int = 0, dh: Int = 1, dw: Int = 1, g: Int = 1, dg: Int = 1) -> ConvGeometry {
        var x = ConvGeometry()
        (x.batch, x.channels, x.height, x.width, x.outputChannels) = (mb, ic, ih, iw, oc)
        (x.kernelHeight, x.kernelWidth, x.strideHeight, x.strideWidth) = (kh, kw, sh, sw)
        (x.padTop, x.padBottom, x.padLeft, x.padRight) = (pt, pb, pl, pr)
        (x.dilationHeight, x.dilationWidth, x.groups, x.deformableGroups) = (dh, dw, g, dg)
        return x
    }

    // The SPEC's examples.

    func testResNetExample() throws {
        let d = try parse("r50-c3:mb1ic128ih64oc128kh3ph1pw1")
        XCTAssertEqual(d.name, "r50-c3")
        XCTAssertEqual(d.geometry, geometry(ic: 128, ih: 64, iw: 64, oc: 128, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1))
        XCTAssertEqual(d.description, "r50-c3:ic128ih64oc128kh3ph1pw1")
        // Ho = Wo = 64 + 2 − 3 + 1 = 64; FLOPs 2·1·128·128·3·3·64·64
        let p = try DeformConvProblem(validating: d.geometry.arguments())
        XCTAssertEqual([p.outputHeight, p.outputWidth], [64, 64])
        XCTAssertEqual(p.flops, 2.0 * 128 * 128 * 9 * 64 * 64)
    }

    func testGroupsExample() throws {
        let d = try parse("g4dg4:mb1ic256ih32oc256kh3ph1pw1g4dg4")
        XCTAssertEqual(d.name, "g4dg4")
        XCTAssertEqual(d.geometry, geometry(ic: 256, ih: 32, iw: 32, oc: 256, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, g: 4, dg: 4))
        XCTAssertEqual(d.description, "g4dg4:ic256ih32oc256kh3ph1pw1g4dg4")
        let p = try DeformConvProblem(validating: d.geometry.arguments(bias: true))
        XCTAssertEqual([p.outputHeight, p.outputWidth], [32, 32])
        XCTAssertEqual(p.reductionLength, 64 * 9)
        XCTAssertEqual(p.flops, 2.0 * 256 * 64 * 9 * 32 * 32)
        XCTAssertEqual(p.offsetTaps, 4 * 9)
        XCTAssertTrue(p.hasBias)
    }

    func testStrideDilationExample() throws {
        let d = try parse("s2-d2:mb1ic128ih64oc128kh3sh2ph2pw2dh2dg2")
        XCTAssertEqual(d.name, "s2-d2")
        // sw = sh = 2, dw = dh = 2 by default
        XCTAssertEqual(d.geometry, geometry(ic: 128, ih: 64, iw: 64, oc: 128, kh: 3, kw: 3, sh: 2, sw: 2,
                                            pt: 2, pb: 2, pl: 2, pr: 2, dh: 2, dw: 2, dg: 2))
        XCTAssertEqual(d.description, "s2-d2:ic128ih64oc128kh3sh2ph2pw2dh2dg2")
        // Ho = floor((64 + 4 − (2·2 + 1)) / 2) + 1 = floor(63 / 2) + 1 = 32
        let p = try DeformConvProblem(validating: d.geometry.arguments())
        XCTAssertEqual([p.outputHeight, p.outputWidth], [32, 32])
        XCTAssertEqual(d.geometry.outputHeight, 32)
        XCTAssertEqual(d.geometry.outputWidth, 32)
        XCTAssertEqual(p.flops, 2.0 * 128 * 128 * 9 * 32 * 32)
    }

    // Defaults

    func testDefaults() throws {
        let d = try parse("ic3ih5oc2kh3")
        XCTAssertNil(d.name)
        XCTAssertEqual(d.geometry, geometry(mb: 1, ic: 3, ih: 5, iw: 5, oc: 2, kh: 3, kw: 3, sh: 1, sw: 1, pt: 0, pb: 0, pl: 0, pr: 0, dh: 1, dw: 1, g: 1, dg: 1))
        XCTAssertEqual(d.description, "ic3ih5oc2kh3")
    }

    func testWidthDefaultsFollowTheHeightValues() throws {
        let d = try parse("ic1ih9oc1kh2sh3dh4")
        XCTAssertEqual(d.geometry.width, 9)
        XCTAssertEqual(d.geometry.kernelWidth, 2)
        XCTAssertEqual(d.geometry.strideWidth, 3)
        XCTAssertEqual(d.geometry.dilationWidth, 4)
    }

    func testExplicitWidthValuesOverrideTheDefaults() throws {
        let d = try parse("mb2ic4ih9iw7oc6kh3kw1sh2sw1dh1dw3pt1pb0pl2pr3g2dg4")
        XCTAssertEqual(d.geometry, geometry(mb: 2, ic: 4, ih: 9, iw: 7, oc: 6, kh: 3, kw: 1, sh: 2, sw: 1,
                                            pt: 1, pb: 0, pl: 2, pr: 3, dh: 1, dw: 3, g: 2, dg: 4))
    }

    func testKeysInAnyOrder() throws {
        XCTAssertEqual(try parse("kh3oc2ih5ic3").geometry, try parse("ic3ih5oc2kh3").geometry)
        XCTAssertEqual(try parse("pw2ph1dg2g2ic4ih6oc2kh1").geometry,
                       geometry(ic: 4, ih: 6, iw: 6, oc: 2, kh: 1, kw: 1, pt: 1, pb: 1, pl: 2, pr: 2, g: 2, dg: 2))
    }

    // Canonical printing

    func testCanonicalFormOmitsDefaults() throws {
        // every default written out explicitly
        let d = try parse("mb1ic8ih16iw16oc4kh3kw3sh1sw1pt0pb0pl0pr0dh1dw1g1dg1")
        XCTAssertEqual(d.description, "ic8ih16oc4kh3")
        // width values equal to the height ones are defaults too
        XCTAssertEqual(try parse("ic8ih16iw16oc4kh5kw5sh2sw2dh3dw3").description, "ic8ih16oc4kh5sh2dh3")
        // an explicit width stride of 1 under a height stride of 2 is not a default
        let s = try parse("ic8ih16oc4kh3sh2sw1").description
        XCTAssertTrue(s.contains("sw1"), s)
        XCTAssertEqual(try parse(s).geometry.strideWidth, 1)
        // asymmetric padding keeps all four sides
        let asym = try parse("ic1ih4oc1kh1pt0pb2pl3pr1").description
        XCTAssertEqual(try parse(asym).geometry, geometry(ic: 1, ih: 4, iw: 4, oc: 1, kh: 1, kw: 1, pt: 0, pb: 2, pl: 3, pr: 1))
        XCTAssertFalse(asym.contains("ph"), asym)
        XCTAssertFalse(asym.contains("pw"), asym)
    }

    func testPrintParseRoundTrip() throws {
        var rng = TestRNG(seed: 31)
        for trial in 0..<300 {
            var g = ConvGeometry()
            g.batch = rng.int(1...3)
            g.channels = rng.int(1...64)
            g.height = rng.int(1...40)
            g.width = rng.bool() ? g.height : rng.int(1...40)
            g.outputChannels = rng.int(1...64)
            g.kernelHeight = rng.int(1...5)
            g.kernelWidth = rng.bool() ? g.kernelHeight : rng.int(1...5)
            g.strideHeight = rng.int(1...3)
            g.strideWidth = rng.bool() ? g.strideHeight : rng.int(1...3)
            g.padTop = rng.int(0...3)
            g.padBottom = rng.bool() ? g.padTop : rng.int(0...3)
            g.padLeft = rng.int(0...3)
            g.padRight = rng.bool() ? g.padLeft : rng.int(0...3)
            g.dilationHeight = rng.int(1...3)
            g.dilationWidth = rng.bool() ? g.dilationHeight : rng.int(1...3)
            g.groups = rng.int(1...4)
            g.deformableGroups = rng.int(1...4)
            let name: String? = rng.bool() ? nil : ["r50-c\(trial)", "net_\(trial).layer", "A\(trial)"][rng.int(0...2)]
            let d = ProblemDescriptor(name: name, geometry: g)
            let text = d.description
            let back: ProblemDescriptor
            do { back = try ProblemDescriptor(parsing: text) } catch {
                XCTFail("'\(text)' does not parse: \(error)")
                continue
            }
            XCTAssertEqual(back, d, "'\(text)'")
            XCTAssertEqual(back.description, text, "printing is not stable")
            // defaults are omitted
            if g.batch == 1 { XCTAssertFalse(text.contains("mb"), text) }
            if g.width == g.height { XCTAssertFalse(text.contains("iw"), text) }
            if g.kernelWidth == g.kernelHeight { XCTAssertFalse(text.contains("kw"), text) }
            if g.strideHeight == 1 { XCTAssertFalse(text.contains("sh"), text) }
            if g.strideWidth == g.strideHeight { XCTAssertFalse(text.contains("sw"), text) }
            if g.dilationHeight == 1 { XCTAssertFalse(text.contains("dh"), text) }
            if g.dilationWidth == g.dilationHeight { XCTAssertFalse(text.contains("dw"), text) }
            if g.padTop == 0 && g.padBottom == 0 { XCTAssertFalse(text.contains("pt") || text.contains("pb") || text.contains("ph"), text) }
            if g.padLeft == 0 && g.padRight == 0 { XCTAssertFalse(text.contains("pl") || text.contains("pr") || text.contains("pw"), text) }
            if g.deformableGroups == 1 { XCTAssertFalse(text.contains("dg"), text) }
            if g.groups == 1 { XCTAssertFalse(text.hasSuffix("g1") || text.contains("g1d"), text) }
        }
    }

    func testSpecExamplesRoundTrip() throws {
        for text in ["r50-c3:mb1ic128ih64oc128kh3ph1pw1", "g4dg4:mb1ic256ih32oc256kh3ph1pw1g4dg4", "s2-d2:mb1ic128ih64oc128kh3sh2ph2pw2dh2dg2"] {
            let d = try parse(text)
            XCTAssertEqual(try parse(d.description), d, text)
        }
    }

    // Errors

    func testUnknownKey() {
        assertParseError("ic3ih5oc2kh3zz1", mentions: ["zz"])
        assertParseError("ic3ih5oc2kh3n2", mentions: ["n"])
        assertParseError("ic3ih5oc2kh3ow4")
        assertParseError("IC3ih5oc2kh3")
    }

    func testDuplicateKey() {
        assertParseError("ic3ic4ih5oc2kh3", mentions: ["ic"])
        assertParseError("ic3ih5oc2kh3kh3", mentions: ["kh"])
        assertParseError("ic3ih5oc2kh3ph1ph1", mentions: ["ph"])
    }

    func testMissingRequiredKey() {
        assertParseError("ih5oc2kh3", mentions: ["ic"])
        assertParseError("ic3oc2kh3", mentions: ["ih"])
        assertParseError("ic3ih5kh3", mentions: ["oc"])
        assertParseError("ic3ih5oc2", mentions: ["kh"])
        assertParseError("")
        assertParseError("name:")
    }

    func testShorthandCannotBeCombinedWithItsSides() {
        assertParseError("ic3ih5oc2kh3ph1pt1", mentions: ["ph", "pt"])
        assertParseError("ic3ih5oc2kh3pb2ph1", mentions: ["ph", "pb"])
        assertParseError("ic3ih5oc2kh3pw1pr1", mentions: ["pw", "pr"])
        assertParseError("ic3ih5oc2kh3pl0pw1", mentions: ["pw", "pl"])
        // ph with pl/pr is fine: different axes
        XCTAssertEqual(try? ProblemDescriptor(parsing: "ic3ih5oc2kh3ph1pl2pr0").geometry.padLeft, 2)
    }

    func testMalformedValues() {
        assertParseError("ic3ih5oc2kh")        // key without a value
        assertParseError("ic3ih-5oc2kh3")      // sign
        assertParseError("ic3ih5oc2kh3 ")      // trailing space
        assertParseError("ic3ih5.5oc2kh3")     // fraction
        assertParseError("ic99999999999999999999ih5oc2kh3")   // does not fit in Int
        assertParseError("bad name:ic3ih5oc2kh3")
    }

    // ConvGeometry.arguments

    func testGeometryArgumentsMatchTheSpecShapes() throws {
        var rng = TestRNG(seed: 32)
        for _ in 0..<30 {
            let s = TestShape.random(&rng)
            var g = ConvGeometry()
            (g.batch, g.channels, g.height, g.width, g.outputChannels) = (s.n, s.c, s.h, s.w, s.co)
            (g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth) = (s.kh, s.kw, s.sh, s.sw)
            (g.padTop, g.padBottom, g.padLeft, g.padRight) = (s.pt, s.pb, s.pl, s.pr)
            (g.dilationHeight, g.dilationWidth, g.groups, g.deformableGroups) = (s.dh, s.dw, s.groups, s.dg)
            XCTAssertEqual(g.arguments(dtype: .float16, bias: s.bias), s.arguments(dtype: .float16))
            XCTAssertEqual([g.outputHeight, g.outputWidth], [s.ho, s.wo])
            let p = try DeformConvProblem(validating: g.arguments())
            XCTAssertEqual(p.geometry, g)
        }
    }
}
