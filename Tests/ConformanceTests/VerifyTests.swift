import Conformance
import DeformConv
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HDF5
import XCTest

final class VerifyTests: XCTestCase {
    func testNaiveAndReferencePassTheWholeSuite() throws {
        let report = Verifier(kernels: [ReferenceKernel(), NaiveKernel()]).run(files: [defaultSuitePath])
        for result in report.results where result.status == .fail {
            XCTFail("\(result.kernel) \(result.caseName): \(result.message ?? "")")
        }
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertEqual(report.summary.failed, 0)
        XCTAssertEqual(report.summary.passed, 2 * (DefaultSuite.valid.count + DefaultSuite.errors.count))
    }

    func testPlantedOutputBugFailsAndIsLocated() throws {
        // Element 7 of every output off by 1e-4 relative: far outside a float32 kernel's bound.
        let bug = PlantedOutputBug(index: 7, relativeChange: 1e-4)
        let report = Verifier(kernels: [bug]).run(files: [defaultSuitePath])
        XCTAssertEqual(report.exitCode, 1)
        let result = try XCTUnwrap(report.results.first { $0.caseName == "basic-3x3" })
        XCTAssertEqual(result.status, .fail)
        let failure = try XCTUnwrap(result.accuracy?.failures.first)
        XCTAssertEqual(result.accuracy?.failedElements, 1)
        // basic-3x3 is ic4ih8oc4kh3: output (1, 4, 6, 6); element 7 is (n 0, o 0, ho 1, wo 1).
        XCTAssertEqual([failure.n, failure.o, failure.ho, failure.wo], [0, 0, 1, 1])
        XCTAssertGreaterThan(failure.ratio, 1)
        XCTAssertEqual(failure.got, failure.expected + 1e-4 * max(abs(failure.expected), 1), accuracy: 1e-6)
        // Error cases never reach the kernel: they still pass.
        XCTAssertTrue(report.results.filter { $0.expect != "ok" }.allSatisfy { $0.status == .pass })
    }

    func testOneUlpOffOnAnExactCaseFails() throws {
        let bug = PlantedOutputBug(index: 0, relativeChange: 0x1p-23)
        let golden = try SuiteGenerator().validCase(recipe("exact-basic"), seed: 3).0
        let path = try writeGolden([golden], to: temporaryFolder(self))
        let report = Verifier(kernels: [bug, NaiveKernel()]).run(files: [path])
        XCTAssertEqual(report.results.map(\.status), [.fail, .pass])
        XCTAssertEqual(report.results[0].ratio, .infinity, "an exact case's bound is zero")
    }

    func testPlantedErrorCodeBugFails() throws {
        let report = Verifier(kernels: [PlantedErrorCodeBug()]).run(files: [defaultSuitePath])
        let failed = report.results.filter { $0.status == .fail }
        XCTAssertFalse(failed.isEmpty)
        for result in failed {
            XCTAssertEqual(result.expectedErrorCode, ErrorCode.offsetsShape.rawValue, result.caseName)
            XCTAssertEqual(result.errorCode, ErrorCode.biasShape.rawValue, result.caseName)
        }
        XCTAssertEqual(report.exitCode, 1)
    }

