import Conformance
import DeformConv
import Foundation
import XCTest

/// Counts calls, for a kernel whose result depends on how often it was called.
private final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
}

/// `naive`, but on every other call (forward or backward) it adds the channels in reverse order:
/// the same sums in another order, so results within the bound whose bits change from call to call.
/// Only problems with one group and one offset group are reordered.
private struct PlantedNondeterministic: DeformConvKernel, Float32Units {
    let name = "planted-order"
    let summary = "naive, adding the channels in reverse on every other call"
    let calls = CallCounter()
    /// Which passes reorder.
    var reorderForward = true
    var reorderBackward = true
    var passes: Set<KernelPass> { [.forward, .backward] }

    /// The channels of x (per image) and of weight (per output channel) in reverse.
    static func reversed(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> DeformConvInputs<Float> {
        var out = inputs
        out.x = reverse(inputs.x, outer: problem.batch, channels: problem.channels, inner: problem.height * problem.width)
        out.weight = reverse(inputs.weight, outer: problem.outputChannels, channels: problem.channelsPerGroup,
                             inner: problem.kernelHeight * problem.kernelWidth)
        return out
    }

    static func reverse(_ values: [Float], outer: Int, channels: Int, inner: Int) -> [Float] {
        var out = values
        for n in 0..<outer {
            for c in 0..<channels {
                for i in 0..<inner {
                    out[(n * channels + c) * inner + i] = values[(n * channels + (channels - 1 - c)) * inner + i]
                }
            }
        }
        return out
    }

    func reorders(_ problem: DeformConvProblem, _ enabled: Bool) -> Bool {
        enabled && problem.groups == 1 && problem.deformableGroups == 1 && calls.next() % 2 == 0
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        guard reorders(problem, reorderForward) else { return NaiveKernel().run(problem, inputs) }
        return NaiveKernel().run(problem, Self.reversed(problem, inputs))
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        guard reorders(problem, reorderBackward) else { return NaiveKernel().backward(problem, inputs, gy: gy) }
        guard var gradients = NaiveKernel().backward(problem, Self.reversed(problem, inputs), gy: gy) else { return nil }
        gradients.gx = Self.reverse(gradients.gx, outer: problem.batch, channels: problem.channels, inner: problem.height * problem.width)
        gradients.gweight = Self.reverse(gradients.gweight, outer: problem.outputChannels, channels: problem.channelsPerGroup,
                                         inner: problem.kernelHeight * problem.kernelWidth)
        return gradients
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        backwardWidened(problem, inputs, gy: gy)
    }
}

/// `naive`, counting its forward float32 calls.
private struct CountingKernel: DeformConvKernel, Float32Units {
    let name = "counting", summary = "naive, counting its calls"
    let calls = CallCounter()

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        _ = calls.next()
        return NaiveKernel().run(problem, inputs)
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }
}

final class DeterminismTests: XCTestCase {
    /// A small golden file of cases whose reordered channel sums change some bit (one group, one offset group).
    private func smallGolden() throws -> String {
        let cases = try ["basic-3x3", "basic-3x3-bias", "batch-2", "padding-1", "stride-2", "dilation-2"].enumerated().map {
            try SuiteGenerator().validCase(recipe($0.element), seed: UInt64(7 + $0.offset)).0
        }
        return try writeGolden(cases, to: try temporaryFolder(self))
    }

    /// A thread variant runs as often as the source itself: --repeat 3 is three runs at each thread count.
    func testEachThreadVariantRunsRepeatTimes() throws {
        let folder = try temporaryFolder(self)
        let golden = try writeGolden([try SuiteGenerator().validCase(recipe("dilation-2"), seed: 7).0], to: folder)
        let main = CountingKernel(), variant = CountingKernel()
        let report = Verifier(sources: [KernelSource(main)], passes: [.forward], determinism: Determinism(repeats: 3),
                              variants: [[ThreadVariant(threads: 7, source: KernelSource(variant))]]).run(files: [golden])
        XCTAssertEqual(report.results.count, 1)
        XCTAssertEqual(main.calls.value, 3)
        XCTAssertEqual(variant.calls.value, 3)
        XCTAssertNil(report.results[0].nondeterministic)
    }

