import Conformance
import Foundation
import XCTest

/// tools/python/dcn_golden.py's own tests (python unittest), run against the dcn built with these
/// tests: layouts, a golden file's reference values written as outputs pass `dcn verify --outputs`
/// and a perturbed one fails, and h5py-written inputs become a golden file. CI installs numpy and
/// h5py, so this runs there; elsewhere it is skipped when they are missing.
final class PythonHelperTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testPythonHelperUnitTestsPass() throws {
        let executable = try dcnExecutable()
        let (status, text) = try runPython(["-m", "unittest", "discover", "-v", "-s", Self.root.appendingPathComponent("tools/python").path],
                                           environment: ["DCN": executable.path])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("Ran 6 tests"), text)
        XCTAssertFalse(text.contains("skipped"), "the round trips ran: \(text)")
    }
}
