import Conformance
import DeformConv
import Foundation
import HDF5
import XCTest

/// `dcn generate --shape` and `--inputs`: golden vectors at the user's shapes and from the user's
/// tensors, gated by `dcn verify` like the committed suite.
final class GenerateTests: XCTestCase {
    static let shapeArguments = ["--shape", "ic8ih10oc4kh3ph1", "--shape", "l2:mb2ic4ih7iw9oc6kh3sh2pt1pb0pw1g2dg2",
                                 "--dtype", "both", "--offsets", "mixed", "--masks", "signed", "--backward", "--seed", "7"]

    func testShapeCasesAreNamedTaggedReproducibleAndPassTheGate() throws {
        let folder = try temporaryFolder(self)
        let first = try runDcn(["generate", "--out", folder + "/a.h5"] + Self.shapeArguments)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("4 valid cases"), first.stdout)
        let second = try runDcn(["generate", "--out", folder + "/b.h5"] + Self.shapeArguments)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/a.h5"), FileManager.default.contents(atPath: folder + "/b.h5"),
                       "the same arguments give the same bytes")
        let other = try runDcn(["generate", "--out", folder + "/c.h5"] + Self.shapeArguments.dropLast() + ["8"])
        XCTAssertNotEqual(FileManager.default.contents(atPath: folder + "/a.h5"), FileManager.default.contents(atPath: folder + "/c.h5"),
                          "another seed gives other inputs: \(other.stderr)")

        let reader = try GoldenFileReader(path: folder + "/a.h5")
        XCTAssertEqual(try reader.caseNames(), ["ic8ih10oc4kh3ph1.float16", "ic8ih10oc4kh3ph1.float32", "l2.float16", "l2.float32"])
        let header = try reader.header(of: "l2.float16")
        XCTAssertEqual(header.arguments.x.dtype, .float16)
        XCTAssertTrue(header.isBackward)
        for tag in ["batch", "groups", "deformable_groups", "asymmetric_padding", "stride", "non_square", "boundary",
                    "integer_offsets", "large_offsets", "negative_mask", "bias", "float16"] {
            XCTAssertTrue(header.tags.contains(tag), "\(tag) missing from \(header.tags)")
        }
        let problem = try DeformConvProblem(validating: header.arguments)
        let output = try reader.output(of: "l2.float16", problem: problem)
        XCTAssertTrue(output.hasMagnitudes, "y_abs, y_pos and y_tiny are stored")
        XCTAssertNotNil(output.gradients)

        let verify = try runDcn(["verify", folder + "/a.h5", "--kernel", "naive", "--kernel", "threaded", "--report-dir", folder + "/reports"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("8 passed, 0 failed"), verify.stdout)
    }

    func testBadShapeUsageExitsTwoAndWritesNothing() throws {
        let folder = try temporaryFolder(self)
        let out = folder + "/g.h5"
        let usages: [([String], String)] = [
            (["--suite", "default", "--shape", "ic4ih6oc3kh3"], "exclusive"),
            (["--offsets", "large"], "apply to --shape only"),
            (["--shape", "ic4ih6oc3kh3zz2"], "unknown key"),
            (["--shape", "ic6ih6oc3kh3g4"], "groups"),
            (["--shape", "ic4ih6oc3kh3", "--values", "exact"], "exact values need exact positions"),
            (["--shape", "a:ic4ih6oc3kh3", "--shape", "a:ic4ih7oc3kh3"], "two cases would be named 'a'"),
            (["--shape", "ic8192ih4oc2kh3ph1", "--values", "exact", "--offsets", "quarter", "--masks", "quarter"], "not exact at this size"),
            (["--shape", "ic4ih6oc3kh3", "--offsets", "wild"], "offsets"),
        ]
        for (arguments, message) in usages {
            let run = try runDcn(["generate", "--out", out] + arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stdout)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "no file, partial or whole")
    }

    /// An inputs file written with the Swift HDF5 layer: a golden file's case layout, no outputs.
    func writeInputs(_ path: String, channels: Int = 4, poison: Bool = false) throws -> DeformConvInputs<Float> {
        var rng = SeededGenerator(seed: 3)
        let file = try File.create(path)
        defer { file.close() }
        let group = try file.root.createGroup("cases").createGroup("layer1")
        let (c, h, co, k) = (channels, 6, 3, 3)
        func values(_ count: Int, _ range: Double) -> [Float] { (0..<count).map { _ in Float(rng.uniform(-range, range)) } }
        var inputs = DeformConvInputs(x: values(c * h * h, 1), weight: values(co * 4 * k * k, 1), offsets: values(3 * k * k * h * h, 2), bias: values(co, 1))
        if poison { inputs.offsets[2 * k * k * h * h + 5] = .infinity }
        try group.write("x", shape: [1, c, h, h], values: inputs.x)
        try group.write("weight", shape: [co, 4, k, k], values: inputs.weight)
        try group.write("offsets", shape: [1, 3 * k * k, h, h], values: inputs.offsets)
        try group.write("bias", shape: [co], values: inputs.bias!)
        try group.write("gy", shape: [1, co, h, h], values: values(co * h * h, 1))
        try group.setAttribute("kernel_size", [Int64(k), Int64(k)])
        try group.setAttribute("strides", [Int64(1), 1, 1, 1])
        try group.setAttribute("padding", [Int64(1), 1, 1, 1])
        try group.setAttribute("dilations", [Int64(1), 1, 1, 1])
        try group.setAttribute("groups", [Int64(1)], scalar: true)
        try group.setAttribute("deformable_groups", [Int64(1)], scalar: true)
        return inputs
    }

    func testInputsFileBecomesAGatedGoldenFile() throws {
        let folder = try temporaryFolder(self)
        let inputs = try writeInputs(folder + "/inputs.h5")
        let run = try runDcn(["generate", "--inputs", folder + "/inputs.h5", "--out", folder + "/golden.h5"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let reader = try GoldenFileReader(path: folder + "/golden.h5")
        XCTAssertEqual(try reader.caseNames(), ["layer1"])
        let header = try reader.header(of: "layer1")
        XCTAssertTrue(header.isBackward, "gy carried over: the case checks the backward too")
        let problem = try DeformConvProblem(validating: header.arguments)
        let stored = try reader.inputs(of: "layer1", problem: problem, as: Float.self)
        XCTAssertEqual(stored.x, inputs.x, "the user's tensors, bit for bit")
        XCTAssertEqual(stored.offsets, inputs.offsets)
        let verify = try runDcn(["verify", folder + "/golden.h5", "--kernel", "naive", "--report-dir", folder + "/reports"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("backward 1/1 passed"), verify.stdout)
    }

    func testBadInputsAreNamedWithFieldAndReasonAndLeaveNoFile() throws {
        let folder = try temporaryFolder(self)
        _ = try writeInputs(folder + "/groups.h5", channels: 6)
        _ = try writeInputs(folder + "/poison.h5", poison: true)
        let expectations = [("groups.h5", "case 'layer1': groups (ValueError)"),
                            ("poison.h5", "case 'layer1': field 'offsets': element [0, 18, 0, 5] is inf"),
                            ("missing.h5", "no such inputs file")]
        for (name, message) in expectations {
            let run = try runDcn(["generate", "--inputs", folder + "/" + name, "--out", folder + "/golden.h5"])
            XCTAssertEqual(run.status, 2, name)
            XCTAssertTrue(run.stderr.contains(message), "\(name): \(run.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["groups.h5", "poison.h5"])
    }

    /// The large suite is never generated by the tests (2 × 2.15 GB of x): its cases are checked to
    /// pass 2^31 bytes with a small output, to need the raised limit, and to be valid under it.
    func testLargeSuiteCasesPassTwoToThe31BytesWithSmallOutputs() throws {
        XCTAssertTrue(SuiteGenerator.suites.contains(LargeSuite.name))
        for recipe in LargeSuite.valid {
            let arguments = try ProblemDescriptor(parsing: recipe.descriptor).geometry.arguments(dtype: recipe.dtype, bias: recipe.bias)
            let problem = try DeformConvProblem(validating: arguments, limits: LargeSuite.limits)
            XCTAssertGreaterThan(problem.xCount * 4, 1 << 31, recipe.name)
            XCTAssertLessThan(problem.outputCount, 1000, recipe.name)
            XCTAssertThrowsError(try DeformConvProblem(validating: arguments), recipe.name) { error in
                XCTAssertEqual((error as? DeformConvError)?.code, .tooLarge)
            }
        }
    }
}