    func testPlantedWrongGoldenOutputAndWrongErrorCodeFail() throws {
        var wrongOutput = try SuiteGenerator().validCase(recipe("groups-2"), seed: 5).0
        wrongOutput.output!.y[3] += 1e-3
        var wrongCode = try SuiteGenerator().errorCase(errorRecipe("offsets-shape-batch"), seed: 5)
        wrongCode.expect = .error(.biasShape)
        let good = try SuiteGenerator().validCase(recipe("stride-2"), seed: 5).0
        let path = try writeGolden([wrongOutput, wrongCode, good], to: temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel()]).run(files: [path])
        let status = Dictionary(uniqueKeysWithValues: report.results.map { ($0.caseName, $0.status) })
        XCTAssertEqual(status, ["groups-2": .fail, "offsets-shape-batch": .fail, "stride-2": .pass])
        XCTAssertEqual(report.exitCode, 1)
        let failure = try XCTUnwrap(report.results.first { $0.caseName == "groups-2" }?.accuracy?.failures.first)
        XCTAssertEqual([failure.n, failure.o, failure.ho, failure.wo], [0, 0, 0, 3])
    }

    func testMalformedCasesFailAndTheRunGoesOn() throws {
        var missingOutput = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 1).0
        missingOutput.name = "missing-y"
        missingOutput.output = nil
        var missingAttribute = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 2).0
        missingAttribute.name = "missing-groups"
        missingAttribute.parameters["groups"] = nil
        var floatParameter = try SuiteGenerator().errorCase(errorRecipe("param-type-kernel-size-float"), seed: 3)
        floatParameter.name = "float-kernel-size"
        let good = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 4).0
        let path = try writeGolden([missingOutput, missingAttribute, floatParameter, good], to: temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel()]).run(files: [path])
        let byName = Dictionary(uniqueKeysWithValues: report.results.map { ($0.caseName, $0) })
        XCTAssertEqual(byName["missing-y"]?.status, .fail)
        XCTAssertTrue(byName["missing-y"]?.message?.contains("'y'") ?? false, byName["missing-y"]?.message ?? "")
        XCTAssertEqual(byName["missing-groups"]?.status, .fail)
        XCTAssertTrue(byName["missing-groups"]?.message?.contains("'groups'") ?? false)
        XCTAssertTrue(byName["missing-groups"]?.message?.contains(path) ?? false, "the message names the file")
        // A float-typed parameter is the input of a param_type case, not a loader failure.
        XCTAssertEqual(byName["float-kernel-size"]?.status, .pass)
        XCTAssertEqual(byName["float-kernel-size"]?.errorCode, "param_type")
        XCTAssertEqual(byName["basic-3x3"]?.status, .pass)
    }

    func testUnreadableFilesAndExitCodes() throws {
        let folder = try temporaryFolder(self)
        let garbage = (folder as NSString).appendingPathComponent("garbage.h5")
        try Data("not an HDF5 file".utf8).write(to: URL(fileURLWithPath: garbage))
        let onlyGarbage = Verifier(kernels: [NaiveKernel()]).run(files: [garbage])
        XCTAssertEqual(onlyGarbage.exitCode, 2, "no case could be read")
        XCTAssertEqual(onlyGarbage.unreadable.first?.file, garbage)
        let good = try writeGolden([SuiteGenerator().validCase(recipe("basic-3x3"), seed: 1).0], to: folder)
        let mixed = Verifier(kernels: [NaiveKernel()]).run(files: [garbage, good])
        XCTAssertEqual(mixed.exitCode, 1)
        XCTAssertEqual(mixed.summary.passed, 1)
        XCTAssertThrowsError(try Verifier.goldenFiles(in: [folder + "/does-not-exist"]))
        XCTAssertEqual(try Verifier.goldenFiles(in: [folder]).map { ($0 as NSString).lastPathComponent }, ["garbage.h5", "planted.h5"])
    }

    func testJSONHasTheShapeOfSpecSection6() throws {
        var wrong = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 1).0
        wrong.output!.y[0] += 1
        let error = try SuiteGenerator().errorCase(errorRecipe("bias-shape"), seed: 2)
        let path = try writeGolden([wrong, error], to: temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel()]).run(files: [path])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: ReportJSON.encode(report)) as? [String: Any])
        let summary = try XCTUnwrap(object["summary"] as? [String: Any])
        XCTAssertEqual(summary["passed"] as? Int, 1)
        XCTAssertEqual(summary["failed"] as? Int, 1)
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        for result in results {
            for key in ["file", "case", "kernel", "expect", "status"] {
                XCTAssertNotNil(result[key], "results[] lacks \(key)")
            }
        }
        let valid = try XCTUnwrap(results.first { $0["case"] as? String == "basic-3x3" })
        XCTAssertEqual(valid["status"] as? String, "fail")
        XCTAssertEqual(valid["expect"] as? String, "ok")
        XCTAssertGreaterThan(try XCTUnwrap(valid["ratio"] as? Double), 1)
        let invalid = try XCTUnwrap(results.first { $0["case"] as? String == "bias-shape" })
        XCTAssertEqual(invalid["status"] as? String, "pass")
        XCTAssertEqual(invalid["expect"] as? String, "ValueError")
        XCTAssertEqual(invalid["error_code"] as? String, "bias_shape")
        // The JSON reads back into the same report.
        XCTAssertEqual(try ReportJSON.decode(VerifyReport.self, from: ReportJSON.encode(report)).summary.failed, 1)
    }

    func testJUnitIsWellFormedAndCountsFailures() throws {
        var wrong = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 1).0
        wrong.name = "wrong<&>\"name"
        wrong.output!.y[0] += 1
        let good = try SuiteGenerator().validCase(recipe("stride-2"), seed: 1).0
        // Case names are restricted, so the escaping is exercised through the message instead.
        wrong.name = "wrong"
        let path = try writeGolden([wrong, good], to: temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel(), ReferenceKernel()]).run(files: [path])
        let xml = AccuracyReport.junit(report)
        let parser = XMLParser(data: Data(xml.utf8))
        let counter = JUnitCounter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "JUnit XML does not parse: \(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(counter.suites, ["naive", "reference"])
        XCTAssertEqual(counter.testcases, 4)
        XCTAssertEqual(counter.failures, 2)
        XCTAssertTrue(xml.contains("n=0 o=0 ho=0 wo=0"), "the failure points at the element")
    }

    func testMarkdownReportNamesFailuresAndTags() throws {
        var wrong = try SuiteGenerator().validCase(recipe("groups-2"), seed: 1).0
        wrong.output!.y[2] += 1
        let path = try writeGolden([wrong], to: temporaryFolder(self))
        let report = Verifier(kernels: [NaiveKernel()]).run(files: [path])
        let markdown = AccuracyReport.markdown(report, command: "dcn verify test")
        XCTAssertTrue(markdown.contains("**FAIL**"))
        XCTAssertTrue(markdown.contains("| naive | groups | 1 | 0 |"), markdown)
        XCTAssertTrue(markdown.contains("**groups-2**"))
        XCTAssertTrue(markdown.contains("| 0 | 0 | 0 | 2 |"), "failure row n, o, ho, wo")
    }
}

/// Counts JUnit elements while parsing.
final class JUnitCounter: NSObject, XMLParserDelegate {
    var suites: [String] = []
    var testcases = 0
    var failures = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "testsuite": suites.append(attributes["name"] ?? "")
        case "testcase": testcases += 1
        case "failure": failures += 1
        default: break
        }
    }
}
