import Conformance
import DeformConv
import Foundation
import XCTest

/// `verify --shard I/N` and `merge-reports`: the shards of a run, merged, give the unsharded report.
final class ShardTests: XCTestCase {
    /// The report's JSON without the measured times, which differ between any two runs.
    func canonical(_ report: VerifyReport) throws -> String {
        var copy = report
        // Timings differ from run to run, forward and backward alike.
        for index in copy.results.indices {
            copy.results[index].seconds = nil
            copy.results[index].backward?.seconds = nil
        }
        return String(decoding: try ReportJSON.encode(copy), as: UTF8.self)
    }

    /// Through JSON and back, as shards reach the merge job.
    func roundTrip(_ report: VerifyReport) throws -> VerifyReport {
        try ReportJSON.decode(VerifyReport.self, from: ReportJSON.encode(report))
    }

    func files() throws -> [String] {
        let folder = try temporaryFolder(self)
        var wrong = try SuiteGenerator().validCase(recipe("dilation-2"), seed: 1).0
        wrong.output!.y[10] *= 1.001
        let planted = try writeGolden([wrong, try SuiteGenerator().errorCase(errorRecipe("bias-shape"), seed: 2)], to: folder)
        let garbage = folder + "/garbage.h5"
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: garbage))
        return [defaultSuitePath, garbage, planted]
    }

    func testMergedShardsEqualTheUnshardedRun() throws {
        let files = try files()
        let kernels: [any DeformConvKernel] = [NaiveKernel(), SimdKernel(), FP16AccKernel()]
        let whole = Verifier(kernels: kernels).run(files: files)
        XCTAssertNil(whole.shard)
        XCTAssertEqual(whole.exitCode, 1)
        for count in [1, 2, 3, 7] {
            let shards = try (1...count).map { index in
                try roundTrip(Verifier(kernels: kernels, shard: Shard(index: index, count: count)).run(files: files))
            }
            // Every (case, kernel) pair in exactly one shard, and the shards roughly even.
            XCTAssertEqual(shards.map(\.results.count).reduce(0, +), whole.results.count)
            XCTAssertLessThanOrEqual(shards.map(\.results.count).max()! - shards.map(\.results.count).min()!, 3)
            XCTAssertEqual(shards.map(\.unreadable.count).reduce(0, +), 1, "the unreadable file is reported by one shard")
            let merged = try ReportMerger.merge(shards.enumerated().map { ("shard-\($0.offset + 1).json", $0.element) })
            XCTAssertEqual(try canonical(merged), try canonical(whole), "\(count) shards")
            XCTAssertEqual(merged.exitCode, 1)
        }
    }

    func testMergeRefusesMissingRepeatedAndForeignShards() throws {
        let files = try files()
        let kernels: [any DeformConvKernel] = [NaiveKernel()]
        let one = try roundTrip(Verifier(kernels: kernels, shard: Shard(index: 1, count: 3)).run(files: files))
        let two = try roundTrip(Verifier(kernels: kernels, shard: Shard(index: 2, count: 3)).run(files: files))
        let other = try roundTrip(Verifier(kernels: [SimdKernel()], shard: Shard(index: 3, count: 3)).run(files: files))
        XCTAssertThrowsError(try ReportMerger.merge([("a", one), ("b", two)])) { XCTAssertTrue("\($0)".contains("missing shard 3/3"), "\($0)") }
        XCTAssertThrowsError(try ReportMerger.merge([("a", one), ("b", one), ("c", two)])) { XCTAssertTrue("\($0)".contains("given twice"), "\($0)") }
        XCTAssertThrowsError(try ReportMerger.merge([("a", one), ("b", two), ("c", other)])) { XCTAssertTrue("\($0)".contains("not from the same run"), "\($0)") }
        XCTAssertThrowsError(try Shard(parsing: "4/3"))
        XCTAssertThrowsError(try Shard(parsing: "0/3"))
        XCTAssertEqual(try Shard(parsing: "2/3"), Shard(index: 2, count: 3))
    }

    func testShardedCommandLineRunsMergeToTheUnshardedReport() throws {
        let folder = try temporaryFolder(self)
        let files = try files()
        let common = files + ["--kernel", "naive", "--kernel", "simd", "--quiet"]
        let whole = try runDcn(["verify"] + common + ["--json", folder + "/whole.json", "--report-dir", folder + "/r0"])
        XCTAssertEqual(whole.status, 1, whole.stdout + whole.stderr)
        for index in 1...2 {
            let shard = try runDcn(["verify"] + common + ["--shard", "\(index)/2", "--json", folder + "/shard-\(index).json", "--report-dir", folder + "/r\(index)"])
            XCTAssertEqual(shard.status, 1, shard.stdout + shard.stderr)
            XCTAssertTrue(shard.stdout.contains("shard \(index)/2"), shard.stdout)
        }
        let merge = try runDcn(["merge-reports", folder + "/shard-1.json", folder + "/shard-2.json", "--json", folder + "/merged.json",
                                "--junit", folder + "/merged.xml", "--report-dir", folder + "/merged"])
        XCTAssertEqual(merge.status, 1, "a case failed: " + merge.stdout + merge.stderr)
        XCTAssertTrue(merge.stdout.contains("FAIL naive"), merge.stdout)
        let load = { (name: String) in try ReportJSON.decode(VerifyReport.self, contentsOf: folder + "/" + name) }
        XCTAssertEqual(try canonical(load("merged.json")), try canonical(load("whole.json")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/merged/accuracy.md"))
        XCTAssertEqual(try runDcn(["merge-reports", folder + "/shard-1.json", "--json", folder + "/x.json"]).status, 2, "shard 2 is missing")
        XCTAssertEqual(try runDcn(["verify", defaultSuitePath, "--shard", "3/2"]).status, 2)
    }
}
