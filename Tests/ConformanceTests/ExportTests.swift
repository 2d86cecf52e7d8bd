import Conformance
import Foundation
import XCTest

/// `dcn export` and the offsets layouts (the data checks against numpy are in tools/python's tests).
final class ExportTests: XCTestCase {
    func testTorchvisionChannelsAreDyDxPairsThenMasks() {
        // SPEC section 1: dcn channel k (dx) is torchvision offset channel 2k+1, K+k (dy) is 2k, 2K+k is mask k.
        XCTAssertEqual(OffsetsLayout.torchvision.dcnChannels(taps: 2), [2, 0, 3, 1, 4, 5])
        XCTAssertEqual(OffsetsLayout.onnx.dcnChannels(taps: 2), [2, 0, 3, 1, 4, 5])
        let values = (0..<(2 * 9 * 5)).map(Double.init)
        let layout = OffsetsLayout.torchvision.fromDcn(values, batch: 2, taps: 3, pixels: 5)
        XCTAssertEqual(Array(layout[0..<5]), Array(values[15..<20]), "the first channel is tap 0's dy")
        XCTAssertEqual(OffsetsLayout.torchvision.toDcn(layout, batch: 2, taps: 3, pixels: 5), values)
    }

    func testExportListsWhatCannotBeExpressedAndFailsCleanly() throws {
        let folder = try temporaryFolder(self)
        let run = try runDcn(["export", defaultSuitePath, "--layout", "torchvision", "--out", folder + "/tv.h5"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("asymmetric-padding: padding (top, bottom, left, right) = (0, 2, 1, 0) is asymmetric"), run.stdout)
        let onnx = try runDcn(["export", defaultSuitePath, "--layout", "onnx", "--out", folder + "/onnx.h5"])
        XCTAssertTrue(onnx.stdout.contains("\(DefaultSuite.valid.count) cases in the onnx layout; \(DefaultSuite.errors.count) cases cannot"), onnx.stdout)
        XCTAssertEqual(try runDcn(["export", folder + "/missing.h5", "--layout", "onnx", "--out", folder + "/x.h5"]).status, 2)
        XCTAssertEqual(try runDcn(["export", defaultSuitePath, "--layout", "caffe", "--out", folder + "/x.h5"]).status, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["onnx.h5", "tv.h5"])
    }
}
