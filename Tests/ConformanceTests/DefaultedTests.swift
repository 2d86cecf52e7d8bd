@testable import Conformance
import Foundation
import XCTest

/// `@Defaulted` report fields: JSON written before a field existed reads with the field's default,
/// a value that is there is kept, and the JSON written is that of an unwrapped property.
final class DefaultedTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try ReportJSON.decode(type, from: Data(json.utf8))
    }

    func json(_ value: some Encodable) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: ReportJSON.encode(value)) as? [String: Any])
    }

    func testBenchJSONWithoutSkipsNotesOrPassReadsAsForwardWithNone() throws {
        let report = try decode(BenchReport.self, """
            {"machine": {"cpu": "old", "cores": 2, "threads": 2},
             "results": [{"shape": "s", "kernel": "simd", "threads": 1, "median_ms": 2, "min_ms": 1, "gflops": 3}]}
            """)
        XCTAssertEqual(report.skipped, [])
        XCTAssertEqual(report.notes, [])
        XCTAssertEqual(report.results.map(\.pass), ["forward"])
        XCTAssertNil(report.settings)
        let null = try decode(BenchResult.self, #"{"shape": "s", "kernel": "k", "threads": 1, "median_ms": 2, "min_ms": 1, "gflops": 3, "pass": null}"#)
        XCTAssertEqual(null.pass, "forward")
    }

    func testPresentValuesAreKeptAndWrittenAsPlainValues() throws {
        var report = BenchReport(machine: MachineInfo(cpu: "c", cores: 1, threads: 1),
                                 results: [BenchResult(shape: "s", kernel: "k", threads: 1, medianMs: 2, minMs: 1, gflops: 3, pass: "backward")],
                                 skipped: [BenchSkip(kernel: "fp16acc", reason: "no backward", pass: "backward")])
        report.notes.append("a note")
        let object = try json(report)
        XCTAssertEqual(object["notes"] as? [String], ["a note"])
        XCTAssertEqual((object["skipped"] as? [[String: Any]])?.first?["reason"] as? String, "no backward")
        XCTAssertEqual((object["results"] as? [[String: Any]])?.first?["pass"] as? String, "backward")
        XCTAssertEqual(try ReportJSON.decode(BenchReport.self, from: ReportJSON.encode(report)), report)
    }

    func testVerifySummaryFromBeforeTheBackwardCountsNone() throws {
        let summary = try decode(VerifyReport.Summary.self, #"{"passed": 5, "failed": 1, "files": 1, "cases": 6, "unreadable_files": 0}"#)
        XCTAssertEqual([summary.passed, summary.failed, summary.notImplemented, summary.casesWithoutPass], [5, 1, 0, 0])
        var counted = VerifyReport.Summary()
        counted.notImplemented = 12
        counted.casesWithoutPass = 3
        let object = try json(counted)
        XCTAssertEqual(object["not_implemented"] as? Int, 12)
        XCTAssertEqual(object["cases_without_pass"] as? Int, 3)
        let back = try ReportJSON.decode(VerifyReport.Summary.self, from: ReportJSON.encode(counted))
        XCTAssertEqual([back.notImplemented, back.casesWithoutPass], [12, 3])
    }

    func testThresholdsFromBeforeTheFloorAndTheAllCoresGateAreTheStandardOnes() throws {
        let old = try decode(CompareThresholds.self, #"{"max_slowdown": 0.1, "max_accuracy_loss": 3}"#)
        XCTAssertEqual(old, CompareThresholds(maxSlowdown: 0.1, maxAccuracyLoss: 3))
        XCTAssertEqual(old.accuracyFloor, 0.05)
        XCTAssertFalse(old.gateAllCores)
        let set = CompareThresholds(accuracyFloor: 0.5, gateAllCores: true)
        XCTAssertEqual(try ReportJSON.decode(CompareThresholds.self, from: ReportJSON.encode(set)), set)
        XCTAssertEqual(try json(set)["gate_all_cores"] as? Bool, true)
    }
}
