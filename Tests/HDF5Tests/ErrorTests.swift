import Foundation
import XCTest
@testable import HDF5

final class ErrorTests: HDF5TestCase {
    func testOpeningAMissingFile() {
        let file = path("does-not-exist.h5")
        let error = assertHDF5Error { try File.open(file) }
        assertNames(error, file: file, object: "/")
        XCTAssertEqual(error?.operation, "open file")
        XCTAssertEqual(error?.description.hasPrefix("\(file): /: cannot open file: "), true, error?.description ?? "")
    }

    func testOpeningATruncatedFile() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: fixturePath()))
        let file = path("truncated.h5")
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: file))
        let error = assertHDF5Error { () throws -> [Float] in
            // Whether HDF5 notices at open or only at the first read, it must be an HDF5Error.
            let data = try File.open(file).root.openGroup("data")
            return try data.read("gz", as: Float.self).values
        }
        XCTAssertEqual(error?.file, file)
        XCTAssertTrue(error?.description.contains(file) ?? false)
        XCTAssertFalse(error?.detail.isEmpty ?? true)
    }

    func testOpeningANonHDF5File() throws {
        let file = path("not-hdf5.h5")
        try Data("this is plain text, not HDF5\n".utf8).write(to: URL(fileURLWithPath: file))
        let error = assertHDF5Error { try File.open(file) }
        assertNames(error, file: file, object: "/")
        XCTAssertTrue(error?.detail.contains("signature") ?? false, error?.description ?? "")
    }

    func testReadingAMissingDatasetAndAttribute() throws {
        let file = path("missing.h5")
        try File.create(file).root.createGroup("cases").write("x", shape: [1], values: [Float(1)])
        let cases = try File.open(file).root.openGroup("cases")
        let error = assertHDF5Error { try cases.read("y", as: Float.self) }
        assertNames(error, file: file, object: "/cases/y")
        XCTAssertEqual(error?.operation, "read dataset")
        assertNames(assertHDF5Error { try cases.datasetInfo("y") }, file: file, object: "/cases/y")
        XCTAssertNil(try cases.attribute("nope"))
    }

    func testReadingAStringDatasetAsFloat() throws {
        let file = try fixturePath()
        let error = assertHDF5Error { try File.open(file).root.read("data/text", as: Float.self) }
        assertNames(error, file: file, object: "/data/text")
        XCTAssertTrue(error?.detail.contains("string") ?? false, error?.description ?? "")
    }

    func testCorruptFilesNeverCrash() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: fixturePath()))
        // Overwrite one window at a time with garbage, then read everything that still opens.
        for (index, start) in stride(from: 0, to: good.count, by: 211).enumerated() {
            var bytes = [UInt8](good)
            for offset in start..<min(start + 24, bytes.count) { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 151 &+ 7) }
            let file = path("corrupt-\(index).h5")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            if let root = try? File.open(file).root { walk(root) }
        }
    }

    /// Reads every dataset and attribute reachable from `group`, ignoring errors.
    private func walk(_ group: Group, depth: Int = 0) {
        guard depth < 8 else { return }
        _ = try? group.attributeNames().map { try? group.attribute($0) }
        for member in (try? group.members()) ?? [] {
            switch member.kind {
            case .group:
                if let child = try? group.openGroup(member.name) { walk(child, depth: depth + 1) }
            case .dataset:
                _ = try? group.datasetInfo(member.name)
                _ = try? group.read(member.name, as: Double.self)
            case .other:
                break
            }
        }
    }

    func testErrorDescriptionFormat() {
        let error = HDF5Error(file: "a.h5", object: "/x@y", operation: "read attribute", detail: "boom")
        XCTAssertEqual(error.description, "a.h5: /x@y: cannot read attribute: boom")
        XCTAssertEqual(StoredType.float(bits: 16).description, "float16")
        XCTAssertEqual(StoredType.integer(bits: 64, signed: false).description, "uint64")
        XCTAssertEqual(StringFormat.variableUTF8, StringFormat(charset: .utf8, length: nil, padding: .nullPadded))
        XCTAssertNotEqual(StringFormat.fixed(4), StringFormat.fixed(4, padding: .nullTerminated))
    }
}
