import Conformance
import Foundation
import XCTest

/// Runs the built `dcn` executable as a subprocess, as CI systems and scripts do.
final class CommandLineTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func dcn(_ arguments: [String], in folder: String? = nil) throws -> Outcome {
        // swift build puts the executable next to the test bundle.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var executable = products.appendingPathComponent("dcn")
        if !FileManager.default.fileExists(atPath: executable.path) {
            executable = products.deletingLastPathComponent().appendingPathComponent("dcn")
        }
        guard FileManager.default.fileExists(atPath: executable.path) else {
            throw XCTSkip("skipped: the dcn executable is not built next to the tests (\(products.path))")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    func testVerifyPassesOnTheSuiteAndWritesReports() throws {
        let folder = try temporaryFolder(self)
        let run = try dcn(["verify", defaultSuitePath, "--kernel", "naive", "--report-dir", folder + "/reports",
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
        let run = try dcn(["verify", path, "--report-dir", folder])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("FAIL naive"), run.stdout)
        XCTAssertTrue(run.stdout.contains("dilation-2"), run.stdout)
    }

    func testVerifyExitsOneOnAWrongErrorCode() throws {
        let folder = try temporaryFolder(self)
        var wrong = try SuiteGenerator().errorCase(errorRecipe("weight-shape"), seed: 1)
        wrong.expect = .error(.groups)
        let path = try writeGolden([wrong], to: folder)
        let run = try dcn(["verify", path, "--kernel", "naive", "--report-dir", folder])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("weight_shape"), run.stdout)
    }

    func testBadUsageExitsTwo() throws {
        let folder = try temporaryFolder(self)
        XCTAssertEqual(try dcn(["verify", folder + "/missing.h5"]).status, 2)
        XCTAssertEqual(try dcn(["verify", defaultSuitePath, "--kernel", "no-such-kernel", "--report-dir", folder]).status, 2)
        XCTAssertEqual(try dcn(["verify", "--no-such-option"]).status, 2)
        XCTAssertEqual(try dcn(["generate"]).status, 2, "--out is required")
        XCTAssertEqual(try dcn(["generate", "--out", folder + "/x.h5", "--suite", "nope"]).status, 2)
        let empty = folder + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertEqual(try dcn(["verify", empty]).status, 2, "no case could be read")
    }

    func testGenerateWritesTheSuite() throws {
        let folder = try temporaryFolder(self)
        let run = try dcn(["generate", "--out", folder + "/suite.h5", "--seed", "11"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("\(DefaultSuite.valid.count) valid cases"), run.stdout)
        let reader = try GoldenFileReader(path: folder + "/suite.h5")
        XCTAssertEqual(try reader.caseNames().count, DefaultSuite.valid.count + DefaultSuite.errors.count)
    }

    func testKernelsListsEveryKernel() throws {
        let run = try dcn(["kernels"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("naive"))
        XCTAssertTrue(run.stdout.contains("reference"))
        XCTAssertTrue(run.stdout.contains("2^-24"))
    }

    func testHelpListsTheSubcommands() throws {
        let run = try dcn(["--help"])
        XCTAssertEqual(run.status, 0)
        for command in ["verify", "generate", "bench", "kernels"] {
            XCTAssertTrue(run.stdout.contains(command), command)
        }
    }
}