    /// A variant whose bits change only on its second call is caught, named by its run.
    func testAVariantThatDiffersOnItsSecondRunIsCaught() throws {
        var planted = PlantedNondeterministic()
        planted.reorderBackward = false
        let report = Verifier(sources: [KernelSource(NaiveKernel())], passes: [.forward], determinism: Determinism(repeats: 2),
                              variants: [[ThreadVariant(threads: 7, source: KernelSource(planted))]]).run(files: [try smallGolden()])
        let found = report.results.compactMap(\.nondeterministic)
        XCTAssertFalse(found.isEmpty)
        XCTAssertTrue(found.allSatisfy { $0.contains("and run 2 at 7 threads") }, "\(found)")
    }

    /// The findings survive `merge-reports`, and JUnit and the HTML page show them: a warning as
    /// system-out, a failure with --require-deterministic.
    func testFindingsSurviveMergeAndShowInJUnitAndHTML() throws {
        let golden = try smallGolden()
        for required in [false, true] {
            let determinism = Determinism(repeats: 3, requireDeterministic: required)
            let info = DeterminismInfo(repeats: 3, requireDeterministic: required, threadCounts: [1], notRepeated: [])
            let shards = try (1...2).map { index in
                var shard = Verifier(kernels: [PlantedNondeterministic()], shard: Shard(index: index, count: 2), determinism: determinism)
                    .run(files: [golden])
                shard.determinism = info
                return (name: "shard \(index)", report: try ReportJSON.decode(VerifyReport.self, from: try ReportJSON.encode(shard)))
            }
            let merged = try ReportMerger.merge(shards)
            let findings = shards.reduce(0) { $0 + ($1.report.summary.nondeterministic ?? 0) }
            XCTAssertGreaterThan(findings, 0)
            XCTAssertEqual(merged.summary.nondeterministic, findings)
            XCTAssertEqual(merged.results.count { $0.nondeterministic != nil }, findings)
            XCTAssertEqual(merged.determinism, info)
            XCTAssertEqual(merged.exitCode, required ? 1 : 0)

            let junit = AccuracyReport.junit(merged)
            let warnings = junit.components(separatedBy: "<system-out>nondeterministic (").count - 1
            XCTAssertEqual(warnings, findings)
            if required {
                XCTAssertTrue(junit.contains("<failure message=\"nondeterministic: "), junit)
                XCTAssertEqual(junit.components(separatedBy: "<failure ").count - 1, merged.summary.failed)
            } else {
                XCTAssertFalse(junit.contains("<failure "))
                XCTAssertTrue(junit.contains("a warning; --require-deterministic makes it a failure): forward y["))
            }

            let page = HTMLReport.page(HTMLReport.Inputs(verify: merged))
            XCTAssertTrue(page.contains("<h3>Nondeterministic results</h3>"))
            let first = try XCTUnwrap(merged.results.first { $0.nondeterministic != nil })
            XCTAssertTrue(page.contains("<li class=\"\(required ? "fail" : "warn")\"><b>\(first.caseName)</b>"), page)
        }
        // Shards of different determinism settings are not one run.
        var one = Verifier(kernels: [NaiveKernel()], shard: Shard(index: 1, count: 2)).run(files: [golden])
        one.determinism = DeterminismInfo(repeats: 2, requireDeterministic: false, threadCounts: [1], notRepeated: [])
        let two = Verifier(kernels: [NaiveKernel()], shard: Shard(index: 2, count: 2)).run(files: [golden])
        XCTAssertThrowsError(try ReportMerger.merge([("one", one), ("two", two)])) { error in
            XCTAssertTrue("\(error)".contains("determinism mode"), "\(error)")
        }
        // Without the mode the page has no such section.
        XCTAssertFalse(HTMLReport.page(HTMLReport.Inputs(verify: two)).contains("Nondeterministic"))
    }

    /// The committed golden file, found from this source file.
    static let committedVectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("vectors/dcn-default.h5").path

    func testPlantedOrderIsNondeterministicWithRepeat() throws {
        let report = Verifier(kernels: [PlantedNondeterministic()], determinism: Determinism(repeats: 3))
            .run(files: [defaultSuitePath])
        let found = report.results.filter { $0.nondeterministic != nil }
        XCTAssertFalse(found.isEmpty, "the reordered sums should differ in some bit")
        XCTAssertEqual(report.summary.nondeterministic, found.count)
        XCTAssertTrue(found.contains { $0.nondeterministic!.hasPrefix("forward y[") }, "\(found.map(\.nondeterministic))")
        // A warning only: every case still passes its bound.
        XCTAssertEqual(report.summary.failed, 0, "\(report.results.filter { $0.status == .fail }.map(\.message))")
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertNil(report.results.first { $0.nondeterministic != nil && $0.status != .pass })

        let required = Verifier(kernels: [PlantedNondeterministic()], determinism: Determinism(repeats: 3, requireDeterministic: true))
            .run(files: [defaultSuitePath])
        XCTAssertGreaterThan(required.summary.failed, 0)
        XCTAssertEqual(required.exitCode, 1)
        let failed = required.results.filter { $0.status == .fail }
        XCTAssertTrue(failed.allSatisfy { $0.nondeterministic != nil && ($0.message ?? "").contains("nondeterministic: ") })
    }

    func testPlantedBackwardOrderIsNamedByGradient() throws {
        var kernel = PlantedNondeterministic()
        kernel.reorderForward = false
        let report = Verifier(kernels: [kernel], passes: [.backward], determinism: Determinism(repeats: 3)).run(files: [defaultSuitePath])
        let found = report.results.compactMap(\.nondeterministic)
        XCTAssertFalse(found.isEmpty)
        XCTAssertTrue(found.allSatisfy { $0.hasPrefix("backward g") }, "\(found)")
        XCTAssertTrue(found.contains { $0.contains("between run 1 (1 thread) and run 2") }, "\(found)")
    }

    func testBuiltInKernelsAreDeterministicOverCommittedVectors() throws {
        let path = Self.committedVectors
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no \(path)") }
        let kernels = ["naive", "simd", "threaded"].compactMap { KernelRegistry.named($0) }
        let determinism = Determinism(repeats: 2, requireDeterministic: true)
        let verifier = Verifier(kernels: kernels, determinism: determinism)
        // threaded also runs at 1 thread (and at the cores, its default); naive and simd take no thread count.
        XCTAssertEqual(verifier.variants.map { $0.map(\.threads) }, [[], [], ProcessInfo.processInfo.activeProcessorCount == 1 ? [] : [1]])
        let report = verifier.run(files: [path])
        XCTAssertEqual(report.results.compactMap(\.nondeterministic), [])
        XCTAssertNil(report.summary.nondeterministic)
        XCTAssertEqual(report.summary.failed, 0)
        XCTAssertGreaterThan(report.results.count { $0.backward?.status == .pass }, 0)
    }

    func testRepeatOneAddsNothing() throws {
        let off = Verifier(kernels: [PlantedNondeterministic()]).run(files: [defaultSuitePath])
        XCTAssertTrue(off.results.allSatisfy { $0.nondeterministic == nil })
        XCTAssertNil(off.summary.nondeterministic)
        XCTAssertNil(off.determinism)
        let json = String(decoding: try ReportJSON.encode(off), as: UTF8.self)
        XCTAssertFalse(json.contains("nondeterministic"))
        XCTAssertFalse(json.contains("determinism"))
        XCTAssertFalse(AccuracyReport.markdown(off, command: "dcn verify").contains("Nondeterministic"))
    }

