@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// `dcn compare`: the regression rule on times and accuracy, the sides, the JSON, and the command line.
final class CompareTests: XCTestCase {
    static let machine = MachineInfo(cpu: "Test CPU", cores: 2, threads: 2, loadAverage: 0.1)

    /// A bench report with one result per (shape, kernel): minimum `ms · scale`, median `ms · spread · scale`.
    static func bench(_ rows: [(shape: String, kernel: String, threads: Int, ms: Double)], scale: Double = 1, spread: Double = 1.02,
                      machine: MachineInfo = machine) -> BenchReport {
        BenchReport(machine: machine, results: rows.map { row in
            BenchResult(shape: row.shape, kernel: row.kernel, threads: row.threads, medianMs: row.ms * spread * scale,
                        minMs: row.ms * scale, gflops: 1 / (row.ms * spread * scale), source: "dcn")
        })
    }

    static let rows: [(shape: String, kernel: String, threads: Int, ms: Double)] = [
        ("small:ic64ih32oc64kh3ph1pw1", "simd", 1, 1.3), ("small:ic64ih32oc64kh3ph1pw1", "threaded", 2, 0.75),
        ("s2-d2:ic128ih64oc128kh3sh2ph2pw2dh2dg2", "simd", 1, 4.4), ("s2-d2:ic128ih64oc128kh3sh2ph2pw2dh2dg2", "threaded", 2, 2.5),
    ]

    static func side(_ bench: BenchReport) -> CompareSide { CompareSide(bench: bench, benchPath: "bench.json") }
    static func side(_ verify: VerifyReport) -> CompareSide { CompareSide(verify: verify, verifyPath: "verify.json") }

    // MARK: Times

    func testTheSameRunIsQuiet() throws {
        let run = Self.bench(Self.rows)
        let c = try Comparison(a: Self.side(run), b: Self.side(run))
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertEqual(c.timing.count, 4)
        XCTAssertTrue(c.timing.allSatisfy { $0.verdict == .noise && $0.ratio == 1 }, "\(c.timing)")
    }

