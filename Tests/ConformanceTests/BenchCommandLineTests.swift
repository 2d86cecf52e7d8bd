import Conformance
import DeformConv
import Foundation
import XCTest

/// `dcn bench` run as a subprocess, as scripts call it: tiny shapes, few runs.
final class BenchCommandLineTests: XCTestCase {
    private let quick = ["--runs", "2", "--min-runs", "1", "--max-seconds", "1", "--peak-seconds", "0.002", "--threads", "2"]

    func testBenchWritesJSONMarkdownAndSVG() throws {
        let folder = try temporaryFolder(self)
        let peers = folder + "/peers.json"
        try Data(BenchTests.peersJSON(cpu: MachineInfo.current(threads: 2).cpu, cores: ProcessInfo.processInfo.activeProcessorCount).utf8)
            .write(to: URL(fileURLWithPath: peers))
        let run = try runDcn(["bench", "--shape", "tiny:mb1ic8ih8oc8kh3ph1pw1", "--kernel", "naive", "--json", folder + "/bench.json",
                           "--report-dir", folder + "/reports", "--peers", peers] + quick)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        for file in ["bench.json", "reports/performance.md", "reports/performance.svg", "reports/performance.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + file), file)
        }
        let report = try ReportJSON.decode(BenchReport.self, contentsOf: folder + "/bench.json")
        XCTAssertEqual(report.results.map(\.kernel), ["naive", "onnxruntime"])
        XCTAssertEqual(report.results.map(\.shape), ["tiny:ic8ih8oc8kh3ph1pw1", "tiny:ic8ih8oc8kh3ph1pw1"])
        XCTAssertEqual(report.machine.threads, 2)
        XCTAssertTrue(run.stdout.contains("FMA peak"), run.stdout)
        XCTAssertTrue(run.stdout.contains("skipped: mindspore"), "a skipped peer is printed: \(run.stdout)")
    }

    func testPassBothTimesTheBackwardToo() throws {
        let folder = try temporaryFolder(self)
        let run = try runDcn(["bench", "--shape", "tiny:ic8ih8oc8kh3ph1pw1", "--kernel", "naive", "--kernel", "fp16acc", "--pass", "both",
                              "--json", folder + "/bench.json", "--report-dir", folder] + quick)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let report = try ReportJSON.decode(BenchReport.self, contentsOf: folder + "/bench.json")
        XCTAssertEqual(report.results.map { "\($0.kernel) \($0.pass)" }, ["naive forward", "fp16acc forward", "naive backward"])
        XCTAssertTrue(run.stdout.contains("tiny  naive backward  1 thread"), run.stdout)
        XCTAssertTrue(run.stdout.contains("skipped: fp16acc backward: fp16acc has no backward pass"), run.stdout)
        let forward = try runDcn(["bench", "--shape", "tiny:ic8ih8oc8kh3ph1pw1", "--kernel", "naive", "--json", folder + "/f.json",
                                  "--report-dir", folder] + quick)
        XCTAssertEqual(try ReportJSON.decode(BenchReport.self, contentsOf: folder + "/f.json").results.map(\.pass), ["forward"], "forward by default")
        XCTAssertEqual(forward.status, 0)
        XCTAssertEqual(try runDcn(["bench", "--shape", "tiny:ic8ih8oc8kh3ph1pw1", "--pass", "sideways", "--report-dir", folder] + quick).status, 2)
    }

    func testDefaultKernelsAreAnnounced() throws {
        let folder = try temporaryFolder(self)
        let run = try runDcn(["bench", "--shape", "ic4ih5oc4kh3", "--report-dir", folder] + quick)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("not timed by default: reference"), run.stdout)
        XCTAssertTrue(run.stdout.contains("ic4ih5oc4kh3  naive"), "naive runs on custom shapes: \(run.stdout)")
    }

    func testBadUsageExitsTwo() throws {
        let folder = try temporaryFolder(self)
        let bad = try runDcn(["bench", "--shape", "r50:ic128ih8oc8kh3zz1", "--report-dir", folder] + quick)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("unknown key 'zz'"), bad.stderr)
        let invalid = try runDcn(["bench", "--shape", "ic6ih8oc8kh3g4", "--report-dir", folder] + quick)
        XCTAssertEqual(invalid.status, 2)
        XCTAssertTrue(invalid.stderr.contains("groups"), invalid.stderr)
        let kernel = try runDcn(["bench", "--shape", "ic4ih5oc4kh3", "--kernel", "no-such-kernel", "--report-dir", folder] + quick)
        XCTAssertEqual(kernel.status, 2)
        // Refused while the command line is read (KernelName), with the kernels listed.
        XCTAssertTrue(kernel.stderr.contains("'no-such-kernel' is invalid for '--kernel <name>'"), kernel.stderr)
        XCTAssertTrue(KernelRegistry.names.allSatisfy { kernel.stderr.contains("'\($0)'") }, kernel.stderr)
        XCTAssertEqual(try runDcn(["bench", "--shape", "ic4ih5oc4kh3", "--peers", folder + "/missing.json", "--report-dir", folder] + quick).status, 2)
        XCTAssertEqual(try runDcn(["bench", "--shape", "ic4ih5oc4kh3", "--runs", "0", "--report-dir", folder]).status, 2)
        XCTAssertEqual(try runDcn(["bench", "--threads", "0", "--report-dir", folder]).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/performance.md"), "nothing is written on bad usage")
    }
}