    func testVerifyCommandLine() throws {
        let folder = try temporaryFolder(self)
        let golden = try writeGolden([try SuiteGenerator().validCase(recipe("dilation-2"), seed: 7).0], to: folder)
        let reports = folder + "/reports"

        let repeated = try runDcn(["verify", golden, "--kernel", "naive", "--kernel", "threaded",
                                   "--repeat", "2", "--require-deterministic", "--report-dir", reports, "--json", folder + "/r.json"])
        XCTAssertEqual(repeated.status, 0, repeated.stdout + repeated.stderr)
        XCTAssertFalse(repeated.stdout.contains("NONDETERMINISTIC"), repeated.stdout)
        let markdown = try String(contentsOfFile: reports + "/accuracy.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Nondeterministic results"))
        let json = try String(contentsOfFile: folder + "/r.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"determinism\""), json)
        XCTAssertTrue(json.contains("\"repeats\""), json)

        let plain = try runDcn(["verify", golden, "--kernel", "naive", "--report-dir", reports])
        XCTAssertEqual(plain.status, 0, plain.stdout + plain.stderr)
        XCTAssertFalse(plain.stdout.contains("repeat"))
        XCTAssertFalse(try String(contentsOfFile: reports + "/accuracy.md", encoding: .utf8).contains("Nondeterministic"))

        // Recorded results cannot be repeated: said once, not an error of its own.
        let recorded = try runDcn(["verify", golden, "--kernel", "framework", "--kernel", "naive", "--repeat", "2", "--report-dir", reports])
        XCTAssertNotEqual(recorded.status, 2, recorded.stdout + recorded.stderr)
        XCTAssertEqual(recorded.stdout.components(separatedBy: "note: --repeat does not apply to ").count, 2, recorded.stdout)

        XCTAssertEqual(try runDcn(["verify", golden, "--kernel", "naive", "--repeat", "0", "--report-dir", reports]).status, 2)
        XCTAssertEqual(try runDcn(["verify", golden, "--kernel", "naive", "--require-deterministic", "--report-dir", reports]).status, 2)
    }

    /// A plugin (the example kernel) whose forward flips the last bit of y[0] on every other call,
    /// through the reader child processes: `--repeat` reaches `verify-file`.
    func testVerifyCommandLineFlagsAPluginThroughTheReaderChild() throws {
        let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let compiler else { throw XCTSkip("no C compiler") }
        let folder = try temporaryFolder(self)
        let example = byoPackageRoot.appendingPathComponent("tools/examples/plugin/example_kernel.c").path
        try """
        #include "\(example)"
        static int calls = 0;
        int32_t planted_run(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                            const void *bias, void *y) {
            int32_t status = dcn_kernel_run(p, x, weight, offsets, bias, y);
            if (status == 0 && p->dtype == DCN_DTYPE_FLOAT32 && ++calls % 2 == 0) { ((uint32_t *)y)[0] ^= 1u; }
            return status;
        }
        """.write(toFile: folder + "/planted.c", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-shared", "-fPIC", "-O2", "-I", byoPackageRoot.appendingPathComponent("include").path,
                             folder + "/planted.c", "-o", folder + "/libplanted.so", "-lm"]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let golden = try writeGolden([try SuiteGenerator().validCase(recipe("dilation-2"), seed: 7).0], to: folder)
        let arguments = ["verify", golden, "--plugin", folder + "/libplanted.so", "--plugin-symbol", "planted_run", "--name", "planted",
                         "--pass", "forward", "--report-dir", folder + "/reports", "--json", folder + "/r.json"]

        let warned = try runDcn(arguments + ["--repeat", "3"])
        XCTAssertEqual(warned.status, 0, warned.stdout + warned.stderr)
        XCTAssertTrue(warned.stdout.contains("NONDETERMINISTIC planted \(golden): dilation-2: forward y[0] differs between run 1"), warned.stdout)
        XCTAssertTrue(warned.stdout.contains("1 nondeterministic"), warned.stdout)
        let json = try String(contentsOfFile: folder + "/r.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"nondeterministic\""), json)
        XCTAssertTrue(try String(contentsOfFile: folder + "/reports/accuracy.md", encoding: .utf8).contains("- **dilation-2**"))

        let required = try runDcn(arguments + ["--repeat", "3", "--require-deterministic"])
        XCTAssertEqual(required.status, 1, required.stdout + required.stderr)
        XCTAssertTrue(required.stdout.contains("FAIL planted"), required.stdout)

        let once = try runDcn(arguments)
        XCTAssertEqual(once.status, 0, once.stdout + once.stderr)
        XCTAssertFalse(once.stdout.lowercased().contains("nondeterministic"), once.stdout)
    }
}
