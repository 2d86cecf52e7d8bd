@testable import Conformance
@testable import Evaluation
import DeformConv
import Foundation
import XCTest

/// Compiles tools/examples/plugin/`source` into a shared library in a temporary folder of `test`.
func compilePlugin(_ source: String, defines: [String] = [], as name: String, for test: XCTestCase) throws -> String {
    let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let compiler else { throw XCTSkip("skipped: no C compiler (cc, gcc or clang) to build the example plugin") }
    let folder = try temporaryFolder(test)
    let library = folder + "/lib\(name).so"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: compiler)
    process.arguments = ["-shared", "-fPIC", "-O2", "-Wall", "-I", byoPackageRoot.appendingPathComponent("include").path]
        + defines + [byoPackageRoot.appendingPathComponent("tools/examples/plugin/\(source)").path, "-o", library, "-lm"]
    let err = Pipe()
    process.standardError = err
    try process.run()
    let messages = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "cc failed: \(messages)")
    return library
}

/// The plugin guard checks (include/dcn_kernel.h): each planted build of the example plugin breaks
/// one, on every valid case, and each case fails with a structured reason naming the buffer.
final class PluginGuardTests: XCTestCase {
    private var golden: String { byoPackageRoot.appendingPathComponent("vectors/dcn-default.h5").path }

    /// Verifies the golden file with the example plugin built with `define`; the valid cases' results.
    private func validResults(_ define: String, passes: Set<KernelPass>) throws -> [CaseResult] {
        let plugin = try PluginSource(path: try compilePlugin("example_kernel.c", defines: [define], as: define, for: self))
        let report = Verifier(sources: [plugin], passes: passes).run(files: [golden])
        XCTAssertEqual(report.exitCode, 1)
        let valid = report.results.filter { $0.expect == "ok" }
        XCTAssertEqual(valid.count, DefaultSuite.valid.count)
        return valid
    }

    func testAnUnwrittenOutputElementIsNamed() throws {
        for result in try validResults("-DDCN_GUARD_UNWRITTEN", passes: [.forward]) {
            XCTAssertEqual(result.status, .fail, result.caseName)
            let violation = try XCTUnwrap(result.guardViolations?.first, result.caseName)
            XCTAssertEqual(result.guardViolations?.count, 1)
            XCTAssertEqual(violation.kind, .notWritten)
            XCTAssertEqual(violation.buffer, "y")
            XCTAssertEqual(violation.count, 1)
            // The last element: the plugin skips the flat index n·co·ho·wo − 1.
            XCTAssertEqual(violation.firstIndex, violation.elements - 1)
            XCTAssertEqual(violation.firstPosition?.count, 4)
            XCTAssertNil(result.accuracy, "not scored as a mismatch")
            XCTAssertTrue(result.message?.hasPrefix("guard check failed: y: 1 of \(violation.elements) elements not written (first at index \(violation.elements - 1), [") == true,
                          result.message ?? "")
        }
    }

    func testAWritePastTheEndOfYIsNamed() throws {
        for result in try validResults("-DDCN_GUARD_PAST_END", passes: [.forward]) {
            let half = result.dtype == "float16"
            XCTAssertEqual(result.guardViolations, [GuardViolation(kind: .pastEnd, buffer: "y", count: half ? 2 : 4,
                                                                   elements: try XCTUnwrap(result.guardViolations?.first?.elements))],
                           result.caseName)
            XCTAssertEqual(result.message, "guard check failed: wrote \(half ? 2 : 4) bytes past the end of y")
        }
    }

    func testAWriteBeforeTheStartOfGXIsNamed() throws {
        for result in try validResults("-DDCN_GUARD_BEFORE_START", passes: [.backward]) {
            let backward = try XCTUnwrap(result.backward, result.caseName)
            XCTAssertEqual(backward.status, .fail)
            XCTAssertEqual(backward.guardViolations?.map(\.kind), [.beforeStart])
            XCTAssertEqual(backward.guardViolations?.first?.buffer, "gx")
            XCTAssertEqual(backward.message, "guard check failed: wrote 1 byte before the start of gx")
            XCTAssertTrue(result.message?.contains("wrote 1 byte before the start of gx") == true, result.message ?? "")
        }
    }

