@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// The coverage table (`SuiteCoverage`): parameter values and sampling-position classes of a
/// hand-built golden file, counted by hand, in the report model, the JSON, Markdown and HTML.
final class CoverageTests: XCTestCase {
    /// A 1×1 kernel on a 3×3 image (ho = wo = 3, one tap): every y offset 0, so y ∈ {0, 1, 2} is an
    /// integer 9 times, and x = wo + dx with hand-chosen dx:
    /// 0 → 0 integer; 0.0005 → 1.0005 near-integer; 0.5 → 2.5 boundary (2 < p < 3);
    /// −0.5 → −0.5 boundary; −2.5 → −1.5 outside; 3 → 5 outside and large (|d| ≥ 3); 0, 0, 0 → 0, 1, 2 integer.
    static let handOffsetsX: [Double] = [0, 0.0005, 0.5, -0.5, -2.5, 3, 0, 0, 0]

    static func handCase() throws -> GoldenCase {
        var g = ConvGeometry()
        g.height = 3
        g.width = 3
        g.kernelHeight = 1
        g.kernelWidth = 1
        let problem = try DeformConvProblem(validating: g.arguments())
        let offsets = handOffsetsX + [Double](repeating: 0, count: 9) + [Double](repeating: 1, count: 9)
        let inputs = DeformConvInputs<Double>(x: (0..<9).map { Double($0) / 8 }, weight: [0.75], offsets: offsets)
        let store = { (values: [Double], shape: [Int]) in StoredTensor(shape: shape, data: .float32(values.map(Float.init))) }
        return GoldenCase(name: "hand-positions", tags: ["hand"], description: "hand-chosen positions",
                          parameters: GoldenCase.parameters(of: g), x: store(inputs.x, problem.xShape), weight: store(inputs.weight, problem.weightShape),
                          offsets: store(offsets, problem.offsetsShape), expect: .ok,
                          output: GoldenOutput(shape: problem.outputShape, reference: ReferenceKernel().evaluate(problem, inputs)))
    }

    private func tinyGolden() throws -> String {
        try writeGolden([try Self.handCase(), try SuiteGenerator().validCase(recipe("batch-2"), seed: 3).0], to: try temporaryFolder(self))
    }

    func testClassesOfOneCoordinate() {
        XCTAssertEqual(SuiteCoverage.classes(2, offset: 0, size: 3), [.integer])
        XCTAssertEqual(SuiteCoverage.classes(-1, offset: -1, size: 3), [.boundary])
        XCTAssertEqual(SuiteCoverage.classes(3, offset: 1, size: 3), [.outside])
        XCTAssertEqual(SuiteCoverage.classes(2.9999, offset: 0.9999, size: 3), [.nearInteger, .boundary])
        XCTAssertEqual(SuiteCoverage.classes(-7.25, offset: -8.25, size: 8), [.outside, .large])
        XCTAssertEqual(SuiteCoverage.classes(1.5, offset: 0.5, size: 3), [])
    }

    func testHandBuiltGoldenFileCoverage() throws {
        let golden = try tinyGolden()
        let report = Verifier(kernels: [NaiveKernel()]).run(files: [golden])
        XCTAssertEqual(report.summary.failed, 0)
        let coverage = try XCTUnwrap(report.coverage)
        XCTAssertEqual(coverage.cases, 2)
        func values(_ name: String) -> [String] { coverage.values(of: name).map { "\($0.value) (\($0.cases))" } }
        XCTAssertEqual(values("kernel size"), ["1×1 (1)", "3×3 (1)"])
        XCTAssertEqual(values("batch"), ["1 (1)", "2 (1)"])
        XCTAssertEqual(values("paddings"), ["(0, 0, 0, 0) (1)", "(1, 1, 1, 1) (1)"])
        XCTAssertEqual(values("dtype"), ["float32 (2)"])
        XCTAssertEqual(values("groups"), ["1 (2)"])

        // The hand case alone: its 18 coordinates as the comment on handOffsetsX counts them.
        var hand = SuiteCoverage()
        let item = EvaluationCase(golden: try Self.handCase(), file: "hand.h5", limits: .standard)
        hand = hand.adding(item)
        XCTAssertEqual(hand.coordinates, 18)
        let counted = SuiteCoverage.PositionClass.allCases.map { hand.positions($0).coordinates }
        XCTAssertEqual(counted, [13, 1, 2, 2, 1], "integer, near-integer, boundary, outside, large")
        // In the file, the batch-2 case adds its own; the hand case is one case of each class.
        for positionClass in SuiteCoverage.PositionClass.allCases {
            XCTAssertGreaterThanOrEqual(coverage.positions(positionClass).cases, 1, positionClass.label)
            XCTAssertGreaterThanOrEqual(coverage.positions(positionClass).coordinates, hand.positions(positionClass).coordinates)
        }
        // batch-2: 2 images, 9 taps, 7×7 outputs (padding 1), two coordinates each.
        XCTAssertEqual(coverage.coordinates, 18 + 2 * 9 * 49 * 2)

        let markdown = AccuracyReport.markdown(report, command: "dcn verify")
        XCTAssertTrue(markdown.contains("## Coverage"))
        XCTAssertTrue(markdown.contains("| kernel size | 2 | 1×1 (1), 3×3 (1) |"), markdown)
        XCTAssertTrue(markdown.contains("| large | \(coverage.positions(.large).cases) | \(coverage.positions(.large).coordinates) |"), markdown)
        let page = HTMLReport.page(HTMLReport.Inputs(verify: report))
        XCTAssertTrue(page.contains("<table id=\"coverage-table\">"))
        XCTAssertTrue(page.contains("<td class=\"l\">near-integer</td>"))
        let decoded = try ReportJSON.decode(VerifyReport.self, from: try ReportJSON.encode(report))
        XCTAssertEqual(decoded.coverage, coverage)
    }

    /// Shards count each case once (the shard that owns its first pair): merged, the unsharded coverage.
    func testShardsMergeToTheUnshardedCoverage() throws {
        let golden = try tinyGolden()
        let kernels: [any DeformConvKernel] = [NaiveKernel(), SimdKernel()]
        let whole = Verifier(kernels: kernels).run(files: [golden])
        let shards = (1...3).map { (name: "shard \($0)", report: Verifier(kernels: kernels, shard: Shard(index: $0, count: 3)).run(files: [golden])) }
        XCTAssertEqual(try ReportMerger.merge(shards).coverage, whole.coverage)
        XCTAssertEqual(whole.coverage?.cases, 2)
    }
}
