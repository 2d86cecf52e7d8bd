@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// One mutant of tools/mutants/mutant_kernel.c, from its "MUTANT name pass description" line.
private struct MutantEntry {
    enum Pass: String { case forward, backward, determinism }
    var name: String
    var pass: Pass
    var description: String
}

/// The zoo built once per test process by tools/mutants/build.sh: every mutant and the correct build.
private struct Zoo {
    var folder: String
    var entries: [MutantEntry]
    var seconds: Double

    func library(_ name: String) -> String { "\(folder)/libmutant-\(name).so" }

    /// Where this test process builds it (removed when the class's tests end).
    static var folder: String { NSTemporaryDirectory() + "dcn-mutant-zoo-\(getpid())" }

    static let source = byoPackageRoot.appendingPathComponent("tools/mutants/mutant_kernel.c").path

    /// The MUTANT lines of the source.
    static func entries() throws -> [MutantEntry] {
        let text = try String(contentsOfFile: source, encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> MutantEntry? in
            guard line.hasPrefix(" * MUTANT ") else { return nil }
            let words = line.dropFirst(" * MUTANT ".count).split(separator: " ", maxSplits: 2).map(String.init)
            guard words.count == 3, let pass = MutantEntry.Pass(rawValue: words[1]) else {
                throw ZooBuildError(description: "\(source): malformed line '\(line)' (MUTANT name forward|backward|determinism description)")
            }
            return MutantEntry(name: words[0], pass: pass, description: words[2])
        }
    }

    static let built: Result<Zoo, any Error> = Result {
        let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let compiler else { throw XCTSkip("skipped: no C compiler (cc, gcc or clang) to build the mutant zoo") }
        let folder = Zoo.folder
        let start = Date()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [byoPackageRoot.appendingPathComponent("tools/mutants/build.sh").path, folder]
        // -O1: the plugins' run time hardly matters beside the scoring, their compile time does (0.19 s a
        // mutant against 0.30 s at -O2, 43 of them).
        process.environment = ProcessInfo.processInfo.environment.merging(["CC": compiler, "CFLAGS": "-O1"]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let messages = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ZooBuildError(description: "tools/mutants/build.sh failed: \(messages)") }
        return Zoo(folder: folder, entries: try entries(), seconds: Date().timeIntervalSince(start))
    }
}

private struct ZooBuildError: Error, CustomStringConvertible {
    var description: String
}

/// Issue 18's mutant zoo: every planted bug of tools/mutants/mutant_kernel.c is killed by
/// vectors/dcn-default.h5 (a suite change that loses a kill fails here), the correct build of the same
/// source passes everything, and the determinism mode catches the mutant whose sums depend on the run.
final class MutantZooTests: XCTestCase {
    private var golden: String { byoPackageRoot.appendingPathComponent("vectors/dcn-default.h5").path }

    private func zoo() throws -> Zoo { try Zoo.built.get() }

    override class func tearDown() {
        if ProcessInfo.processInfo.environment["DCN_KEEP_TEST_FOLDERS"] == nil { try? FileManager.default.removeItem(atPath: Zoo.folder) }
        super.tearDown()
    }

    func testTheZooHasTheBugClassesTheIssueAsksFor() throws {
        let entries = try Zoo.entries()
        XCTAssertGreaterThanOrEqual(entries.count { $0.pass == .forward }, 20)
        XCTAssertGreaterThanOrEqual(entries.count { $0.pass == .backward }, 10)
        XCTAssertGreaterThanOrEqual(entries.count { $0.pass == .determinism }, 1)
        XCTAssertEqual(Set(entries.map(\.name)).count, entries.count, "mutant names are unique")
        // Each name is a macro the source tests: a misspelt one would build the correct kernel.
        let text = try String(contentsOfFile: Zoo.source, encoding: .utf8)
        for entry in entries {
            XCTAssertTrue(text.contains("MUTANT_\(entry.name.uppercased())"), "no MUTANT_\(entry.name.uppercased()) in the source")
        }
    }

