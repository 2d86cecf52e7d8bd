import XCTest
@testable import HDF5

/// Every identifier the module opens must be closed again, on failing paths too.
final class LeakTests: HDF5TestCase {
    func testTenThousandOpensLeaveNothingOpen() throws {
        let file = path("leak.h5")
        do {
            let root = try File.create(file).root
            let group = try root.createGroup("g")
            try group.write("x", shape: [2, 2], values: [Float16(1), 2, 3, 4], gzipLevel: 1)
            try group.setAttribute("s", string: "vlen")
            try group.setAttribute("f", string: "fixed", format: .fixed(8))
            try group.setAttribute("b", bool: true)
            try group.setAttribute("u", [UInt64.max, 1])
        }
        let fixture = try fixturePath()
        let objectsBefore = File.openObjectCount()
        let identifiersBefore = File.openIdentifierCounts()

        for iteration in 0..<10_000 {
            let handle = try File.open(file)
            let group = try handle.root.openGroup("g")
            _ = try group.read("x", as: Float.self)
            _ = try group.attribute("s")
            XCTAssertNil(try group.attribute("missing"))
            // Failing operations between successful ones.
            XCTAssertThrowsError(try group.read("missing", as: Float.self))
            XCTAssertThrowsError(try group.openGroup("missing"))
            XCTAssertThrowsError(try group.datasetInfo("missing"))
            XCTAssertThrowsError(try File.open(file + ".missing"))
            if iteration % 10 == 0 {
                _ = try group.attribute("f")
                _ = try group.attribute("b")
                _ = try group.attribute("u")
                _ = try group.members()
                _ = try group.attributeNames()
                _ = try group.datasetInfo("x")
                let data = try File.open(fixture).root.openGroup("data")
                XCTAssertThrowsError(try data.read("text", as: Float.self))
                XCTAssertThrowsError(try data.read("compound", as: Float.self))
            }
            if iteration % 2 == 0 { handle.close() }
        }

        XCTAssertEqual(File.openObjectCount(), objectsBefore)
        XCTAssertEqual(File.openIdentifierCounts(), identifiersBefore)
    }

    func testAClosedFileStaysUsableThroughItsGroups() throws {
        let file = path("weak.h5")
        try File.create(file).root.write("x", shape: [1], values: [Int8(5)])
        let before = File.openObjectCount()
        let handle = try File.open(file)
        let root = try handle.root
        handle.close()
        XCTAssertEqual(try root.read("x", as: Int8.self).values, [5])
        root.close()
        root.close()
        XCTAssertEqual(File.openObjectCount(), before)
        assertHDF5Error { try root.read("x", as: Int8.self) }
    }
}
