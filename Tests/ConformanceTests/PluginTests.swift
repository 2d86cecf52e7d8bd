@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// C kernel plugins (include/dcn_kernel.h): the example plugin passes the gate, a planted bug
/// fails it at a named case and element, bad plugins are clear errors.
final class PluginTests: XCTestCase {
    /// The suite's cases with gy: every valid case, and the backward error cases.
    static let backwardCases = DefaultSuite.valid.count + DefaultSuite.errors.count { $0.name.hasPrefix("grad-") }

    private func compile(_ source: String, defines: [String] = [], as name: String) throws -> String {
        try compilePlugin(source, defines: defines, as: name, for: self)
    }

    private var golden: String { byoPackageRoot.appendingPathComponent("vectors/dcn-default.h5").path }

    func testExamplePluginPassesTheGate() throws {
        let plugin = try PluginSource(path: try compile("example_kernel.c", as: "example"))
        XCTAssertEqual(plugin.name, "example-c")
        XCTAssertEqual(plugin.passes, [.forward, .backward])
        XCTAssertEqual(plugin.backwardSymbol, "dcn_kernel_backward")
        let report = Verifier(sources: [plugin]).run(files: [golden])
        XCTAssertGreaterThan(report.summary.cases, 100)
        XCTAssertEqual(report.summary.failed, 0, report.results.filter { $0.status == .fail }.map { "\($0.caseName): \($0.message ?? "")" }.joined(separator: "\n"))
        XCTAssertTrue(report.results.contains { $0.dtype == "float16" && $0.expect == "ok" && $0.status == .pass })
        XCTAssertTrue(report.results.contains { $0.tags.contains("exact") && $0.ratio == 0 })
        // The backward too: every valid case has gy, float16 ones get half buffers, and the exact
        // cases are reproduced bit for bit (the derivative from the right at every integer position).
        let backward = report.results.compactMap(\.backward)
        XCTAssertEqual(backward.count, Self.backwardCases)
        XCTAssertTrue(backward.allSatisfy { $0.status == .pass && $0.convention == nil })
        XCTAssertTrue(report.results.contains { $0.dtype == "float16" && $0.backward?.status == .pass })
        let exact = report.results.filter { $0.tags.contains("exact") }
        XCTAssertFalse(exact.isEmpty)
        for result in exact { XCTAssertEqual(result.backward?.ratio, 0, result.caseName) }
    }

    /// The backward built with mmcv's convention (no offsets gradient at p = −1) fails the cases with
    /// positions at −1, only in the x- and y-offset blocks, and the report names the convention.
    func testPlantedMMCVConventionFailsBackwardAndIsNamed() throws {
        let plugin = try PluginSource(path: try compile("example_kernel.c", defines: ["-DDCN_PLANTED_MMCV"], as: "mmcv"))
        XCTAssertEqual(plugin.name, "example-c-mmcv")
        let report = Verifier(sources: [plugin]).run(files: [golden])
        XCTAssertEqual(report.exitCode, 1)
        let failed = report.results.filter { $0.status == .fail }
        XCTAssertGreaterThan(failed.count, 5)
        XCTAssertTrue(report.results.contains { $0.backward?.status == .pass }, "cases without a position at −1 pass")
        for result in failed {
            XCTAssertEqual(result.accuracy.map(\.passed), true, "the forward is correct: \(result.caseName)")
            let backward = try XCTUnwrap(result.backward)
            XCTAssertEqual(backward.status, .fail)
            XCTAssertEqual(Set(backward.tensors.filter { !$0.passed }.map(\.tensor)).subtracting(["x_offset", "y_offset"]), [], result.caseName)
            for tensor in backward.tensors where !tensor.passed {
                XCTAssertEqual(tensor.failedAtIntegerPositions, tensor.failedElements, "\(result.caseName) \(tensor.tensor)")
                XCTAssertTrue(tensor.failures.allSatisfy { $0.got == 0 }, "mmcv's zero: \(result.caseName)")
            }
            XCTAssertEqual(backward.convention, "zero_at_minus_one", result.caseName)
            XCTAssertTrue(result.message?.contains("matches mmcv's zero at p = −1") == true, result.message ?? "")
        }
        let markdown = AccuracyReport.markdown(report, command: "dcn verify --plugin libmmcv.so")
        XCTAssertTrue(markdown.contains("| mmcv's zero at p = −1 (\(failed.count) cases) |"), markdown)
    }

