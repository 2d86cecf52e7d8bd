import Conformance
import DeformConv
import Foundation
import XCTest

/// The progress a generation reports (`GenerationProgress`): what `dcn generate`'s progress line shows.
final class GenerationProgressTests: XCTestCase {
    /// Every report a handler heard, in order; it fails on two reports at once.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var inside = false
        private(set) var reports: [GenerationProgress] = []
        private(set) var overlapped = false

        func record(_ progress: GenerationProgress) {
            lock.lock()
            if inside { overlapped = true }
            inside = true
            lock.unlock()
            usleep(10)
            lock.lock()
            reports.append(progress)
            inside = false
            lock.unlock()
        }
    }

    func testShapeGenerationReportsIncreasingProgressThroughForwardAndBackwardToTheTotals() throws {
        let folder = try temporaryFolder(self)
        // The first shares its forward and backward among threads (16384 outputs), the second runs on the calling thread.
        let suite = ShapeSuite(descriptors: try ["a:ic4ih64oc4kh3ph1pw1", "b:ic8ih10oc4kh3ph1pw1"].map { try ProblemDescriptor(parsing: $0) },
                               backward: true)
        let recorder = Recorder()
        let summary = try SuiteGenerator(seed: 5).generate(recipes: try suite.recipes(), backward: true, to: folder + "/with.h5",
                                                          generator: "test", progress: recorder.record)
        XCTAssertEqual(summary.redraws, 0, "no forward restarted, so every value must increase")
        XCTAssertFalse(recorder.overlapped, "two reports at once")
        let reports = recorder.reports

        // By hand: a is 4·64·64 outputs and 64·64 positions of 4·3·3 samples counted twice; b is
        // 4·10·10 outputs and 10·10 positions of 8·3·3 samples counted twice.
        let expected: [(name: String, outputs: Int, samples: Int)] = [("a", 16_384, 294_912), ("b", 400, 14_400)]
        let work = try XCTUnwrap(reports.first?.work)
        for report in reports {
            XCTAssertEqual(report.cases, 2)
            XCTAssertEqual(report.work, work)
            XCTAssertEqual(report.name, expected[report.caseIndex].name)
            XCTAssertEqual(report.outputs, expected[report.caseIndex].outputs)
            XCTAssertEqual(report.backwardSamples, expected[report.caseIndex].samples)
            XCTAssertTrue(report.backwardDone == 0 || report.outputsDone == report.outputs, "the backward follows the forward: \(report)")
        }
        for (earlier, later) in zip(reports, reports.dropFirst()) {
            XCTAssertLessThanOrEqual(earlier.workDone, later.workDone, "work done never goes back: \(earlier) then \(later)")
            XCTAssertLessThanOrEqual(earlier.caseIndex, later.caseIndex)
            if earlier.caseIndex == later.caseIndex {
                XCTAssertLessThanOrEqual(earlier.outputsDone, later.outputsDone)
                XCTAssertLessThanOrEqual(earlier.backwardDone, later.backwardDone)
            }
        }
        for (index, item) in expected.enumerated() {
            let ofCase = reports.filter { $0.caseIndex == index }
            XCTAssertEqual(ofCase.first?.outputsDone, 0, "case \(item.name) is announced before its work")
            XCTAssertEqual(ofCase.first?.backwardDone, 0)
            XCTAssertEqual(ofCase.last?.outputsDone, item.outputs, "case \(item.name) ends at its totals")
            XCTAssertEqual(ofCase.last?.backwardDone, item.samples)
            XCTAssertEqual(ofCase.map(\.writing), Array(repeating: false, count: ofCase.count - 1) + [true], "then its write, last")
            XCTAssertTrue(ofCase.contains { 0 < $0.outputsDone && $0.outputsDone < item.outputs }, "\(item.name): forward under way")
            XCTAssertTrue(ofCase.contains { 0 < $0.backwardDone && $0.backwardDone < item.samples }, "\(item.name): backward under way")
            XCTAssertLessThanOrEqual(ofCase.count, 2 * 201 + 1, "about 200 reports per evaluation at most")
        }
        let aWritten = try XCTUnwrap(reports.first { $0.caseIndex == 1 }), bWriting = try XCTUnwrap(reports.last)
        XCTAssertGreaterThan(bWriting.fractionDone, aWritten.fractionDone, "b's work counts")
        XCTAssertLessThan(bWriting.fractionDone, 1, "b's write is still to come")

        _ = try SuiteGenerator(seed: 5).generate(recipes: try suite.recipes(), backward: true, to: folder + "/without.h5", generator: "test")
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/with.h5"), FileManager.default.contents(atPath: folder + "/without.h5"),
                       "listening to the progress changes no byte")
    }

    func testInputsGenerationReportsItsForwardBackwardAndWrite() throws {
        let folder = try temporaryFolder(self)
        let suite = ShapeSuite(descriptors: [try ProblemDescriptor(parsing: "c:ic4ih64oc4kh3ph1pw1")], backward: true)
        _ = try SuiteGenerator().generate(recipes: try suite.recipes(), backward: true, to: folder + "/in.h5", generator: "test")
        let recorder = Recorder()
        _ = try InputsSuite(path: folder + "/in.h5").generate(to: folder + "/out.h5", generator: "test", progress: recorder.record)
        let reports = recorder.reports
        XCTAssertEqual(reports.first?.outputsDone, 0, "announced before its work")
        XCTAssertTrue(reports.contains { 0 < $0.outputsDone && $0.outputsDone < 16_384 }, "forward under way")
        XCTAssertTrue(reports.contains { 0 < $0.backwardDone && $0.backwardDone < 294_912 }, "backward under way")
        XCTAssertEqual(reports.last?.writing, true)
        XCTAssertEqual(reports.last?.outputsDone, 16_384)
        XCTAssertEqual(reports.last?.backwardDone, 294_912)
        XCTAssertTrue(zip(reports, reports.dropFirst()).allSatisfy { $0.workDone <= $1.workDone }, "work done never goes back")
    }

    func testDefaultSuiteAnnouncesEveryCaseInOrderAndEndsDone() throws {
        let folder = try temporaryFolder(self)
        let recorder = Recorder()
        _ = try SuiteGenerator().generate(suite: DefaultSuite.name, to: folder + "/d.h5", generator: "test", progress: recorder.record)
        let reports = recorder.reports
        let names = DefaultSuite.valid.map(\.name) + DefaultSuite.errors.map(\.name)
        var announced: [String] = []
        for report in reports where announced.count <= report.caseIndex { announced.append(report.name) }
        XCTAssertEqual(announced, names, "every case, valid then error, in order")
        XCTAssertTrue(reports.allSatisfy { $0.cases == names.count })
        XCTAssertTrue(reports.filter { $0.caseIndex >= DefaultSuite.valid.count }.allSatisfy { $0.outputs == 0 && $0.backwardSamples == 0 },
                      "error cases have no reference work")
        XCTAssertTrue(reports.filter { $0.caseIndex < DefaultSuite.valid.count }.allSatisfy { $0.backwardSamples > 0 },
                      "every valid case of the suite has its backward")
        XCTAssertEqual(reports.last?.fractionDone ?? 0, 1, accuracy: 1e-12, "the error cases are last and cost nothing")
    }
}
