import Conformance
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class FP16StudyTests: XCTestCase {
    func testHalfAccumulationIsLessAccurateThanFloatAccumulation() throws {
        var study = FP16Study()
        study.channels = [2, 128]
        study.problemsPerPoint = 1
        let result = try study.run()
        XCTAssertEqual(result.points.count, 2 * result.algorithms.count)
        func rms(_ algorithm: String, _ r: Int) throws -> Double {
            try XCTUnwrap(result.points.first { $0.algorithm == algorithm && $0.reduction == r }).rmsRelative
        }
        // At R = 1152, rounding every update to half costs far more than one final rounding.
        XCTAssertGreaterThan(try rms("fp16acc", 1152), 4 * (try rms("simd on float16 inputs", 1152)))
        XCTAssertGreaterThan(try rms("fp16acc", 1152), try rms("fp16acc", 18))
        // Blocks of 16 half additions lose less than one long half sum.
        XCTAssertLessThan(try rms("blocked half, b = 16", 1152), try rms("fp16acc", 1152))

        let markdown = result.markdown(command: "dcn study fp16")
        for section in ["## Findings", "## RMS error", "## Maximum error", "## The rigorous bound"] {
            XCTAssertTrue(markdown.contains(section), section)
        }
        for svg in [result.charts().rms, result.charts().max] {
            XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse(), "the chart is not well-formed XML")
            XCTAssertTrue(svg.contains("√R·u"))
        }
    }
}