    func testAWriteIntoXIsNamedAndDoesNotReachOtherSources() throws {
        let plugin = try PluginSource(path: try compilePlugin("example_kernel.c", defines: ["-DDCN_GUARD_WRITES_INPUT"], as: "writesx", for: self))
        // The reference kernel after the plugin on the same cases: it sees the golden x, not the plugin's write.
        let report = Verifier(sources: [plugin, KernelSource(ReferenceKernel())], passes: [.forward]).run(files: [golden])
        let valid = report.results.filter { $0.expect == "ok" }
        XCTAssertEqual(valid.count, 2 * DefaultSuite.valid.count)
        for result in valid where result.kernel == plugin.name {
            XCTAssertEqual(result.guardViolations?.map(\.kind), [.inputWritten], result.caseName)
            let violation = try XCTUnwrap(result.guardViolations?.first)
            XCTAssertEqual(violation.buffer, "x")
            XCTAssertEqual(violation.count, 1)
            XCTAssertEqual(violation.firstIndex, 0)
            XCTAssertEqual(violation.firstPosition, [0, 0, 0, 0])
            XCTAssertTrue(result.message?.hasPrefix("guard check failed: wrote into input x: 1 of ") == true, result.message ?? "")
        }
        XCTAssertTrue(valid.filter { $0.kernel != plugin.name }.allSatisfy { $0.status == .pass })
    }

    /// A write far beyond the guards still crashes; through `dcn verify`'s reader child that is the
    /// case's failure, naming the plugin as a likely cause, and the other cases run.
    func testAWriteBeyondTheGuardsIsACrashedCaseThroughTheChild() throws {
        let folder = try temporaryFolder(self)
        let example = byoPackageRoot.appendingPathComponent("tools/examples/plugin/example_kernel.c").path
        try """
        #include "\(example)"
        int32_t far_run(const dcn_problem *p, const void *x, const void *w, const void *o, const void *b, void *y) {
            if (p->n == 2) ((volatile float *)y)[-(1 << 26)] = 1; /* 256 MB before y */
            return dcn_kernel_run(p, x, w, o, b, y);
        }
        """.write(toFile: folder + "/far.c", atomically: true, encoding: .utf8)
        let compiled = try runTool("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-I", byoPackageRoot.appendingPathComponent("include").path,
                                                   folder + "/far.c", "-o", folder + "/libfar.so", "-lm"])
        XCTAssertEqual(compiled.status, 0, compiled.output)
        let golden = try writeGolden([try SuiteGenerator().validCase(recipe("batch-2"), seed: 3).0,
                                      try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 4).0], to: folder)
        let run = try runDcn(["verify", golden, "--plugin", folder + "/libfar.so", "--plugin-symbol", "far_run", "--pass", "forward",
                              "--report-dir", folder + "/reports", "--json", folder + "/r.json"])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("batch-2: malformed case: "), run.stdout)
        XCTAssertTrue(run.stdout.contains("SIGSEGV"), run.stdout)
        XCTAssertTrue(run.stdout.contains("or inside the plugin: a write beyond its guard bytes or a bad read"), run.stdout)
        XCTAssertTrue(run.stdout.contains("1 passed, 1 failed"), run.stdout)
    }

    /// Unguarded (what `dcn bench` times): the plugin gets dcn's arrays and nothing is checked, so the
    /// correct build still passes and the unwritten element is only a NaN that fails the bound.
    func testUnguardedCallsComputeTheSameAndCheckNothing() throws {
        let correct = try PluginSource(path: try compilePlugin("example_kernel.c", as: "unguarded", for: self), guarded: false)
        XCTAssertEqual(Verifier(sources: [correct], passes: [.forward, .backward]).run(files: [golden]).summary.failed, 0)
        let spec = SourceSpecification.plugin(path: try compilePlugin("example_kernel.c", defines: ["-DDCN_GUARD_UNWRITTEN"], as: "unguardedbug", for: self),
                                              symbol: nil, backwardSymbol: nil, name: nil, units: .none, threads: nil)
        let unguarded = try spec.buildComputing(guarded: false)
        let results = Verifier(sources: [unguarded], passes: [.forward]).run(files: [golden]).results.filter { $0.expect == "ok" }
        XCTAssertTrue(results.allSatisfy { $0.status == .fail && $0.guardViolations == nil && $0.accuracy != nil })
        XCTAssertTrue(try spec.buildComputing() is PluginSource)
        XCTAssertEqual((try spec.buildComputing() as? PluginSource)?.guarded, true)
    }

    func testPositionsAreRowMajor() {
        XCTAssertEqual(GuardedBuffer.position(of: 0, in: [2, 3, 4]), [0, 0, 0])
        XCTAssertEqual(GuardedBuffer.position(of: 23, in: [2, 3, 4]), [1, 2, 3])
        XCTAssertEqual(GuardedBuffer.position(of: 13, in: [2, 3, 4]), [1, 0, 1])
    }
}
