import XCTest
@testable import HDF5

/// Reads Fixtures/h5py-fixture.h5, written by tools/fixtures/make_h5py_fixture.py. The expected
/// values are the ones that script writes.
final class H5pyFixtureTests: HDF5TestCase {
    func testFloatDatasets() throws {
        let data = try File.open(fixturePath()).root.openGroup("data")
        let f16 = try data.read("f16", as: Float16.self)
        XCTAssertEqual(f16.shape, [2, 3])
        XCTAssertEqual(f16.values, [0.5, -1.25, 2.0, 3.140625, -65504.0, 0.0009765625])
        XCTAssertEqual(try data.read("f16", as: Float.self).values, [0.5, -1.25, 2.0, 3.140625, -65504.0, 0.0009765625])
        XCTAssertEqual(try data.datasetInfo("f16").type, .float(bits: 16))
        let f32 = try data.read("f32", as: Float.self)
        XCTAssertEqual(f32.shape, [4])
        XCTAssertEqual(f32.values, [1.5, -2.25, 1e-3, 3.0e10])
        let f64 = try data.read("f64", as: Double.self)
        XCTAssertEqual(f64.shape, [2, 2])
        XCTAssertEqual(f64.values, [0.1, -0.2, 1e300, -1e-300])
        let scalar = try data.read("scalar", as: Double.self)
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [42.5])
    }

    func testIntegerDatasets() throws {
        let data = try File.open(fixturePath()).root.openGroup("data")
        XCTAssertEqual(try data.read("i8", as: Int8.self).values, [-128, 0, 127])
        XCTAssertEqual(try data.read("u8", as: UInt8.self).values, [0, 255])
        let i16 = try data.read("i16", as: Int16.self)
        XCTAssertEqual(i16.shape, [2, 2, 2])
        XCTAssertEqual(i16.values, [-4, -3, -2, -1, 0, 1, 2, 3])
        XCTAssertEqual(try data.read("u16", as: UInt16.self).values, [65535])
        XCTAssertEqual(try data.read("i32", as: Int32.self).values, [-7, 0, 2147483647])
        XCTAssertEqual(try data.read("u32", as: UInt32.self).values, [4000000000])
        XCTAssertEqual(try data.read("i64", as: Int64.self).values, [Int64.min, Int64.max])
        XCTAssertEqual(try data.read("u64", as: UInt64.self).values, [0, UInt64.max])
        XCTAssertEqual(try data.datasetInfo("u64").type, .integer(bits: 64, signed: false))
        XCTAssertEqual(try data.datasetInfo("i8").type, .integer(bits: 8, signed: true))
    }

    func testChunkedGzipDataset() throws {
        let data = try File.open(fixturePath()).root.openGroup("data")
        let info = try data.datasetInfo("gz")
        XCTAssertEqual(info.shape, [8, 10])
        XCTAssertEqual(info.chunks, [4, 5])
        XCTAssertEqual(info.filters, ["shuffle", "gzip"])
        let gz = try data.read("gz", as: Float.self)
        XCTAssertEqual(gz.shape, [8, 10])
        XCTAssertEqual(gz.values, (0..<80).map { Float($0) * 0.5 })
    }

    func testNonNumericDatasetsReportTheirTypeAndRefuseNumericReads() throws {
        let file = try fixturePath()
        let data = try File.open(file).root.openGroup("data")
        XCTAssertEqual(try data.datasetInfo("text").type, .string(.variableUTF8))
        XCTAssertEqual(try data.datasetInfo("text").shape, [2])
        assertNames(assertHDF5Error { try data.read("text", as: Float.self) }, file: file, object: "/data/text")
        guard case .other = try data.datasetInfo("compound").type else {
            return XCTFail("compound reported as \(try data.datasetInfo("compound").type)")
        }
        assertNames(assertHDF5Error { try data.read("compound", as: Double.self) }, file: file, object: "/data/compound")
    }

    func testBoolAttributes() throws {
        let meta = try File.open(fixturePath()).root.openGroup("meta")
        XCTAssertEqual(try meta.attribute("flag_true"),
                       Attribute(name: "flag_true", type: .boolean, shape: [], value: .booleans([true])))
        XCTAssertEqual(try meta.attribute("flag_false"),
                       Attribute(name: "flag_false", type: .boolean, shape: [], value: .booleans([false])))
        XCTAssertEqual(try meta.attribute("flags"),
                       Attribute(name: "flags", type: .boolean, shape: [3], value: .booleans([true, false, true])))
    }

    func testIntegerAttributesOfSeveralWidths() throws {
        let meta = try File.open(fixturePath()).root.openGroup("meta")
        let expected: [(String, StoredType, AttributeValue)] = [
            ("i8", .integer(bits: 8, signed: true), .integers([-5])),
            ("i16", .integer(bits: 16, signed: true), .integers([-300])),
            ("i32", .integer(bits: 32, signed: true), .integers([123456])),
            ("i64", .integer(bits: 64, signed: true), .integers([-9000000000000000000])),
            ("u8", .integer(bits: 8, signed: false), .integers([200])),
            ("u16", .integer(bits: 16, signed: false), .integers([65535])),
            ("u32", .integer(bits: 32, signed: false), .integers([4000000000])),
            ("u64_small", .integer(bits: 64, signed: false), .integers([7])),
            ("u64_big", .integer(bits: 64, signed: false), .unsignedIntegers([UInt64.max])),
        ]
        for (name, type, value) in expected {
            XCTAssertEqual(try meta.attribute(name), Attribute(name: name, type: type, shape: [], value: value), name)
        }
        XCTAssertEqual(try meta.attribute("int_array"),
                       Attribute(name: "int_array", type: .integer(bits: 32, signed: true), shape: [3],
                                 value: .integers([1, -2, 3])))
    }

    func testFloatAttributes() throws {
        let meta = try File.open(fixturePath()).root.openGroup("meta")
        XCTAssertEqual(try meta.attribute("f16"),
                       Attribute(name: "f16", type: .float(bits: 16), shape: [2], value: .floats([1.5, -0.125])))
        XCTAssertEqual(try meta.attribute("f32"),
                       Attribute(name: "f32", type: .float(bits: 32), shape: [2], value: .floats([0.25, -8.5])))
        XCTAssertEqual(try meta.attribute("f64"),
                       Attribute(name: "f64", type: .float(bits: 64), shape: [], value: .floats([2.718281828459045])))
    }

    func testStringAttributes() throws {
        let meta = try File.open(fixturePath()).root.openGroup("meta")
        let expected: [(String, StringFormat, [Int], [String])] = [
            ("vlen_utf8", .variableUTF8, [], ["h\u{e9}llo w\u{f6}rld"]),
            ("vlen_utf8_array", .variableUTF8, [2], ["a", "bc"]),
            ("vlen_ascii", .variableASCII, [], ["plain ascii"]),
            ("fixed_ascii", .fixed(8, charset: .ascii, padding: .nullPadded), [], ["abc"]),
            ("fixed_nullterm", .fixed(10, charset: .ascii, padding: .nullTerminated), [], ["term"]),
            ("fixed_spacepad", .fixed(12, charset: .ascii, padding: .spacePadded), [], ["spaced"]),
            ("fixed_utf8", .fixed(8, charset: .utf8, padding: .nullPadded), [], ["\u{fc}ber"]),
        ]
        for (name, format, shape, value) in expected {
            XCTAssertEqual(try meta.attribute(name),
                           Attribute(name: name, type: .string(format), shape: shape, value: .strings(value)), name)
        }
    }

    func testNestedGroupsAndListings() throws {
        let root = try File.open(fixturePath()).root
        XCTAssertEqual(try root.members().map(\.name), ["data", "hostile", "meta", "outer"])
        XCTAssertTrue(try root.members().allSatisfy { $0.kind == .group })
        let outer = try root.openGroup("outer")
        XCTAssertEqual(try outer.members().map(\.name), ["inner", "link"])
        XCTAssertEqual(try outer.members().map(\.kind), [.group, .other])
        let inner = try outer.openGroup("inner")
        XCTAssertEqual(try inner.attribute("level")?.value, .integers([2]))
        let deep = try root.openGroup("outer/inner/deep")
        XCTAssertEqual(deep.path, "/outer/inner/deep")
        XCTAssertEqual(try deep.members().map(\.kind), [.dataset])
        let values = try deep.read("values", as: Int16.self)
        XCTAssertEqual(values.shape, [1, 2, 1, 3])
        XCTAssertEqual(values.values, [0, 1, 2, 3, 4, 5])
        let meta = try root.openGroup("meta")
        XCTAssertEqual(try meta.attributeNames(), [
            "f16", "f32", "f64", "fixed_ascii", "fixed_nullterm", "fixed_spacepad", "fixed_utf8", "flag_false",
            "flag_true", "flags", "i16", "i32", "i64", "i8", "int_array", "u16", "u32", "u64_big", "u64_small", "u8",
            "vlen_ascii", "vlen_utf8", "vlen_utf8_array",
        ])
    }

    func testHugeShapesAreRefusedWithoutAllocating() throws {
        let file = try fixturePath()
        let hostile = try File.open(file).root.openGroup("hostile")
        XCTAssertEqual(try hostile.datasetInfo("overflow").shape, [1 << 40, 1 << 40])
        let overflow = assertHDF5Error { try hostile.read("overflow", as: Float.self) }
        assertNames(overflow, file: file, object: "/hostile/overflow")
        XCTAssertTrue(overflow?.detail.contains("overflows") ?? false, overflow?.description ?? "")
        let tooBig = assertHDF5Error { try hostile.read("too_big", as: Double.self) }
        assertNames(tooBig, file: file, object: "/hostile/too_big")
    }
}