    /// The forward's planted bug breaks the mask gradient and gweight too (the same bilinear sample):
    /// failures away from the offsets blocks' integer positions name no convention.
    func testOtherBackwardFailuresNameNoConvention() throws {
        let plugin = try PluginSource(path: try compile("example_kernel.c", defines: ["-DDCN_PLANTED_BUG"], as: "bugback"))
        let report = Verifier(sources: [plugin], passes: [.backward]).run(files: [golden])
        let failed = report.results.compactMap(\.backward).filter { $0.status == .fail }
        XCTAssertFalse(failed.isEmpty)
        XCTAssertTrue(failed.allSatisfy { $0.convention == nil && $0.message?.contains("matches") == false })
    }

    func testNonzeroBackwardStatusFailsTheBackwardPart() throws {
        let plugin = try PluginSource(path: try compile("failing_kernel.c", defines: ["-DDCN_FAILING_BACKWARD"], as: "failingback"))
        XCTAssertEqual(plugin.passes, [.forward, .backward])
        let report = Verifier(sources: [plugin], passes: [.backward]).run(files: [golden])
        let results = report.results.filter { $0.backward != nil && $0.expect == "ok" }
        XCTAssertEqual(results.count, DefaultSuite.valid.count, "the backward error cases are rejected before the plugin is called")
        for result in results {
            XCTAssertEqual(result.status, .fail, result.caseName)
            XCTAssertEqual(result.backward?.status, .fail)
            XCTAssertTrue(result.backward?.message?.hasPrefix("plugin returned status 9") == true, result.backward?.message ?? "")
            XCTAssertTrue(result.message?.contains("backward: plugin returned status 9") == true, result.message ?? "")
        }
    }

    func testPluginWithoutABackwardSymbolIsNotImplemented() throws {
        let library = try compile("failing_kernel.c", as: "noback")
        let plugin = try PluginSource(path: library)
        XCTAssertEqual(plugin.passes, [.forward])
        XCTAssertNil(plugin.backwardSymbol)
        let report = Verifier(sources: [plugin], passes: [.backward]).run(files: [golden])
        let results = report.results.filter { $0.backward != nil }
        XCTAssertEqual(results.count, Self.backwardCases)
        XCTAssertTrue(results.allSatisfy { $0.status == .notImplemented && $0.backward?.status == .notImplemented })
        XCTAssertEqual(report.summary.notImplemented, Self.backwardCases)
        XCTAssertEqual(report.summary.failed, 0)
        // Asking for a backward entry point by name makes its absence an error.
        XCTAssertThrowsError(try PluginSource(path: library, backwardSymbol: "dcn_kernel_backward")) { error in
            XCTAssertTrue("\(error)".contains("no symbol 'dcn_kernel_backward'"), "\(error)")
        }
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
        run = try runDcn(["verify", golden, "--plugin", library, "--plugin-backward-symbol", "nope_back", "--report-dir", folder], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("no symbol 'nope_back'"), run.stderr)
        // The backward entry point by name, through the reader child processes.
        run = try runDcn(["verify", golden, "--plugin", library, "--plugin-backward-symbol", "dcn_kernel_backward", "--pass", "backward",
                          "--report-dir", folder, "--quiet"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("\(Self.backwardCases) passed, 0 failed (\(Self.backwardCases) cases"), run.stdout)
        run = try runDcn(["run", golden, "--plugin", library, "--out", folder + "/out.h5"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        run = try runDcn(["verify", golden, "--outputs", folder + "/out.h5", "--report-dir", folder, "--json", folder + "/v.json"], in: byoPackageRoot.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let report = try ReportJSON.decode(VerifyReport.self, contentsOf: folder + "/v.json")
        XCTAssertEqual(report.kernels.map(\.name), ["example-c"])
        XCTAssertEqual(report.kernels.first?.uAcc, UnitRoundoff.float32)
    }
}


