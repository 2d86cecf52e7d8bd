import Foundation
import XCTest
@testable import HDF5

/// Files the project writes must be readable by the reference tools of the HDF5 library.
final class H5dumpTests: HDF5TestCase {
    private func h5dump() throws -> URL {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for directory in directories {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("h5dump")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        print("skipped: h5dump not on PATH")
        throw XCTSkip("skipped: h5dump not on PATH")
    }

    private func run(_ tool: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func writeSample(_ file: String) throws {
        let root = try File.create(file).root
        let cases = try root.createGroup("cases")
        try cases.write("half", shape: [2, 2], values: [Float16(0.5), -1.25, 2048, 0.0009765625])
        try cases.write("ints", shape: [3], values: [Int64.min, 0, .max], chunks: [2], gzipLevel: 5)
        try cases.write("big", shape: [1], values: [UInt64.max])
        try cases.setAttribute("kernel_size", [Int32(3)], scalar: true)
        try cases.setAttribute("stride", [Int64(1), 2])
        try cases.setAttribute("deformable", bool: true)
        try cases.setAttribute("name", string: "basic-1")
        try cases.setAttribute("fixed", string: "abc", format: .fixed(6))
        try cases.setAttribute("ratio", [Float16(0.25)], scalar: true)
    }

    func testHeaderDumpOfAProjectFile() throws {
        let tool = try h5dump()
        let file = path("sample.h5")
        try writeSample(file)
        let (status, output) = try run(tool, ["-H", file])
        XCTAssertEqual(status, 0, output)
        for expected in [
            "GROUP \"cases\"", "DATASET \"half\"", "16-bit little-endian floating-point",
            "DATASPACE  SIMPLE { ( 2, 2 ) / ( 2, 2 ) }", "H5T_STD_I64LE", "H5T_STD_U64LE",
            "ATTRIBUTE \"deformable\"", "H5T_ENUM", "\"FALSE\"", "\"TRUE\"", "H5T_STR_NULLPAD",
            "STRSIZE H5T_VARIABLE", "CSET H5T_CSET_UTF8", "ATTRIBUTE \"kernel_size\"", "DATASPACE  SCALAR",
        ] {
            XCTAssertTrue(output.contains(expected), "h5dump -H lacks \(expected):\n\(output)")
        }
    }

    func testDataDumpOfTheHalfFloatDataset() throws {
        let tool = try h5dump()
        let file = path("sample.h5")
        try writeSample(file)
        let (status, output) = try run(tool, ["-d", "/cases/half", file])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("(0,0): 0.5, -1.25"), output)
        XCTAssertTrue(output.contains("(1,0): 2048, 0.000976562"), output)
        let ints = try run(tool, ["-d", "/cases/ints", "-d", "/cases/big", file])
        XCTAssertEqual(ints.status, 0, ints.output)
        XCTAssertTrue(ints.output.contains("-9223372036854775808, 0, 9223372036854775807"), ints.output)
        XCTAssertTrue(ints.output.contains("18446744073709551615"), ints.output)
        let attributes = try run(tool, ["-a", "/cases/ratio", "-a", "/cases/deformable", file])
        XCTAssertEqual(attributes.status, 0, attributes.output)
        XCTAssertTrue(attributes.output.contains("0.25"), attributes.output)
        XCTAssertTrue(attributes.output.contains("TRUE"), attributes.output)
    }
}
