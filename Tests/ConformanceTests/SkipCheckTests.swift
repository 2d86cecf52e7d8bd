import Foundation
import XCTest

/// scripts/check-skips, which `.ci/run` runs on `swift test`'s log: a skip fails CI unless the
/// README's allow-list names it.
final class SkipCheckTests: XCTestCase {
    static let skippingLog = """
        Test Case 'ProbeTests.testRuns' passed (0.004 seconds)
        /tmp/P.swift:3: ProbeTests.testSkips : Test skipped - skipped: no browser
        Test Case 'ProbeTests.testSkips' skipped (0.003 seconds)
        Test Suite 'All tests' passed at 2026-12-01 23:09:55.372
        \t Executed 2 tests, with 1 test skipped and 0 failures (0 unexpected) in 0.111 (0.111) seconds

        """

    /// The script's exit status and output on `log` with `readme` (the committed README when nil).
    private func check(_ log: String, readme: String? = nil) throws -> (status: Int32, output: String) {
        let folder = try temporaryFolder(self)
        try log.write(toFile: folder + "/test.log", atomically: true, encoding: .utf8)
        var arguments = [byoPackageRoot.appendingPathComponent("scripts/check-skips").path, folder + "/test.log"]
        if let readme {
            try readme.write(toFile: folder + "/README.md", atomically: true, encoding: .utf8)
            arguments.append(folder + "/README.md")
        } else {
            arguments.append(byoPackageRoot.appendingPathComponent("README.md").path)
        }
        return try runTool("/bin/bash", arguments)
    }

    func testASkipNotInTheAllowListFails() throws {
        let result = try check(Self.skippingLog)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("ProbeTests.testSkips: skipped: no browser"), result.output)
    }

    func testAnAllowedSkipPasses() throws {
        let readme = "<!-- ci-skip-allow-list -->\n- `ProbeTests.testSkips`: no browser on this runner\n<!-- /ci-skip-allow-list -->\n"
        let result = try check(Self.skippingLog, readme: readme)
        XCTAssertEqual(result.status, 0, result.output)
        // The same name outside the markers allows nothing.
        let outside = try check(Self.skippingLog, readme: "- `ProbeTests.testSkips`: no browser\n")
        XCTAssertEqual(outside.status, 1, outside.output)
    }

    func testNoSkipsPassAndNoSummaryFails() throws {
        let clean = try check("\t Executed 2 tests, with 0 failures (0 unexpected) in 0.1 (0.1) seconds\n")
        XCTAssertEqual(clean.status, 0, clean.output)
        XCTAssertTrue(clean.output.contains("0 skipped tests"), clean.output)
        XCTAssertEqual(try check("error: build failed\n").status, 1)
    }
}
