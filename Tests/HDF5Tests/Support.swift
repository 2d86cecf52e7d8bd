import Foundation
import XCTest
@testable import HDF5

/// A fresh directory per test, removed afterwards.
class HDF5TestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hdf5-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The h5py-written fixture, from the test bundle.
    func fixturePath(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = Bundle.module.url(forResource: "h5py-fixture", withExtension: "h5", subdirectory: "Fixtures")
        return try XCTUnwrap(url, "Fixtures/h5py-fixture.h5 missing from the test bundle", file: file, line: line).path
    }

    /// Asserts that `body` throws an HDF5Error and returns it.
    @discardableResult
    func assertHDF5Error<R>(_ body: () throws -> R, file: StaticString = #filePath, line: UInt = #line) -> HDF5Error? {
        do {
            _ = try body()
            XCTFail("expected an HDF5Error", file: file, line: line)
            return nil
        } catch let error as HDF5Error {
            return error
        } catch {
            XCTFail("expected an HDF5Error, got \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts that the error names `file` and `object` in its fields and its description.
    func assertNames(_ error: HDF5Error?, file: String, object: String,
                     sourceFile: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return }
        XCTAssertEqual(error.file, file, file: sourceFile, line: line)
        XCTAssertEqual(error.object, object, file: sourceFile, line: line)
        XCTAssertTrue(error.description.contains(file), error.description, file: sourceFile, line: line)
        XCTAssertTrue(error.description.contains(object), error.description, file: sourceFile, line: line)
        XCTAssertFalse(error.detail.isEmpty, error.description, file: sourceFile, line: line)
    }
}

/// Bitwise equality, so that NaN and -0.0 compare exactly.
func sameBits(_ a: [Float16], _ b: [Float16]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }
func sameBits(_ a: [Float], _ b: [Float]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }
func sameBits(_ a: [Double], _ b: [Double]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }
