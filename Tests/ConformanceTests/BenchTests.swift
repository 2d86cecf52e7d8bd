import Conformance
import DeformConv
import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The bench harness: shapes, kernel selection, timing policy, JSON schema, peers merge,
/// Markdown and SVG. Tiny shapes and few runs only: speed is never checked here.
final class BenchTests: XCTestCase {
    static let tiny = ["tiny:ic8ih8oc8kh3ph1pw1", "mb2ic8ih9oc4kh3sh2ph1pw1dh2g2dg2"]
    let fast = BenchSettings(warmupRuns: 1, runs: 3, minRuns: 1, maxSeconds: 1)

    func testStandardShapesAreCanonicalAndValid() throws {
        let shapes = BenchShape.standard()
        XCTAssertEqual(shapes.map(\.canonical), [
            "r50-c3:ic128ih64oc128kh3ph1pw1",
            "r50-c4:ic256ih32oc256kh3ph1pw1",
            "r50-c5:ic512ih16oc512kh3ph1pw1",
            "b8-c64:mb8ic64ih56oc64kh3ph1pw1",
            "g4dg4:ic256ih32oc256kh3ph1pw1g4dg4",
            "s2-d2:ic128ih64oc128kh3sh2ph2pw2dh2dg2",
        ])
        XCTAssertEqual(shapes.map(\.label), ["r50-c3", "r50-c4", "r50-c5", "b8-c64", "g4dg4", "s2-d2"])
        // r50-c3: 2·128·128·9·64·64 FLOPs (SPEC section 5), as KERNEL-NOTES says, 1.21 GFLOP.
        XCTAssertEqual(shapes[0].problem.flops, 2 * 128 * 128 * 9 * 64 * 64)
        XCTAssertEqual(shapes[5].problem.outputHeight, 32)
        for shape in shapes {
            XCTAssertEqual(try BenchShape(parsing: shape.canonical).problem, shape.problem)
        }
    }

    func testBadDescriptorsAndKernelsAreErrors() {
        XCTAssertThrowsError(try BenchShape(parsing: "r50:ic128ih8oc8kh3zz1")) { error in
            guard case .badDescriptor = error as? BenchError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("zz"), "\(error)")
        }
        XCTAssertThrowsError(try BenchShape(parsing: "ic6ih8oc8kh3g4")) { error in
            guard case let .invalidProblem(_, inner) = error as? BenchError else { return XCTFail("\(error)") }
            XCTAssertEqual(inner.code, .groups)
        }
        XCTAssertThrowsError(try BenchShape(parsing: "ic4ih2oc4kh5")) { error in
            guard case let .invalidProblem(_, inner) = error as? BenchError else { return XCTFail("\(error)") }
            XCTAssertEqual(inner.code, .emptyOutput)
        }
        XCTAssertThrowsError(try BenchKernels.resolve(["naive", "no-such-kernel"], threads: 1)) { error in
            XCTAssertEqual(error as? BenchError, .unknownKernel("no-such-kernel", known: KernelRegistry.names))
        }
        XCTAssertThrowsError(try BenchSettings(runs: 2, minRuns: 3).validated())
        XCTAssertThrowsError(try BenchSettings(maxSeconds: 0).validated())
    }

    func testDefaultKernelsLeaveOutTheReferenceAndNaiveOnStandardShapes() {
        let registered = ["reference", "naive", "simd", "threaded"]
        let standard = BenchKernels.defaults(standardShapes: true, registered: registered)
        XCTAssertEqual(standard.names, ["simd", "threaded"])
        XCTAssertEqual(standard.excluded.map(\.kernel), ["reference", "naive"])
        XCTAssertTrue(standard.excluded.allSatisfy { $0.shape == nil && !$0.reason.isEmpty })
        let custom = BenchKernels.defaults(standardShapes: false, registered: registered)
        XCTAssertEqual(custom.names, ["naive", "simd", "threaded"])
        // New kernels are picked up from the registry without a change here.
        XCTAssertEqual(BenchKernels.defaults(standardShapes: true).names, KernelRegistry.names.filter { $0 != "reference" && $0 != "naive" })
    }

    func testInputsAreSeededAndInRange() throws {
        let shape = try BenchShape(parsing: Self.tiny[1])
        let a = shape.inputs(seed: 7), b = shape.inputs(seed: 7)
        XCTAssertEqual(a.x, b.x)
        XCTAssertEqual(a.offsets, b.offsets)
        XCTAssertNotEqual(a.x, shape.inputs(seed: 8).x)
        XCTAssertTrue(a.matches(shape.problem))
        let p = shape.problem
        let block = p.offsetTaps * p.outputHeight * p.outputWidth
        for n in 0..<p.batch {
            let base = n * 3 * block
            XCTAssertTrue(a.offsets[base..<base + 2 * block].allSatisfy { $0 >= -2 && $0 <= 2 })
            XCTAssertTrue(a.offsets[base + 2 * block..<base + 3 * block].allSatisfy { $0 >= 0 && $0 < 1 })
        }
        XCTAssertTrue(a.x.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    func testJSONHasTheSpecShape() throws {
        let report = try tinyReport()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: try ReportJSON.encode(report)) as? [String: Any])
        let machine = try XCTUnwrap(object["machine"] as? [String: Any])
        XCTAssertEqual(machine["threads"] as? Int, 2)
        XCTAssertNotNil(machine["cpu"] as? String)
        XCTAssertNotNil(machine["peak_gflops_one_thread"] as? Double)
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2 * 2)
        for result in results {
            for key in ["shape", "kernel"] { XCTAssertNotNil(result[key] as? String, key) }
            XCTAssertNotNil(result["threads"] as? Int)
            for key in ["median_ms", "min_ms", "gflops"] {
                let value = try XCTUnwrap(result[key] as? Double, key)
                XCTAssertTrue(value > 0 && value.isFinite, "\(key) = \(value)")
            }
            XCTAssertLessThanOrEqual(result["min_ms"] as! Double, result["median_ms"] as! Double)
            let shape = result["shape"] as! String
            XCTAssertEqual(try ProblemDescriptor(parsing: shape).description, shape, "canonical form")
            let flops = try XCTUnwrap(result["flops"] as? Double)
            XCTAssertEqual(result["gflops"] as! Double, flops / (result["median_ms"] as! Double) / 1e6, accuracy: 1e-9 * flops)
        }
        XCTAssertEqual(Set(results.map { $0["shape"] as! String }), ["tiny:ic8ih8oc8kh3ph1pw1", "mb2ic8ih9oc4kh3sh2ph1pw1dh2g2dg2"])
        XCTAssertEqual(try ReportJSON.decode(BenchReport.self, from: try ReportJSON.encode(report)), report, "the JSON reads back")
    }

    func testTheBudgetCutsSlowKernelsShortAndSaysSo() throws {
        let shape = try BenchShape(parsing: Self.tiny[0])
        let runner = BenchRunner(settings: BenchSettings(warmupRuns: 1, runs: 10, minRuns: 2, maxSeconds: 0.05))
        let m = runner.measure(KernelSource(SleepingKernel(seconds: 0.02)), shape.problem, shape.inputs(seed: 1))
        XCTAssertEqual(m.seconds.count, 2, "min runs, then the budget stops it")
        XCTAssertEqual(m.warmupRuns, 1)
        XCTAssertTrue(m.cutShort?.contains("2 of 10 runs") == true, m.cutShort ?? "nil")
        XCTAssertGreaterThanOrEqual(m.minimum, 0.02)
        let quick = BenchRunner(settings: fast).measure(KernelSource(NaiveKernel()), shape.problem, shape.inputs(seed: 1))
        XCTAssertEqual(quick.seconds.count, 3)
        XCTAssertNil(quick.cutShort)
    }

    func testMemoryProbeSeesAnAllocation() throws {
        guard MemoryProbe.isAvailable else { throw XCTSkip("skipped: /proc/self/clear_refs is not available here") }
        let (count, bytes) = MemoryProbe.measure { () -> Int in
            let buffer = [Float](repeating: 1, count: 16 << 20)  // 64 MiB, every page written
            return buffer.count
        }
        XCTAssertEqual(count, 16 << 20)
        let extra = try XCTUnwrap(bytes)
        XCTAssertGreaterThan(extra, 60 << 20)
        XCTAssertLessThan(extra, 200 << 20)
    }

    func testPeersFileMergesAndSkipsAreKept() throws {
        let ours = try tinyReport()
        var peers = try ReportJSON.decode(BenchReport.self, from: Data(Self.peersJSON(cpu: ours.machine.cpu, cores: ours.machine.cores).utf8))
        XCTAssertEqual(peers.results.first?.version, "1.32.0")
        XCTAssertNil(peers.results.first?.cutShort)
        let merged = ours.merging(peers, from: "peers.json")
        XCTAssertEqual(merged.results.count, ours.results.count + 1)
        let ort = try XCTUnwrap(merged.results.first { $0.kernel == "onnxruntime" })
        XCTAssertEqual(ort.shape, "tiny:ic8ih8oc8kh3ph1pw1", "a non-canonical peer shape is canonicalised")
        XCTAssertTrue(ort.isPeer)
        XCTAssertNotNil(ort.peakFraction, "same machine: fraction of peak from dcn's measurement")
        XCTAssertEqual(merged.skipped.map(\.kernel), ["mindspore"])
        XCTAssertTrue(merged.notes.isEmpty, "\(merged.notes)")
        XCTAssertEqual(merged.kernels.last, "onnxruntime", "peers after dcn's kernels")

        peers.machine.cpu = "Some Other CPU"
        let elsewhere = ours.merging(peers, from: "peers.json")
        XCTAssertTrue(elsewhere.notes.contains { $0.contains("Some Other CPU") }, "\(elsewhere.notes)")
        XCTAssertNil(elsewhere.results.first { $0.kernel == "onnxruntime" }?.peakFraction)
    }

    func testMarkdownAndSVGAreWrittenAndWellFormed() throws {
        let ours = try tinyReport()
        var report = ours.merging(try ReportJSON.decode(BenchReport.self, from: Data(Self.peersJSON(cpu: ours.machine.cpu, cores: ours.machine.cores).utf8)), from: "peers.json")
        report.skipped.insert(BenchSkip(kernel: "reference", reason: "not timed <by default> & so on"), at: 0)
        report.results[0].cutShort = "1 of 3 runs within the 1 s budget"
        let folder = try temporaryFolder(self)
        try PerformanceReport.write(report, to: folder + "/reports")

        let markdown = try String(contentsOfFile: folder + "/reports/performance.md", encoding: .utf8)
        for needle in ["# Performance report", "FMA peak", "### tiny", "`tiny:ic8ih8oc8kh3ph1pw1`", "performance.svg",
                       "## dcn kernels against peers", "vs onnxruntime", "geometric mean", "**mindspore** skipped",
                       "cut short: 1 of 3 runs", "**reference** skipped"] {
            XCTAssertTrue(markdown.contains(needle), "performance.md lacks \(needle)")
        }

        let svg = try Data(contentsOf: URL(fileURLWithPath: folder + "/reports/performance.svg"))
        let checker = SVGChecker()
        let parser = XMLParser(data: svg)
        parser.delegate = checker
        XCTAssertTrue(parser.parse(), "SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(checker.root, "svg")
        let bars = report.results.count
        XCTAssertGreaterThanOrEqual(checker.elements["rect", default: 0], bars + report.kernels.count, "a bar per result and a legend swatch per kernel")
        for kernel in report.kernels {
            XCTAssertTrue(checker.text.contains(kernel), "legend lacks \(kernel)")
        }
    }

    /// fp16acc's issue target is read off this table: time over simd's, per shape and as a geometric mean.
    func testOtherKernelsAreShownAgainstSimd() {
        let machine = MachineInfo.current(threads: 2)
        func row(_ shape: String, _ kernel: String, _ ms: Double) -> BenchResult {
            BenchResult(shape: shape, kernel: kernel, threads: kernel == "threaded" ? 2 : 1, medianMs: ms, minMs: ms, gflops: 1 / ms)
        }
        let report = BenchReport(machine: machine, results: [
            row("a:ic8ih8oc8kh3", "simd", 2), row("a:ic8ih8oc8kh3", "threaded", 1), row("a:ic8ih8oc8kh3", "fp16acc", 6),
            row("b:ic8ih9oc8kh3", "simd", 4), row("b:ic8ih9oc8kh3", "threaded", 2.6), row("b:ic8ih9oc8kh3", "fp16acc", 12),
        ])
        let markdown = PerformanceReport.markdown(report)
        XCTAssertTrue(markdown.contains("## dcn kernels against simd"), markdown)
        XCTAssertTrue(markdown.contains("| a | 0.50× | 3.00× |"), markdown)
        XCTAssertTrue(markdown.contains("| b | 0.65× | 3.00× |"), markdown)
        // Geometric mean of 0.5 and 0.65 is 0.570; of 3 and 3 is 3.
        XCTAssertTrue(markdown.contains("| **geometric mean** | **0.57×** (2 shapes) | **3.00×** (2 shapes) |"), markdown)

        let simdOnly = BenchReport(machine: machine, results: [row("a:ic8ih8oc8kh3", "simd", 2)])
        XCTAssertFalse(PerformanceReport.markdown(simdOnly).contains("against simd"))
    }

    func testMachinePeakIsMeasured() {
        let machine = MachineInfo.current(threads: 2).measuringPeak(seconds: 0.005, repetitions: 1)
        XCTAssertGreaterThan(machine.peakGflopsOneThread ?? 0, 0.1)
        XCTAssertGreaterThan(machine.peakGflopsAllThreads ?? 0, 0.1)
        XCTAssertEqual(machine.peakGflops(threads: 1), machine.peakGflopsOneThread)
        XCTAssertEqual(machine.peakGflops(threads: 2), machine.peakGflopsAllThreads)
    }

    /// The Python peers script prints the same canonical descriptors as dcn.
    func testPeersScriptAgreesOnCanonicalDescriptors() throws {
        let shapes = BenchShape.standardDescriptors + Self.tiny + ["x:mb1ic4ih6iw5oc4kh3kw1sh1sw2pt1pb0pl2pr2dh1dw2"]
        let run = try python(["--canonical"] + shapes.flatMap { ["--shape", $0] })
        XCTAssertEqual(run.status, 0)
        let expected = try shapes.map { try ProblemDescriptor(parsing: $0).description }
        XCTAssertEqual(run.stdout.split(separator: "\n").map(String.init), expected)
    }

    func testPeakMeasuredAgainKeepsTheBestAndRecomputesFractions() throws {
        let report = try tinyReport()
        var better = report.machine
        better.peakGflopsOneThread = (report.machine.peakGflopsOneThread ?? 1) * 2
        let updated = report.withMachine(report.machine.keepingBestPeak(of: better))
        XCTAssertEqual(updated.machine.peakGflopsOneThread, better.peakGflopsOneThread)
        let before = try XCTUnwrap(report.results[0].peakFraction), after = try XCTUnwrap(updated.results[0].peakFraction)
        XCTAssertEqual(after, before / 2, accuracy: 1e-12)
        XCTAssertEqual(report.withMachine(report.machine.keepingBestPeak(of: MachineInfo.current(threads: 2))).machine.peakGflopsOneThread,
                       report.machine.peakGflopsOneThread, "a missing measurement changes nothing")
    }

    /// peers.py writes the bench schema whether or not the peer is installed (here: skipped, or one tiny result).
    func testPeersScriptWritesTheBenchSchema() throws {
        let folder = try temporaryFolder(self)
        let output = folder + "/peers.json"
        let status = try python(["--peer", "onnxruntime", "--shape", "tiny:ic4ih5oc4kh3ph1pw1", "--runs", "1", "--max-seconds", "1",
                                 "--threads", "1", "--json", output])
        XCTAssertEqual(status.status, 0)
        let report = try ReportJSON.decode(BenchReport.self, contentsOf: output)
        XCTAssertEqual(report.machine.threads, 1)
        XCTAssertEqual(report.results.count + report.skipped.count, 1, "timed or skipped with a reason, never dropped")
        if let result = report.results.first {
            XCTAssertEqual(result.kernel, "onnxruntime")
            XCTAssertEqual(result.shape, "tiny:ic4ih5oc4kh3ph1pw1")
            XCTAssertTrue(result.isPeer)
            XCTAssertNotNil(result.version)
            XCTAssertGreaterThan(result.gflops, 0)
        } else {
            XCTAssertEqual(report.skipped[0].kernel, "onnxruntime")
            XCTAssertFalse(report.skipped[0].reason.isEmpty)
        }
        XCTAssertEqual(try python(["--shape", "ic4ih5oc4kh3zz1", "--canonical"]).status, 2, "bad descriptor")
    }

    // MARK: Helpers

    private static let peersScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/bench/peers.py").path

    /// Runs tools/bench/peers.py with python3; skips the test where there is no python3.
    private func python(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.peersScript] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw XCTSkip("skipped: python3 cannot be started: \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw XCTSkip("skipped: no python3") }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testBackwardIsTimedForKernelsThatHaveOne() throws {
        let shapes = try Self.tiny.map { try BenchShape(parsing: $0) }
        let machine = MachineInfo.current(threads: 2).measuringPeak(seconds: 0.002, repetitions: 1)
        let kernels = try BenchKernels.resolve(["naive", "simd", "threaded", "fp16acc"], threads: 2)
        let report = BenchRunner(settings: fast).run(shapes: shapes, kernels: kernels, machine: machine, passes: [.forward, .backward])
        let backward = report.results.filter(\.isBackward)
        XCTAssertEqual(backward.map(\.kernel), ["naive", "simd", "threaded", "naive", "simd", "threaded"])
        XCTAssertEqual(report.results.filter { !$0.isBackward }.count, 2 * 4, "the forward of every kernel too")
        for r in backward {
            XCTAssertEqual(r.pass, "backward")
            XCTAssertEqual(r.runs, 3)
            XCTAssertTrue(r.medianMs > 0 && r.minMs <= r.medianMs, "\(r)")
            let shape = try XCTUnwrap(shapes.first { $0.canonical == r.shape })
            XCTAssertEqual(r.flops, 2 * shape.problem.flops)
            XCTAssertEqual(r.gflops, r.flops! / r.medianMs / 1e6, accuracy: 1e-9 * r.flops!)
            XCTAssertNotNil(r.peakFraction)
            let p = shape.problem
            XCTAssertEqual(r.outputBytes, 4 * (p.xCount + p.weightCount + p.offsetsCount), "the three gradients")
        }
        // fp16acc has no backward: a skip with the reason, never a silent gap.
        let skip = try XCTUnwrap(report.skipped.first { $0.kernel == "fp16acc" })
        XCTAssertEqual(skip.pass, "backward")
        XCTAssertNil(skip.shape)
        XCTAssertTrue(skip.reason.contains("no backward"), skip.reason)

        let markdown = PerformanceReport.markdown(report)
        XCTAssertTrue(markdown.contains("## Backward pass"), markdown)
        XCTAssertTrue(markdown.contains("### Backward time over forward time"), markdown)
        XCTAssertTrue(markdown.contains("| naive (backward) |"), markdown)
        XCTAssertTrue(markdown.contains("No backward timed for: fp16acc"), markdown)
        XCTAssertFalse(PerformanceReport.svg(report).contains("backward"), "the chart stays forward")

        // Backward only: no forward result, the same skip.
        let only = BenchRunner(settings: fast).run(shapes: [shapes[0]], kernels: kernels, machine: machine, passes: [.backward])
        XCTAssertEqual(only.results.map(\.pass), ["backward", "backward", "backward"])
        XCTAssertEqual(only.skipped.map(\.kernel), ["fp16acc"])
        // A source without a backward (computeBackward nil) is measured as nil.
        XCTAssertNil(BenchRunner(settings: fast).measureBackward(KernelSource(SleepingKernel(seconds: 0)), shapes[0].problem,
                                                                  shapes[0].inputs(seed: 1), gy: []))
    }

    func testBackwardFLOPsAreTheTwoGEMMs() throws {
        // N 2, Co 4, C/groups 4, kh kw 3, Ho = Wo = (9 + 2 - 5) / 2 + 1 = 4.
        let shape = try BenchShape(parsing: Self.tiny[1])
        XCTAssertEqual(shape.problem.outputHeight, 4)
        let expected = 4.0 * 2 * 4 * 4 * 3 * 3 * 4 * 4
        XCTAssertEqual(BenchPass.backward.flops(shape.problem), expected)
        XCTAssertEqual(BenchPass.forward.flops(shape.problem), expected / 2)
    }

    func testGradientIsSeededAndDrawnAfterTheInputs() throws {
        let shape = try BenchShape(parsing: Self.tiny[0])
        let (inputs, gy) = shape.inputsAndGradient(seed: 7)
        XCTAssertEqual(inputs.x, shape.inputs(seed: 7).x, "the same inputs as the forward")
        XCTAssertEqual(inputs.offsets, shape.inputs(seed: 7).offsets)
        XCTAssertEqual(gy.count, shape.problem.outputCount)
        XCTAssertEqual(gy, shape.inputsAndGradient(seed: 7).gy)
        XCTAssertTrue(gy.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    func testPassRoundTripsAndOldJSONIsForward() throws {
        let old = try ReportJSON.decode(BenchReport.self, from: Data(Self.peersJSON(cpu: "cpu", cores: 2).utf8))
        XCTAssertEqual(old.results.map(\.pass), ["forward"], "no pass in the JSON: forward")
        XCTAssertNil(old.skipped.first?.pass)
        var report = old
        report.results.append(BenchResult(shape: "tiny:ic8ih8oc8kh3ph1pw1", kernel: "onnxruntime", threads: 2, medianMs: 1, minMs: 1,
                                          gflops: 1, source: "peer", pass: "backward"))
        report.skipped.append(BenchSkip(kernel: "onnxruntime", reason: "no backward", pass: "backward"))
        let data = try ReportJSON.encode(report)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try XCTUnwrap(object["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["pass"] as? String }, ["forward", "backward"])
        XCTAssertEqual(try ReportJSON.decode(BenchReport.self, from: data), report)
        // Merging and best-of keep forward and backward of one (shape, kernel) apart.
        let ours = BenchReport(machine: old.machine)
        XCTAssertEqual(ours.merging(report, from: "peers").results.count, 2)
        XCTAssertEqual(BenchReport.best(of: [report, report]).results.count, 2)
    }

    private func tinyReport() throws -> BenchReport {
        let shapes = try Self.tiny.map { try BenchShape(parsing: $0) }
        let machine = MachineInfo.current(threads: 2).measuringPeak(seconds: 0.002, repetitions: 1)
        let kernels: [any DeformConvKernel] = [NaiveKernel(), RenamedKernel(base: NaiveKernel(), name: "naive-copy")]
        return BenchRunner(settings: fast).run(shapes: shapes, kernels: kernels.map(KernelSource.init), machine: machine)
    }

    /// What tools/bench/peers.py writes, with a shape in non-canonical form and a skipped peer.
    static func peersJSON(cpu: String, cores: Int) -> String {
        """
        {
          "command": "peers.py --threads 2",
          "machine": {"cores": \(cores), "cpu": "\(cpu)", "memory_method": "VmHWM", "os": "Linux", "runtime": "python 3.11.7", "threads": 2},
          "notes": [],
          "results": [
            {"cut_short": null, "flops": 55296.0, "gflops": 3.0, "gflops_best": 3.5, "kernel": "onnxruntime",
             "median_ms": 0.018432, "min_ms": 0.0158, "output_bytes": 2048, "peak_extra_bytes": 417792, "runs": 3,
             "shape": "tiny:mb1ic8ih8oc8kh3pt1pb1pl1pr1", "source": "peer", "threads": 2, "version": "1.32.0", "warmup_runs": 1}
          ],
          "settings": {"max_seconds": 1.0, "min_runs": 1, "runs": 3, "seed": 20240601, "warmup_runs": 1},
          "skipped": [{"kernel": "mindspore", "reason": "not installed (mindspore): No module named 'mindspore'"}]
        }
        """
    }
}

/// A kernel that takes a fixed time: for the time-budget logic.
private struct SleepingKernel: DeformConvKernel, Float32Units {
    let name = "sleeping"
    let summary = "sleeps, returns zeros"
    var seconds: Double

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        Thread.sleep(forTimeInterval: seconds)
        return [Float](repeating: 0, count: problem.outputCount)
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] { runWidened(problem, inputs) }
}

/// Another kernel's arithmetic under another name, so a report has two kernels without timing slow ones.
private struct RenamedKernel: DeformConvKernel {
    var base: NaiveKernel
    var name: String
    var summary: String { base.summary }
    var accumulationUnitRoundoff: Double { base.accumulationUnitRoundoff }
    var samplingUnitRoundoff: Double { base.samplingUnitRoundoff }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] { base.run(problem, inputs) }
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] { base.run(problem, inputs) }
}

/// Counts elements and collects text of an SVG document.
private final class SVGChecker: NSObject, XMLParserDelegate {
    var root: String?
    var elements: [String: Int] = [:]
    var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        elements[name, default: 0] += 1
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }
}