    func testAPlanted30PercentSlowdownIsFlagged() throws {
        let a = Self.bench(Self.rows), b = Self.bench(Self.rows, scale: 1.3)
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.exitCode, 1)
        let simd = c.timing.filter { $0.kernelB == "simd" }
        XCTAssertEqual(simd.map(\.verdict), [.slower, .slower])
        XCTAssertEqual(simd[0].ratio!, 1.3, accuracy: 1e-9)
        XCTAssertEqual(simd[0].ratioLow!, 1.3 / 1.02, accuracy: 1e-9)
        XCTAssertEqual(simd[0].ratioHigh!, 1.3 * 1.02, accuracy: 1e-9)
        XCTAssertEqual(c.regressions.count, 2, "threaded ran on both cores of a 2-core machine: shown, not gated")
        XCTAssertTrue(c.regressions[0].contains("small with simd: 1.30× the time of A"), c.regressions[0])
        XCTAssertTrue(c.timing.filter { $0.kernelB == "threaded" }.allSatisfy { $0.verdict == .slower && !$0.gated })
        let gated = try Comparison(a: Self.side(a), b: Self.side(b), thresholds: CompareThresholds(gateAllCores: true))
        XCTAssertEqual(gated.regressions.count, 4)
        // Faster is no regression.
        let faster = try Comparison(a: Self.side(b), b: Self.side(a))
        XCTAssertEqual(faster.exitCode, 0)
        XCTAssertEqual(faster.timing.filter { $0.kernelB == "simd" }.map(\.verdict), [.faster, .faster])
    }

    func testASlowdownInsideTheNoiseBandIsNotFlagged() throws {
        // A's median is 1.3× its minimum: B 25% slower at its best is within what A's own spread allows.
        let a = Self.bench(Self.rows, spread: 1.3), b = Self.bench(Self.rows, scale: 1.25)
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.exitCode, 0, c.regressions.joined(separator: "\n"))
        XCTAssertTrue(c.timing.allSatisfy { $0.verdict == .noise })
        // The limit is a parameter: with 30% allowed, a 30% slowdown passes.
        let lenient = try Comparison(a: Self.side(Self.bench(Self.rows)), b: Self.side(Self.bench(Self.rows, scale: 1.3)),
                                     thresholds: CompareThresholds(maxSlowdown: 0.3))
        XCTAssertEqual(lenient.exitCode, 0)
    }

    func testBandAndVerdictRule() {
        let (band, ratio) = Comparison.band(minA: 10, medianA: 12, minB: 13, medianB: 14)
        XCTAssertEqual(ratio!, 1.3, accuracy: 1e-12)
        XCTAssertEqual(band!.lowerBound, 13.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(band!.upperBound, 1.4, accuracy: 1e-12)
        XCTAssertEqual(Comparison.timeVerdict(band: band, maxSlowdown: 0.05), .slower)
        XCTAssertEqual(Comparison.timeVerdict(band: band, maxSlowdown: 0.1), .noise)
        XCTAssertEqual(Comparison.timeVerdict(band: 0.5...0.8, maxSlowdown: 0.2), .faster)
        XCTAssertNil(Comparison.band(minA: 0, medianA: 1, minB: 1, medianB: 1).band)
    }

    func testShapesMatchByGeometryAndPeersAreNotCompared() throws {
        var a = Self.bench(Self.rows)
        a.results.append(BenchResult(shape: "small:ic64ih32oc64kh3ph1pw1", kernel: "onnxruntime", threads: 2, medianMs: 1, minMs: 1, gflops: 1, source: "peer"))
        var b = Self.bench(Self.rows, scale: 1.3)
        for index in b.results.indices { b.results[index].shape = b.results[index].shape.replacingOccurrences(of: "small:", with: "renamed:") }
        b.results.append(BenchResult(shape: "small:ic64ih32oc64kh3ph1pw1", kernel: "onnxruntime", threads: 2, medianMs: 9, minMs: 9, gflops: 1, source: "peer"))
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.timing.count, 4, "renamed shapes still match; the peer is left out")
        XCTAssertFalse(c.timing.contains { $0.kernelA == "onnxruntime" })
        XCTAssertTrue(c.notes.contains { $0.contains("onnxruntime") && $0.contains("not compared") }, "\(c.notes)")
    }

    func testBestOfSeveralRuns() throws {
        let slow = Self.bench(Self.rows, scale: 2, spread: 1.5), fast = Self.bench(Self.rows, scale: 1, spread: 1.1)
        let best = BenchReport.best(of: [slow, fast], sources: ["one", "two"])
        XCTAssertEqual(best.results.map(\.minMs), fast.results.map(\.minMs))
        XCTAssertEqual(best.results.map(\.medianMs), fast.results.map(\.medianMs))
        XCTAssertTrue(best.notes.last!.contains("best of 2 runs: one, two"))
        // A disturbed run next to a good one of the same build: no regression.
        let c = try Comparison(a: Self.side(fast), b: CompareSide(bench: slow, benchPath: "slow.json").adding(fast, "fast.json"))
        XCTAssertEqual(c.exitCode, 0)
        XCTAssertEqual(c.b.files, ["slow.json", "fast.json"])
    }

    func testTwoKernelsOfOneRun() throws {
        let run = Self.bench(Self.rows)
        let c = try Comparison(a: Self.side(run), b: Self.side(run), kernelA: "simd", kernelB: "threaded")
        XCTAssertEqual(c.timing.count, 2)
        XCTAssertTrue(c.timing.allSatisfy { $0.kernelA == "simd" && $0.kernelB == "threaded" && $0.verdict == .faster })
        XCTAssertEqual(c.kernels.map { "\($0.kernelA)/\($0.kernelB)" }, ["simd/threaded"])
        XCTAssertThrowsError(try Comparison(a: Self.side(run), b: Self.side(run), kernelA: "simd", kernelB: "nope"))
        XCTAssertThrowsError(try Comparison(a: Self.side(run), b: Self.side(run), kernelA: "simd"))
    }

    // MARK: Accuracy

    static func verify(_ rows: [(name: String, kernel: String, status: CaseResult.Status, ratio: Double?)]) -> VerifyReport {
        var report = VerifyReport()
        report.results = rows.map { row in
            CaseResult(file: "vectors/x.h5", caseName: row.name, kernel: row.kernel, expect: row.ratio == nil ? "ValueError" : "ok",
                       status: row.status, tags: [], ratio: row.ratio)
        }
        report.summary.passed = rows.count { $0.status == .pass }
        report.summary.failed = rows.count { $0.status == .fail }
        return report
    }

    func testANewlyFailingCaseIsARegressionAndANewlyPassingOneIsNot() throws {
        let a = Self.verify([("basic", "simd", .pass, 0.3), ("groups", "simd", .fail, 7), ("bad-bias", "simd", .pass, nil)])
        let b = Self.verify([("basic", "simd", .fail, 12), ("groups", "simd", .pass, 0.3), ("bad-bias", "simd", .pass, nil)])
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.cases.map(\.verdict), [.newlyFailing, .newlyPassing, .same])
        XCTAssertEqual(c.exitCode, 1)
        XCTAssertEqual(c.regressions.count, 1)
        XCTAssertTrue(c.regressions[0].hasPrefix("basic with simd newly fails"), c.regressions[0])
        XCTAssertEqual(c.kernels.first?.newlyFailing, 1)
        XCTAssertEqual(c.kernels.first?.newlyPassing, 1)
        let fixed = try Comparison(a: Self.side(b), b: Self.side(a))
        XCTAssertEqual(fixed.cases.map(\.verdict), [.newlyPassing, .newlyFailing, .same])
    }

    func testAccuracyLossBeyondTheFactor() throws {
        let a = Self.verify([("a", "simd", .pass, 0.2), ("b", "simd", .pass, 0.01), ("c", "simd", .pass, 0.3), ("d", "simd", .pass, 0.5)])
        let b = Self.verify([("a", "simd", .pass, 0.5), ("b", "simd", .pass, 0.09), ("c", "simd", .pass, 0.6), ("d", "simd", .pass, .nan)])
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        // 0.2 → 0.5 is 2.5×; 0.01 → 0.09 stays under 2 × the floor 0.05; 0.3 → 0.6 is exactly 2×; NaN is worse than anything.
        XCTAssertEqual(c.cases.map(\.verdict), [.accuracyLoss, .same, .same, .accuracyLoss])
        XCTAssertEqual(c.exitCode, 1)
        let lenient = try Comparison(a: Self.side(a), b: Self.side(b), thresholds: CompareThresholds(maxAccuracyLoss: 3))
        XCTAssertEqual(lenient.cases.map(\.verdict), [.same, .same, .same, .accuracyLoss])
    }

    func testCasesOnlyOneSideHas() throws {
        let a = Self.verify([("old", "simd", .pass, 0.1), ("kept", "simd", .pass, 0.1)])
        let b = Self.verify([("kept", "simd", .pass, 0.1), ("new-good", "simd", .pass, 0.1), ("new-bad", "simd", .fail, 3)])
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.cases.map(\.verdict), [.onlyA, .same, .onlyB, .newlyFailing])
        XCTAssertEqual(c.exitCode, 1, "a failing case A did not have is newly failing")
    }

    /// The real pipeline: verify a golden file, then the same cases with one planted wrong `y`.
    func testAPlantedWrongGoldenOutputShowsAsNewlyFailing() throws {
        let folder = try temporaryFolder(self)
        let good = try SuiteGenerator().validCase(recipe("groups-2"), seed: 5).0
        let other = try SuiteGenerator().validCase(recipe("stride-2"), seed: 5).0
        var planted = good
        planted.output!.y[3] += 1e-3
        let goodPath = try writeGolden([good, other], to: folder, name: "good.h5")
        let plantedPath = try writeGolden([planted, other], to: folder, name: "planted.h5")
        let a = Verifier(kernels: [NaiveKernel()]).run(files: [goodPath])
        let b = Verifier(kernels: [NaiveKernel()]).run(files: [plantedPath])
        let c = try Comparison(a: Self.side(a), b: Self.side(b))
        XCTAssertEqual(c.cases.map { "\($0.caseName):\($0.verdict.rawValue)" }, ["groups-2:newly_failing", "stride-2:same"])
        XCTAssertEqual(c.exitCode, 1)
        XCTAssertEqual(try Comparison(a: Self.side(a), b: Self.side(a)).exitCode, 0)
    }

    // MARK: Sides, JSON, Markdown

    func testSidesAreReadByContentAndFoldersStandForTheirReports() throws {
        let folder = try temporaryFolder(self)
        try ReportJSON.encode(Self.verify([("basic", "simd", .pass, 0.3)])).write(to: URL(fileURLWithPath: folder + "/accuracy.json"))
        try ReportJSON.encode(Self.bench(Self.rows)).write(to: URL(fileURLWithPath: folder + "/performance.json"))
        let side = try CompareSide.load([folder])
        XCTAssertNotNil(side.verify)
        XCTAssertNotNil(side.bench)
        XCTAssertEqual(side.files, [folder + "/accuracy.json", folder + "/performance.json"])
        let renamed = try CompareSide.load([folder + "/performance.json", folder + "/accuracy.json"])
        XCTAssertEqual(renamed.verifyPath, folder + "/accuracy.json")
        try Data("{\"hello\": 1}".utf8).write(to: URL(fileURLWithPath: folder + "/other.json"))
        XCTAssertThrowsError(try CompareSide.load([folder + "/other.json"])) { error in
            XCTAssertTrue("\(error)".contains("neither a verify report"), "\(error)")
        }
        XCTAssertThrowsError(try CompareSide.load([folder + "/accuracy.json", folder + "/accuracy.json"]))
        XCTAssertThrowsError(try CompareSide.load([folder + "/missing"]))
        // Verify on one side, bench on the other: nothing in common.
        XCTAssertThrowsError(try Comparison(a: CompareSide.load([folder + "/accuracy.json"]), b: CompareSide.load([folder + "/performance.json"])))
    }

    func testJSONRoundTripsAndMarkdownNamesTheRegressions() throws {
        let a = CompareSide(verify: Self.verify([("basic", "simd", .pass, 0.3)]), verifyPath: "a.json", bench: Self.bench(Self.rows), benchPath: "a-bench.json")
        let b = CompareSide(verify: Self.verify([("basic", "simd", .fail, .infinity)]), verifyPath: "b.json", bench: Self.bench(Self.rows, scale: 1.5), benchPath: "b-bench.json")
        let c = try Comparison(a: a, b: b)
        let data = try ReportJSON.encode(c)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"verdict\" : \"newly_failing\""), text)
        XCTAssertTrue(text.contains("\"ratio_b\" : \"Infinity\""), text)
        let back = try ReportJSON.decode(Comparison.self, from: data)
        XCTAssertEqual(back.regressions, c.regressions)
        XCTAssertEqual(back.timing.map(\.verdict), c.timing.map(\.verdict))
        XCTAssertEqual(back.thresholds, c.thresholds)
        let markdown = CompareReport.markdown(c, command: "dcn compare a b")
        XCTAssertTrue(markdown.contains("**REGRESSION**: 3 regressions"), markdown)
        XCTAssertTrue(markdown.contains("| small | simd | 1 | 1.3 – 1.33 | 1.95 – 1.99 | 1.50× | 1.47× – 1.53× | **slower** |"), markdown)
        XCTAssertTrue(markdown.contains("| basic | simd | ok | pass | fail | 0.3 | ∞ | **newly failing** |"), markdown)
    }

    func testBaselineAcceptKeepsTheBestOfTheRuns() throws {
        let folder = try temporaryFolder(self)
        try ReportJSON.encode(Self.bench(Self.rows, scale: 2)).write(to: URL(fileURLWithPath: folder + "/one.json"))
        try ReportJSON.encode(Self.bench(Self.rows)).write(to: URL(fileURLWithPath: folder + "/two.json"))
        try ReportJSON.encode(Self.verify([("basic", "simd", .pass, 0.3)])).write(to: URL(fileURLWithPath: folder + "/verify.json"))
        let accepted = try Baseline.accept([folder + "/one.json", folder + "/two.json", folder + "/verify.json"], to: folder + "/baseline")
        XCTAssertEqual(accepted.files, [folder + "/baseline/accuracy.json", folder + "/baseline/performance.json"])
        let baseline = try CompareSide.load([folder + "/baseline"])
        XCTAssertEqual(baseline.bench?.results.map(\.minMs), Self.rows.map(\.ms))
        XCTAssertEqual(baseline.verify?.results.count, 1)
    }

    // MARK: Command line

    func testCommandLineExitCodes() throws {
        let folder = try temporaryFolder(self)
        try ReportJSON.encode(Self.bench(Self.rows)).write(to: URL(fileURLWithPath: folder + "/a.json"))
        try ReportJSON.encode(Self.bench(Self.rows, scale: 1.3)).write(to: URL(fileURLWithPath: folder + "/slow.json"))
        try ReportJSON.encode(Self.bench(Self.rows, scale: 1.01)).write(to: URL(fileURLWithPath: folder + "/same.json"))
        let quiet = try runDcn(["compare", folder + "/a.json", folder + "/same.json"])
        XCTAssertEqual(quiet.status, 0, quiet.stdout + quiet.stderr)
        XCTAssertTrue(quiet.stdout.contains("**NO REGRESSION**"), quiet.stdout)
        let slow = try runDcn(["compare", folder + "/a.json", folder + "/slow.json", "--json", folder + "/cmp.json", "--markdown", folder + "/cmp.md"])
        XCTAssertEqual(slow.status, 1, slow.stdout + slow.stderr)
        XCTAssertTrue(slow.stderr.contains("REGRESSION: 2 regressions"), slow.stderr)
        XCTAssertEqual(try ReportJSON.decode(Comparison.self, contentsOf: folder + "/cmp.json").exitCode, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/cmp.md"))
        let machine = try runDcn(["compare", "--a", folder + "/a.json", "--b", folder + "/slow.json", "--json", "-", "--max-slowdown", "40"])
        XCTAssertEqual(machine.status, 0)
        XCTAssertTrue(machine.stdout.hasPrefix("{"), machine.stdout)
        let kernels = try runDcn(["compare", folder + "/a.json", "--kernel-a", "threaded", "--kernel-b", "simd", "--gate-all-cores"])
        XCTAssertEqual(kernels.status, 1, "simd is slower than threaded")
        XCTAssertEqual(try runDcn(["compare", folder + "/a.json"]).status, 2)
        XCTAssertEqual(try runDcn(["compare", folder + "/a.json", folder + "/missing.json"]).status, 2)
        XCTAssertEqual(try runDcn(["compare", folder + "/a.json", folder + "/a.json", folder + "/a.json"]).status, 2)
    }
}

extension CompareSide {
    func adding(_ bench: BenchReport, _ path: String) -> CompareSide {
        var copy = self
        copy.benchRuns.append(bench)
        copy.benchPaths.append(path)
        return copy
    }
}


