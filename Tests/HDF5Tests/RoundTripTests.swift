import XCTest
@testable import HDF5

final class RoundTripTests: HDF5TestCase {
    func testFloatWidthsRoundTripWithShapeAndStoredType() throws {
        let file = path("floats.h5")
        let halves: [Float16] = [0.5, -1.25, 65504, -0.0, .infinity, Float16(bitPattern: 0x0001)]
        let singles: [Float] = [1.5, -2.25, .greatestFiniteMagnitude, -0.0, .infinity, .leastNonzeroMagnitude]
        let doubles: [Double] = [0.1, -1e300, .pi, -0.0, -.infinity, .leastNonzeroMagnitude]
        do {
            let root = try File.create(file).root
            try root.write("f16", shape: [2, 3], values: halves)
            try root.write("f32", shape: [3, 2], values: singles)
            try root.write("f64", shape: [6], values: doubles)
        }
        let root = try File.open(file).root
        let h = try root.read("f16", as: Float16.self)
        XCTAssertEqual(h.shape, [2, 3])
        XCTAssertTrue(sameBits(h.values, halves), "\(h.values)")
        let s = try root.read("f32", as: Float.self)
        XCTAssertEqual(s.shape, [3, 2])
        XCTAssertTrue(sameBits(s.values, singles), "\(s.values)")
        let d = try root.read("f64", as: Double.self)
        XCTAssertEqual(d.shape, [6])
        XCTAssertTrue(sameBits(d.values, doubles), "\(d.values)")
        XCTAssertEqual(try root.datasetInfo("f16").type, .float(bits: 16))
        XCTAssertEqual(try root.datasetInfo("f32").type, .float(bits: 32))
        XCTAssertEqual(try root.datasetInfo("f64").type, .float(bits: 64))
    }

    func testHalfDatasetReadsAsFloatAndDoubleAndBack() throws {
        let file = path("half.h5")
        let halves: [Float16] = [0.5, -1.25, 2048, 0.0009765625, -65504]
        let singles: [Float] = [0.25, -3.5, 1024]
        do {
            let root = try File.create(file).root
            try root.write("half", shape: [5], values: halves)
            try root.write("single", shape: [3], values: singles)
        }
        let root = try File.open(file).root
        XCTAssertEqual(try root.read("half", as: Float.self).values, halves.map { Float($0) })
        XCTAssertEqual(try root.read("half", as: Double.self).values, halves.map { Double($0) })
        XCTAssertEqual(try root.read("single", as: Float16.self).values, singles.map { Float16($0) })
        XCTAssertEqual(try root.read("half", as: Int32.self).values, [0, -1, 2048, 0, -65504])
    }

    func testEveryIntegerWidthAndSignednessRoundTrips() throws {
        let file = path("ints.h5")
        do {
            let root = try File.create(file).root
            try root.write("i8", shape: [3], values: [Int8.min, 0, .max])
            try root.write("i16", shape: [3], values: [Int16.min, -1, .max])
            try root.write("i32", shape: [3], values: [Int32.min, 7, .max])
            try root.write("i64", shape: [3], values: [Int64.min, -7, .max])
            try root.write("u8", shape: [2], values: [UInt8.min, .max])
            try root.write("u16", shape: [2], values: [UInt16.min, .max])
            try root.write("u32", shape: [2], values: [UInt32.min, .max])
            try root.write("u64", shape: [3], values: [UInt64.min, UInt64(Int64.max) + 1, .max])
        }
        let root = try File.open(file).root
        XCTAssertEqual(try root.read("i8", as: Int8.self).values, [Int8.min, 0, .max])
        XCTAssertEqual(try root.read("i16", as: Int16.self).values, [Int16.min, -1, .max])
        XCTAssertEqual(try root.read("i32", as: Int32.self).values, [Int32.min, 7, .max])
        XCTAssertEqual(try root.read("i64", as: Int64.self).values, [Int64.min, -7, .max])
        XCTAssertEqual(try root.read("u8", as: UInt8.self).values, [UInt8.min, .max])
        XCTAssertEqual(try root.read("u16", as: UInt16.self).values, [UInt16.min, .max])
        XCTAssertEqual(try root.read("u32", as: UInt32.self).values, [UInt32.min, .max])
        XCTAssertEqual(try root.read("u64", as: UInt64.self).values, [UInt64.min, UInt64(Int64.max) + 1, .max])
        let expected: [String: StoredType] = [
            "i8": .integer(bits: 8, signed: true), "i16": .integer(bits: 16, signed: true),
            "i32": .integer(bits: 32, signed: true), "i64": .integer(bits: 64, signed: true),
            "u8": .integer(bits: 8, signed: false), "u16": .integer(bits: 16, signed: false),
            "u32": .integer(bits: 32, signed: false), "u64": .integer(bits: 64, signed: false),
        ]
        for (name, type) in expected {
            XCTAssertEqual(try root.datasetInfo(name).type, type, name)
            XCTAssertNil(try root.datasetInfo(name).chunks, name)
        }
        // HDF5 converts between integer and float types on read.
        XCTAssertEqual(try root.read("i16", as: Double.self).values, [-32768, -1, 32767])
    }

