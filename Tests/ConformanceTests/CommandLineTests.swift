import Conformance
import Foundation
import XCTest

/// Runs the built `dcn` executable as a subprocess, as CI systems and scripts do.
final class CommandLineTests: XCTestCase {
    func testVerifyPassesOnTheSuiteAndWritesReports() throws {
        let folder = try temporaryFolder(self)
        let run = try runDcn(["verify", defaultSuitePath, "--kernel", "naive", "--report-dir", folder + "/reports",
                           "--junit", folder + "/junit.xml", "--json", folder + "/verify.json"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        for file in ["reports/accuracy.md", "reports/accuracy.json", "junit.xml", "verify.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + file), file)
        }
        XCTAssertTrue(run.stdout.contains("0 failed"), run.stdout)
    }

    func testVerifyExitsOneOnAPlantedWrongOutput() throws {
        let folder = try temporaryFolder(self)
        var wrong = try SuiteGenerator().validCase(recipe("dilation-2"), seed: 1).0
        wrong.output!.y[10] *= 1.001
        let path = try writeGolden([wrong], to: folder)
        let run = try runDcn(["verify", path, "--report-dir", folder])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("FAIL naive"), run.stdout)
        XCTAssertTrue(run.stdout.contains("dilation-2"), run.stdout)
    }

    func testVerifyExitsOneOnAWrongErrorCode() throws {
        let folder = try temporaryFolder(self)
        var wrong = try SuiteGenerator().errorCase(errorRecipe("weight-shape"), seed: 1)
        wrong.expect = .error(.groups)
        let path = try writeGolden([wrong], to: folder)
        let run = try runDcn(["verify", path, "--kernel", "naive", "--report-dir", folder])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("weight_shape"), run.stdout)
    }

    func testBadUsageExitsTwo() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try runDcn(["verify", folder + "/missing.h5"]).status, 2)
        XCTAssertEqual(try runDcn(["verify", defaultSuitePath, "--kernel", "no-such-kernel", "--report-dir", folder]).status, 2)
        XCTAssertEqual(try runDcn(["verify", "--no-such-option"]).status, 2)
        XCTAssertEqual(try runDcn(["generate"]).status, 2, "--out is required")
        XCTAssertEqual(try runDcn(["generate", "--out", folder + "/x.h5", "--suite", "nope"]).status, 2)
        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertEqual(try runDcn(["verify", empty]).status, 2, "no case could be read")
    }

    func testGenerateWritesTheSuite() throws {
        let folder = try temporaryFolder(self)
        let run = try runDcn(["generate", "--out", folder + "/suite.h5", "--seed", "11"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("\(DefaultSuite.valid.count) valid cases"), run.stdout)
        let reader = try GoldenFileReader(path: folder + "/suite.h5")
        XCTAssertEqual(try reader.caseNames().count, DefaultSuite.valid.count + DefaultSuite.errors.count)
    }

    func testKernelsListsEveryKernel() throws {
        let run = try runDcn(["kernels"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("naive"))
        XCTAssertTrue(run.stdout.contains("reference"))
        XCTAssertTrue(run.stdout.contains("2^-24"))
    }

    func testHelpListsTheSubcommands() throws {
        let run = try runDcn(["--help"])
        XCTAssertEqual(run.status, 0)
        for command in ["verify", "generate", "bench", "kernels"] {
            XCTAssertTrue(run.stdout.contains(command), command)
        }
    }
}
