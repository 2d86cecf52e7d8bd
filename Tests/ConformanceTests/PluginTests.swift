@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// C kernel plugins (include/dcn_kernel.h): the example plugin passes the gate, a planted bug
/// fails it at a named case and element, bad plugins are clear errors.
final class PluginTests: XCTestCase {
    /// Compiles tools/examples/plugin/`source` into a shared library in a temporary folder.
    private func compile(_ source: String, defines: [String] = [], as name: String) throws -> String {
        let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let compiler else { throw XCTSkip("skipped: no C compiler (cc, gcc or clang) to build the example plugin") }
        let folder = try temporaryFolder(self)
        let library = folder + "/lib\(name).so"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-shared", "-fPIC", "-O2", "-Wall", "-I", byoPackageRoot.appendingPathComponent("include").path]
            + defines + [byoPackageRoot.appendingPathComponent("tools/examples/plugin/\(source)").path, "-o", library, "-lm"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let messages = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "cc failed: \(messages)")
        return library
    }

    private var golden: String { byoPackageRoot.appendingPathComponent("vectors/dcn-default.h5").path }

    func testExamplePluginPassesTheGate() throws {
        let plugin = try PluginSource(path: try compile("example_kernel.c", as: "example"))
        XCTAssertEqual(plugin.name, "example-c")
        let report = Verifier(sources: [plugin]).run(files: [golden])
        XCTAssertGreaterThan(report.summary.cases, 100)
        XCTAssertEqual(report.summary.failed, 0, report.results.filter { $0.status == .fail }.map { "\($0.caseName): \($0.message ?? "")" }.joined(separator: "\n"))
        XCTAssertTrue(report.results.contains { $0.dtype == "float16" && $0.expect == "ok" && $0.status == .pass })
        XCTAssertTrue(report.results.contains { $0.tags.contains("exact") && $0.ratio == 0 })
    }

    func testPlantedBugFailsAtANamedCaseAndElement() throws {
        let plugin = try PluginSource(path: try compile("example_kernel.c", defines: ["-DDCN_PLANTED_BUG"], as: "bug"))
        XCTAssertEqual(plugin.name, "example-c-bug")
        let report = Verifier(sources: [plugin]).run(files: [golden])
        let failed = report.results.filter { $0.status == .fail }
        XCTAssertGreaterThan(failed.count, 0)
        XCTAssertEqual(report.exitCode, 1)
        let first = try XCTUnwrap(failed.first)
        let element = try XCTUnwrap(first.accuracy?.failures.first)
        XCTAssertGreaterThan(element.ratio, 1)
        let markdown = AccuracyReport.markdown(report, command: "dcn verify --plugin libbug.so")
        XCTAssertTrue(markdown.contains("- **\(first.caseName)** (\(golden)) with **example-c-bug**"), markdown)
        XCTAssertTrue(markdown.contains("| \(element.n) | \(element.o) | \(element.ho) | \(element.wo) | \(element.expected) | \(element.got) |"))
        // Error cases never reach the plugin: validation is dcn's (a backward one is not implemented for it).
        XCTAssertTrue(report.results.filter { $0.expect != "ok" }.allSatisfy { $0.status != .fail })
    }

    func testNonzeroStatusFailsTheCaseAndTheRunGoesOn() throws {
        let plugin = try PluginSource(path: try compile("failing_kernel.c", as: "failing"))
        XCTAssertTrue(plugin.name.hasPrefix("plugin:libfailing"), plugin.name)
        let report = Verifier(sources: [plugin]).run(files: [golden])
        let half = report.results.filter { $0.dtype == "float16" && $0.expect == "ok" }
        XCTAssertFalse(half.isEmpty)
        for result in half {
            XCTAssertEqual(result.status, .fail)
            XCTAssertTrue(result.message?.hasPrefix("plugin returned status 7") == true, result.message ?? "")
        }
        // The next (float32) case after a failure is scored normally: no stale status.
        let float32 = report.results.filter { $0.dtype == "float32" && $0.expect == "ok" }
        XCTAssertTrue(float32.allSatisfy { $0.message?.contains("status") != true })
        XCTAssertTrue(float32.contains { $0.accuracy != nil })
    }

    func testMissingLibraryOrSymbolIsAClearError() throws {
        XCTAssertThrowsError(try PluginSource(path: "/nonexistent/libnothing.so")) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
        let library = try compile("example_kernel.c", as: "symbol")
        XCTAssertThrowsError(try PluginSource(path: library, symbol: "not_there")) { error in
            XCTAssertTrue("\(error)".contains("no symbol 'not_there'"), "\(error)")
        }
        let notALibrary = try temporaryFolder(self) + "/libtext.so"
        try Data("not a library".utf8).write(to: URL(fileURLWithPath: notALibrary))
        XCTAssertThrowsError(try PluginSource(path: notALibrary)) { error in
            XCTAssertTrue("\(error)".contains("cannot load it"), "\(error)")
        }
    }

    /// The command line: `verify --plugin` through the reader child processes, exit 2 for a missing
    /// symbol, and `run --plugin` then `verify --outputs`.
    func testCommandLine() throws {
        let library = try compile("example_kernel.c", as: "cli")
        let folder = try temporaryFolder(self)
        var run = try runDcn(["verify", golden, "--plugin", library, "--report-dir", folder, "--quiet"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        run = try runDcn(["verify", golden, "--plugin", library, "--plugin-symbol", "nope", "--report-dir", folder], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("no symbol 'nope'"), run.stderr)
        run = try runDcn(["run", golden, "--plugin", library, "--out", folder + "/out.h5"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        run = try runDcn(["verify", golden, "--outputs", folder + "/out.h5", "--report-dir", folder, "--json", folder + "/v.json"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let report = try ReportJSON.decode(VerifyReport.self, contentsOf: folder + "/v.json")
        XCTAssertEqual(report.kernels.map(\.name), ["example-c"])
        XCTAssertEqual(report.kernels.first?.uAcc, UnitRoundoff.float32)
    }
}