    func testRanksZeroToFour() throws {
        let file = path("ranks.h5")
        let shapes: [[Int]] = [[], [5], [2, 3], [2, 3, 4], [2, 1, 3, 2]]
        do {
            let root = try File.create(file).root
            for shape in shapes {
                let count = shape.reduce(1, *)
                try root.write("rank\(shape.count)", shape: shape, values: (0..<count).map { Double($0) * 0.5 - 3 })
            }
            try root.write("empty", shape: [0, 3], values: [Int32]())
        }
        let root = try File.open(file).root
        for shape in shapes {
            let count = shape.reduce(1, *)
            let read = try root.read("rank\(shape.count)", as: Double.self)
            XCTAssertEqual(read.shape, shape)
            XCTAssertEqual(read.values, (0..<count).map { Double($0) * 0.5 - 3 })
            XCTAssertEqual(try root.datasetInfo("rank\(shape.count)").shape, shape)
        }
        let empty = try root.read("empty", as: Int32.self)
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.values, [])
    }

    func testChunkedGzipDatasetRoundTrips() throws {
        let file = path("gzip.h5")
        let values = (0..<600).map { Float(($0 * 37) % 101) / 8 }
        do {
            let root = try File.create(file).root
            try root.write("gz", shape: [10, 20, 3], values: values, chunks: [5, 7, 3], gzipLevel: 6)
            try root.write("auto", shape: [600], values: values, gzipLevel: 9)
            try root.write("chunked", shape: [600], values: values, chunks: [64])
        }
        let root = try File.open(file).root
        let gz = try root.datasetInfo("gz")
        XCTAssertEqual(gz.shape, [10, 20, 3])
        XCTAssertEqual(gz.chunks, [5, 7, 3])
        XCTAssertEqual(gz.filters, ["gzip"])
        XCTAssertEqual(gz.type, .float(bits: 32))
        XCTAssertEqual(try root.read("gz", as: Float.self).values, values)
        XCTAssertEqual(try root.datasetInfo("auto").chunks, [600])
        XCTAssertEqual(try root.datasetInfo("auto").filters, ["gzip"])
        XCTAssertEqual(try root.read("auto", as: Float.self).values, values)
        XCTAssertEqual(try root.datasetInfo("chunked").filters, [])
        XCTAssertEqual(try root.read("chunked", as: Double.self).values, values.map { Double($0) })
        // Compression must actually happen: the same values, gzipped, take less room.
        let plain = path("plain.h5")
        let packed = path("packed.h5")
        let smooth = (0..<4096).map { Float($0 / 64) }
        try File.create(plain).root.write("v", shape: [4096], values: smooth, chunks: [4096])
        try File.create(packed).root.write("v", shape: [4096], values: smooth, chunks: [4096], gzipLevel: 6)
        let plainSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: plain)[.size] as? Int)
        let packedSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: packed)[.size] as? Int)
        XCTAssertLessThan(packedSize + 8 * 1024, plainSize)
    }

    func testUnwrittenDatasetsOfHugeShapesAreCreatedButNotRead() throws {
        let file = path("unwritten.h5")
        let fits = [1, 1, 32768, 32768]
        let overflows = [1, 27, (1 << 31) - 2, (1 << 31) - 2]
        do {
            let root = try File.create(file).root
            try root.createDataset("small", shape: [2, 3], of: Float16.self)
            try root.createDataset("fits", shape: fits, of: Float.self, chunks: fits.map { min($0, 64) })
            try root.createDataset("overflows", shape: overflows, of: Float.self, chunks: overflows.map { min($0, 64) })
            assertHDF5Error { try root.createDataset("negative", shape: [-1], of: Float.self) }
        }
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertLessThan(size, 64 * 1024, "nothing should have been stored")
        let root = try File.open(file).root
        XCTAssertEqual(try root.read("small", as: Float.self).values, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try root.datasetInfo("small").type, .float(bits: 16))
        XCTAssertEqual(try root.datasetInfo("fits").shape, fits)
        XCTAssertEqual(try root.datasetInfo("overflows").shape, overflows)
        XCTAssertEqual(try root.datasetInfo("overflows").chunks, [1, 27, 64, 64])
        assertNames(assertHDF5Error { try root.read("overflows", as: Float.self) }, file: file, object: "/overflows")
    }

    func testIntegerAttributesScalarAndArray() throws {
        let file = path("int-attrs.h5")
        do {
            let root = try File.create(file).root
            try root.setAttribute("i8", [Int8(-5)], scalar: true)
            try root.setAttribute("i16", [Int16.min, Int16.max])
            try root.setAttribute("i32", [Int32(-123456)], scalar: true)
            try root.setAttribute("i64", [Int64.min, 0, Int64.max])
            try root.setAttribute("u8", [UInt8(200)], scalar: true)
            try root.setAttribute("u16", [UInt16.max])
            try root.setAttribute("u32", [UInt32.max], scalar: true)
            try root.setAttribute("u64small", [UInt64(3), UInt64(Int64.max)])
            try root.setAttribute("u64big", [UInt64(1), UInt64.max], scalar: false)
            try root.setAttribute("empty", [Int32]())
        }
        let root = try File.open(file).root
        func check(_ name: String, _ type: StoredType, _ shape: [Int], _ value: AttributeValue,
                   line: UInt = #line) throws {
            let attribute = try XCTUnwrap(root.attribute(name), name, line: line)
            XCTAssertEqual(attribute, Attribute(name: name, type: type, shape: shape, value: value), line: line)
        }
        try check("i8", .integer(bits: 8, signed: true), [], .integers([-5]))
        try check("i16", .integer(bits: 16, signed: true), [2], .integers([-32768, 32767]))
        try check("i32", .integer(bits: 32, signed: true), [], .integers([-123456]))
        try check("i64", .integer(bits: 64, signed: true), [3], .integers([.min, 0, .max]))
        try check("u8", .integer(bits: 8, signed: false), [], .integers([200]))
        try check("u16", .integer(bits: 16, signed: false), [1], .integers([65535]))
        try check("u32", .integer(bits: 32, signed: false), [], .integers([4294967295]))
        try check("u64small", .integer(bits: 64, signed: false), [2], .integers([3, .max]))
        try check("u64big", .integer(bits: 64, signed: false), [2], .unsignedIntegers([1, .max]))
        try check("empty", .integer(bits: 32, signed: true), [0], .integers([]))
        XCTAssertNil(try root.attribute("missing"))
        XCTAssertEqual(try root.attributeNames(),
                       ["empty", "i16", "i32", "i64", "i8", "u16", "u32", "u64big", "u64small", "u8"])
    }

    func testFloatAttributesOfEveryWidth() throws {
        let file = path("float-attrs.h5")
        do {
            let root = try File.create(file).root
            try root.setAttribute("f16", [Float16(1.5), -0.125])
            try root.setAttribute("f32", [Float(0.25)], scalar: true)
            try root.setAttribute("f64", [Double.pi, -1e-300, 1e300])
        }
        let root = try File.open(file).root
        XCTAssertEqual(try root.attribute("f16"),
                       Attribute(name: "f16", type: .float(bits: 16), shape: [2], value: .floats([1.5, -0.125])))
        XCTAssertEqual(try root.attribute("f32"),
                       Attribute(name: "f32", type: .float(bits: 32), shape: [], value: .floats([0.25])))
        XCTAssertEqual(try root.attribute("f64"),
                       Attribute(name: "f64", type: .float(bits: 64), shape: [3], value: .floats([.pi, -1e-300, 1e300])))
    }

    func testStringAttributesInEveryFormat() throws {
        let file = path("strings.h5")
        let cases: [(String, String, StringFormat)] = [
            ("vlen_utf8", "héllo wörld ✓", .variableUTF8),
            ("vlen_ascii", "plain", .variableASCII),
            ("vlen_empty", "", .variableUTF8),
            ("fixed_nullpad", "abc", .fixed(8)),
            ("fixed_nullpad_full", "abcdefgh", .fixed(8)),
            ("fixed_nullterm", "term", .fixed(10, padding: .nullTerminated)),
            ("fixed_spacepad", "spaced", .fixed(12, padding: .spacePadded)),
            ("fixed_utf8", "über", .fixed(8, charset: .utf8)),
            ("fixed_utf8_nullterm", "ñ", .fixed(3, charset: .utf8, padding: .nullTerminated)),
        ]
        do {
            let root = try File.create(file).root
            for (name, value, format) in cases { try root.setAttribute(name, string: value, format: format) }
        }
        let root = try File.open(file).root
        for (name, value, format) in cases {
            let attribute = try XCTUnwrap(root.attribute(name), name)
            XCTAssertEqual(attribute.type, .string(format), name)
            XCTAssertEqual(attribute.shape, [], name)
            XCTAssertEqual(attribute.value, .strings([value]), name)
        }
    }

    func testStringFormatsThatCannotHoldTheValueAreRefused() throws {
        let file = path("bad-strings.h5")
        let root = try File.create(file).root
        assertNames(assertHDF5Error { try root.setAttribute("a", string: "toolong", format: .fixed(4)) },
                    file: file, object: "/@a")
        // Null-terminated needs room for the terminator.
        assertHDF5Error { try root.setAttribute("b", string: "four", format: .fixed(4, padding: .nullTerminated)) }
        assertHDF5Error { try root.setAttribute("c", string: "ü", format: .variableASCII) }
        assertHDF5Error { try root.setAttribute("d", string: "a\u{0}b") }
        XCTAssertEqual(try root.attributeNames(), [])
    }

    func testBooleansAsH5pyWritesThem() throws {
        let file = path("bools.h5")
        do {
            let root = try File.create(file).root
            try root.setAttribute("yes", bool: true)
            try root.setAttribute("no", bool: false)
        }
        let root = try File.open(file).root
        XCTAssertEqual(try root.attribute("yes"), Attribute(name: "yes", type: .boolean, shape: [], value: .booleans([true])))
        XCTAssertEqual(try root.attribute("no"), Attribute(name: "no", type: .boolean, shape: [], value: .booleans([false])))
    }

    func testSettingAnAttributeAgainReplacesIt() throws {
        let file = path("replace.h5")
        do {
            let root = try File.create(file).root
            try root.setAttribute("x", [Int32(1), 2, 3])
            try root.setAttribute("x", string: "now a string")
            try root.setAttribute("y", bool: true)
            try root.setAttribute("y", [2.5], scalar: true)
        }
        let root = try File.open(file).root
        XCTAssertEqual(try root.attribute("x")?.value, .strings(["now a string"]))
        XCTAssertEqual(try root.attribute("y"), Attribute(name: "y", type: .float(bits: 64), shape: [], value: .floats([2.5])))
        XCTAssertEqual(try root.attributeNames(), ["x", "y"])
    }

    func testGroupsNestAndListInNameOrder() throws {
        let file = path("groups.h5")
        do {
            let root = try File.create(file).root
            let cases = try root.createGroup("cases")
            let b = try cases.createGroup("b-case")
            _ = try cases.createGroup("a-case")
            try b.write("x", shape: [1], values: [Float(1)])
            try b.setAttribute("kernel_size", [Int64(3)], scalar: true)
            try root.write("top", shape: [], values: [Int8(1)])
            XCTAssertEqual(b.path, "/cases/b-case")
            XCTAssertEqual(b.filePath, file)
        }
        let root = try File.open(file).root
        XCTAssertEqual(root.path, "/")
        XCTAssertEqual(try root.members().map(\.name), ["cases", "top"])
        XCTAssertEqual(try root.members().map(\.kind), [.group, .dataset])
        let cases = try root.openGroup("cases")
        XCTAssertEqual(try cases.members().map(\.name), ["a-case", "b-case"])
        XCTAssertEqual(try cases.members().map(\.kind), [.group, .group])
        let b = try root.openGroup("cases/b-case")
        XCTAssertEqual(b.path, "/cases/b-case")
        XCTAssertEqual(try b.attribute("kernel_size")?.value, .integers([3]))
        XCTAssertEqual(try b.read("x", as: Float.self).values, [1])
        XCTAssertTrue(root.contains("cases"))
        XCTAssertTrue(root.contains("cases/b-case/x"))
        XCTAssertFalse(root.contains("nope"))
        XCTAssertFalse(root.contains("nope/deeper"))
        XCTAssertTrue(cases.contains("a-case"))
        assertNames(assertHDF5Error { try root.openGroup("top") }, file: file, object: "/top")
        assertNames(assertHDF5Error { try cases.openGroup("c-case") }, file: file, object: "/cases/c-case")
    }

    func testReadWriteModeAddsToAnExistingFile() throws {
        let file = path("rw.h5")
        try File.create(file).root.write("a", shape: [1], values: [Int16(1)])
        let readOnly = try File.open(file)
        assertNames(assertHDF5Error { try readOnly.root.write("b", shape: [1], values: [Int16(2)]) }, file: file, object: "/b")
        readOnly.close()
        readOnly.close()
        assertHDF5Error { try readOnly.root }
        try File.open(file, mode: .readWrite).root.write("b", shape: [1], values: [Int16(2)])
        XCTAssertEqual(try File.open(file).root.members().map(\.name), ["a", "b"])
    }

    func testInvalidWritesAreRefused() throws {
        let file = path("invalid.h5")
        let root = try File.create(file).root
        let mismatch = assertHDF5Error { try root.write("x", shape: [2, 2], values: [Float(1), 2, 3]) }
        assertNames(mismatch, file: file, object: "/x")
        assertHDF5Error { try root.write("y", shape: [], values: [Float(1)], gzipLevel: 4) }
        assertHDF5Error { try root.write("z", shape: [4], values: [Float](repeating: 0, count: 4), chunks: [2, 2]) }
        assertHDF5Error { try root.write("w", shape: [4], values: [Float](repeating: 0, count: 4), gzipLevel: 12) }
        assertHDF5Error { try root.write("v", shape: [-1], values: [Float]()) }
        assertHDF5Error { try root.setAttribute("s", [Int8(1), 2], scalar: true) }
        try root.write("dup", shape: [1], values: [Float(1)])
        assertNames(assertHDF5Error { try root.write("dup", shape: [1], values: [Float(1)]) }, file: file, object: "/dup")
        XCTAssertEqual(try root.members().map(\.name), ["dup"])
    }
}
