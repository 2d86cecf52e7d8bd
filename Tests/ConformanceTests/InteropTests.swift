import Conformance
import Foundation
import HDF5
import XCTest

/// The committed golden file read by h5py and recomputed by an independent numpy
/// implementation (tools/interop/check_golden.py), and an outputs file written by h5py read by dcn
/// (tools/interop/write_outputs.py).
final class InteropTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private static let committedSuite = root.appendingPathComponent("vectors/dcn-default.h5").path

    func testNumpyRecomputesTheCommittedSuite() throws {
        let (status, text) = try python("tools/interop/check_golden.py", [Self.committedSuite])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("\(DefaultSuite.valid.count) passed, 0 failed"), text)
    }

    /// h5py writes y and the four gradients in the case dtype (float16 as h5py stores it), and the
    /// errors as its string attributes; dcn reads the file as a source with a backward pass and every
    /// case passes, the backward of every case with gy included.
    func testOutputsFileWrittenByH5pyWithGradientsIsRead() throws {
        let out = try temporaryFolder(self) + "/h5py.h5"
        let (status, text) = try python("tools/interop/write_outputs.py", [Self.committedSuite, out])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("\(DefaultSuite.valid.count) gradients"), text)
        let info = try OutputsFileInfo(path: out)
        XCTAssertTrue(info.recordsBackward)
        XCTAssertEqual(info.kernel, "h5py-golden")
        let report = Verifier(sources: [try SourceSpecification(kernelArgument: "outputs:" + out).build()]).run(files: [Self.committedSuite])
        XCTAssertTrue(report.unreadable.isEmpty, "\(report.unreadable)")
        for result in report.results where result.status != .pass {
            XCTFail("\(result.caseName): \(result.message ?? "")")
        }
        let backwardErrors = DefaultSuite.errors.count { $0.name.hasPrefix("grad-") }
        XCTAssertEqual(report.summary.backward?.passed, DefaultSuite.valid.count + backwardErrors,
                       "every valid case of the committed suite has gy, and so do its backward error cases")
        XCTAssertEqual(report.summary.backward?.notImplemented, 0)
        XCTAssertTrue(report.results.contains { $0.dtype == "float16" && $0.backward?.status == .pass }, "h5py's float16 gradients are read")
    }

    /// Runs a script of tools/ with python3; skips the test where python3, h5py or numpy is missing.
    private func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import h5py, numpy"]
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { throw XCTSkip("skipped: python3 is not available") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("skipped: python3 lacks h5py or numpy (pip install h5py numpy)") }

        return try runTool("/usr/bin/env", ["python3", Self.root.appendingPathComponent(script).path] + arguments)
    }
}
