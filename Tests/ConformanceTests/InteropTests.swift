import Conformance
import Foundation
import XCTest

/// The committed golden file read by h5py and recomputed by an independent numpy
/// implementation (tools/interop/check_golden.py).
final class InteropTests: XCTestCase {
    func testNumpyRecomputesTheCommittedSuite() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import h5py, numpy"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { throw XCTSkip("skipped: python3 is not available") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("skipped: python3 lacks h5py or numpy (pip install h5py numpy)") }

        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", root.appendingPathComponent("tools/interop/check_golden.py").path,
                           root.appendingPathComponent("vectors/dcn-default.h5").path]
        let output = Pipe()
        check.standardOutput = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("\(DefaultSuite.valid.count) passed, 0 failed"), text)
    }
}