    func testEveryMutantIsKilledAndTheCorrectBuildPasses() throws {
        let zoo = try zoo()
        let start = Date()
        let ordinary = zoo.entries.filter { $0.pass != .determinism }
        let plugins = try (ordinary.map(\.name) + ["correct"]).map { try PluginSource(path: zoo.library($0)) }
        XCTAssertEqual(plugins.map(\.name), ordinary.map(\.name) + ["correct"], "each library reports its mutant's name")
        XCTAssertTrue(plugins.allSatisfy { $0.passes == [.forward, .backward] })
        // In process: every mutant reads and writes only inside its buffers (the source says so, and
        // the NaN-filled outputs would show an unwritten element as a failure, not a crash).
        var reports: [VerifyReport] = []
        let (matrix, unreadable) = KillMatrix.measure(correct: "correct") { passes in
            let report = Verifier(sources: plugins, passes: passes).run(files: [golden])
            reports.append(report)
            return report
        }
        XCTAssertTrue(unreadable.isEmpty)

        // The correct build passes every case, forward and backward, none of them skipped.
        XCTAssertEqual(matrix.summary.correctFailures, [])
        let correctForward = reports[0].results.filter { $0.kernel == "correct" }
        let correctBackward = reports[1].results.filter { $0.kernel == "correct" }
        XCTAssertEqual(correctForward.count, DefaultSuite.valid.count + DefaultSuite.errors.count { !$0.name.hasPrefix("grad-") })
        XCTAssertEqual(correctBackward.count, PluginTests.backwardCases)
        XCTAssertTrue((correctForward + correctBackward).allSatisfy { $0.status == .pass })
        XCTAssertTrue(correctBackward.allSatisfy { $0.backward?.status == .pass })

        // Every mutant dies, in the pass its bug is in; a backward bug leaves the forward alone.
        XCTAssertEqual(matrix.summary.survivors, [], "mutants that vectors/dcn-default.h5 no longer kills: add a case to DefaultSuite")
        for entry in ordinary {
            let mutant = try XCTUnwrap(matrix.mutants.first { $0.name == entry.name })
            switch entry.pass {
            case .forward: XCTAssertFalse(mutant.forward.isEmpty, "\(entry.name) (\(entry.description)) survives the forward cases")
            case .backward:
                XCTAssertFalse(mutant.backward.isEmpty, "\(entry.name) (\(entry.description)) survives the backward cases")
                XCTAssertEqual(mutant.forward, [], "\(entry.name) is a backward bug, yet forward cases fail")
            case .determinism: break
            }
            XCTAssertEqual(mutant.nondeterministic, [], "no determinism mode in this run")
        }
        XCTAssertEqual(matrix.summary.killed, ordinary.count)
        XCTAssertEqual(matrix.exitCode, 0)
        // Each case's "only it kills" is right by construction: a mutant with exactly one killer.
        for item in matrix.cases {
            for name in item.onlyKiller {
                XCTAssertEqual(matrix.mutants.first { $0.name == name }?.killers, [item.reference])
            }
        }
        let markdown = KillMatrixReport.markdown(matrix)
        XCTAssertTrue(markdown.contains("**\(ordinary.count) of \(ordinary.count) mutants killed (100%)**"), markdown)
        XCTAssertTrue(markdown.contains("The correct build (**correct**) passes every case."))
        for entry in ordinary { XCTAssertTrue(markdown.contains("| `\(entry.name)` | yes |"), entry.name) }
        print("mutant zoo: \(zoo.entries.count) mutants built in \(String(format: "%.1f", zoo.seconds)) s; kill matrix of \(plugins.count) plugins in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    /// The mutant that sums in a run-dependent order passes the ordinary gate (its results are within
    /// the bound): only the determinism mode (`verify --repeat N`, issue 18 item 2) catches it.
    func testDeterminismModeCatchesTheOrderMutant() throws {
        let zoo = try zoo()
        let names = zoo.entries.filter { $0.pass == .determinism }.map(\.name)
        XCTAssertFalse(names.isEmpty)
        for name in names + ["correct"] {
            let specification = SourceSpecification.plugin(path: zoo.library(name), symbol: nil, backwardSymbol: nil, name: nil,
                                                           units: .none, threads: nil)
            let plugin = try specification.buildComputing()
            if name != "correct" { // (the correct build's ordinary run is the other test's)
                let plain = Verifier(sources: [plugin]).run(files: [golden])
                XCTAssertEqual(plain.summary.failed, 0, "\(name) is within the bound: an ordinary run passes it")
                XCTAssertNil(plain.summary.nondeterministic)
            }

            let determinism = Determinism(repeats: 2, requireDeterministic: true)
            let variants = Determinism.threadVariants(of: [specification], sources: [plugin])
            let repeated = Verifier(sources: [plugin], determinism: determinism, variants: variants).run(files: [golden])
            let found = repeated.results.filter { $0.nondeterministic != nil }
            if name == "correct" {
                XCTAssertEqual(found.count, 0, "the correct build gives the same bits every run")
                XCTAssertEqual(repeated.summary.failed, 0)
                continue
            }
            XCTAssertGreaterThan(found.count, 10, name)
            XCTAssertTrue(found.contains { $0.nondeterministic?.hasPrefix("forward") == true }, "forward sums reordered")
            XCTAssertTrue(found.contains { $0.nondeterministic?.hasPrefix("backward") == true }, "backward sums reordered")
            XCTAssertTrue(found.allSatisfy { $0.status == .fail && $0.message?.contains("nondeterministic: ") == true })

            // In the kill matrix it is a determinism kill only.
            let (matrix, _) = KillMatrix.measure(repeats: 2) { passes in
                Verifier(sources: [plugin], passes: passes, determinism: Determinism(repeats: 2), variants: variants).run(files: [golden])
            }
            let mutant = try XCTUnwrap(matrix.mutants.first)
            XCTAssertEqual(mutant.forward, [])
            XCTAssertEqual(mutant.backward, [])
            XCTAssertFalse(mutant.nondeterministic.isEmpty)
            XCTAssertEqual(Set(mutant.nondeterministic).count, mutant.nondeterministic.count, "a case nondeterministic in both passes counts once")
            XCTAssertTrue(KillMatrixReport.summaryLine(matrix).contains("1 by the determinism mode"))
        }
    }

    /// `dcn kill-matrix`: Markdown on stdout, JSON to a file, exit 1 while a mutant survives.
    func testKillMatrixCommand() throws {
        let zoo = try zoo()
        let folder = try temporaryFolder(self)
        let json = folder + "/matrix.json"
        let killed = try runDcn(["kill-matrix", zoo.library("strides_swapped"), zoo.library("gbias_wrong_axes"), zoo.library("correct"),
                                 "--correct", zoo.library("correct"), "--golden", golden, "--json", json])
        XCTAssertEqual(killed.status, 0, killed.stderr + killed.stdout)
        XCTAssertTrue(killed.stdout.contains("**2 of 2 mutants killed (100%)**: 1 by a forward case, 2 by a backward case."), killed.stdout)
        XCTAssertTrue(killed.stdout.contains("- **strides_swapped**: forward: "), killed.stdout)
        let decoded = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let summary = try XCTUnwrap(decoded?["summary"] as? [String: Any])
        XCTAssertEqual(summary["killed"] as? Int, 2)
        XCTAssertEqual(summary["correct"] as? String, "correct")
        XCTAssertEqual((decoded?["mutants"] as? [[String: Any]])?.map { $0["name"] as? String }, ["strides_swapped", "gbias_wrong_axes"])

        let survived = try runDcn(["kill-matrix", zoo.library("order_by_call"), "--golden", golden, "--quiet"])
        XCTAssertEqual(survived.status, 1, survived.stderr)
        XCTAssertEqual(survived.stdout, "0 of 1 mutants killed (0%): 0 by a forward case, 0 by a backward case.\n")
    }
}
