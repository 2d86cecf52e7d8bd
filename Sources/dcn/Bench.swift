import ArgumentParser
import Conformance
import DeformConv
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time kernels on problem descriptors and compare them with the machine's peak and with other libraries.",
        discussion: """
        Each (shape, kernel) pair gets warm-up runs, then timed runs until --runs are done or its --max-seconds \
        budget is spent (never fewer than --min-runs); pairs cut short are listed, never dropped. Reported: median \
        and minimum time, GFLOP/s (SPEC section 5's count), the fraction of the FMA peak measured at start on 1 thread \
        and on --threads threads, and the peak extra resident memory of one call (Linux: VmHWM after minus VmRSS \
        before, peak reset through /proc/self/clear_refs).

        Default shapes: the standard list (\(BenchShape.standardDescriptors.joined(separator: ", "))).
        Default kernels: every registered kernel except `reference` (float64, not a kernel to time) and, on the \
        standard shapes, `naive` (seconds per run there); `--kernel naive` still times it.

        Peers (onnxruntime, torchvision, MindSpore) are timed by tools/bench/peers.py: --run-peers runs it on the \
        same shapes and --threads after dcn's kernels, --peers FILE merges a JSON file it wrote earlier.
        Writes performance.md, performance.svg and performance.json to the report folder.
        Exit status: 0, or 2 for bad usage (bad descriptor, unknown kernel, unreadable peers file).
        """)

    @Option(name: .customLong("shape"), help: ArgumentHelp("A problem descriptor, e.g. r50-c3:mb1ic128ih64oc128kh3ph1pw1 (repeatable; default: the standard list).", valueName: "desc"))
    var shapes: [ShapeArgument] = []

    @Option(name: .customLong("kernel"), help: ArgumentHelp("A kernel to time (repeatable; default: all but reference and, on the standard shapes, naive). See `dcn kernels`.", valueName: "name"))
    var kernels: [KernelName] = []

    @OptionGroup var threadOptions: ThreadOptions

    @OptionGroup var reportOptions: ReportOptions

    @Option(help: "Untimed runs before the timed ones.")
    var warmup = BenchSettings().warmupRuns

    @Option(help: "Timed runs per shape and kernel.")
    var runs = BenchSettings().runs

    @Option(help: "Timed runs done even past the time budget.")
    var minRuns = BenchSettings().minRuns

    @Option(help: "Time budget per shape and kernel in seconds, warm-up included.")
    var maxSeconds = BenchSettings().maxSeconds

    @Option(help: "Seed of the random inputs.")
    var seed = BenchSettings().seed

    @Option(help: "Seconds per round of the FMA peak measurement.")
    var peakSeconds = 0.1

    @Option(name: .customLong("peers"), help: "Merge a JSON file written by tools/bench/peers.py (repeatable).")
    var peersFiles: [String] = []

    @Flag(help: "Run tools/bench/peers.py on the same shapes and threads after dcn's kernels.")
    var runPeers = false

    @Option(help: "The Python interpreter for --run-peers.")
    var python = "python3"

    @Option(help: "The peers script for --run-peers.")
    var peersScript = "tools/bench/peers.py"

    @Option(name: .customLong("pass"), help: ArgumentHelp("The pass to time: forward, backward or both (the backward through each kernel's computeBackward with a seeded gy; kernels without one are listed as skipped).", valueName: "forward|backward|both"))
    var pass: PassSelection = .forward

    @OptionGroup(title: "A C plugin to time (SourceOptions.swift)")
    var external: SourceOptions

    private var settings: BenchSettings {
        BenchSettings(warmupRuns: warmup, runs: runs, minRuns: minRuns, maxSeconds: maxSeconds, seed: seed)
    }

    func validate() throws {
        guard external.outputs.isEmpty else { throw ValidationError("--outputs holds recorded results, which cannot be timed") }
        _ = try external.specifications([])
        guard peakSeconds > 0 else { throw ValidationError("--peak-seconds must be positive, got \(peakSeconds)") }
        do throws(BenchError) { _ = try settings.validated() } catch { throw ValidationError(error.description) }
        for shape in shapes { _ = try shape.shape() }
        if runPeers && !FileManager.default.fileExists(atPath: peersScript) {
            throw ValidationError("--run-peers: no peers script at \(peersScript) (run from the package folder or give --peers-script)")
        }
    }

    func run() throws {
        let threads = threadOptions.threads ?? ProcessInfo.processInfo.activeProcessorCount
        // A missing library or symbol is bad usage: found before anything is timed.
        // Unguarded: the guard checks (copies of the inputs, scans of every buffer) would be timed with the
        // plugin (a plugin that only zeroes y: min of 10 runs 0.05 ms unguarded, 0.26 ms guarded on
        // ic64ih56oc64kh3ph1pw1, release); verify checks them.
        let plugins = try buildComputingSources(try external.specifications([]), threads: threads, guarded: false)
        let benchShapes = try shapes.isEmpty ? BenchShape.standard() : shapes.map { try $0.shape() }
        var names = kernels.map(\.name)
        var excluded: [BenchSkip] = []
        if names.isEmpty && plugins.isEmpty {
            (names, excluded) = BenchKernels.defaults(standardShapes: shapes.isEmpty)
        }
        let selected: [any ComputingSource]
        var peerReports: [(String, BenchReport)] = []
        do {
            selected = try BenchKernels.resolve(names, threads: threads) + plugins
            // Read peers files before the long run, so a typo fails at once.
            for path in peersFiles { peerReports.append((path, try Self.readPeers(path))) }
        } catch {
            throw Terminal.usageFailure(error.description)
        }
        if selected.isEmpty && !runPeers && peerReports.isEmpty {
            throw Terminal.usageFailure("no kernel to time")
        }

        for skip in excluded { say("not timed by default: \(skip.kernel): \(skip.reason)") }
        Terminal.error("measuring the FMA peak on 1 and \(threads) thread\(threads == 1 ? "" : "s")…")
        let machine = MachineInfo.current(threads: threads, runtime: "dcn \(Dcn.version)").measuringPeak(seconds: peakSeconds)
        say("machine: \(machine.cpu), \(machine.cores) cores; FMA peak \(gflops(machine.peakGflopsOneThread)) GFLOP/s on 1 thread, "
              + "\(gflops(machine.peakGflopsAllThreads)) GFLOP/s on \(threads) thread\(threads == 1 ? "" : "s")")
        #if DEBUG
        say("note: this dcn is a debug build: its times and peak mean nothing (swift build -c release --product dcn)")
        #endif
        if let load = machine.loadAverage, load >= 0.5 {
            say(String(format: "note: load average %.2f: other work is competing for the cores, so times are noisy", load))
        }
        if machine.hasAVX512 {
            say("note: this CPU has AVX-512F: the peak is that of 512-bit FMAs, which simd and threaded use here")
        }
        if !MemoryProbe.isAvailable { say("peak extra memory: not measurable here (\(machine.memoryMethod ?? ""))") }

        let runner = BenchRunner(settings: settings)
        var report = runner.run(shapes: benchShapes, kernels: selected, machine: machine, passes: KernelPass.allCases.filter(pass.passes.contains).map(BenchPass.init), progress: { step in
            Terminal.error("[\(step.done + 1)/\(step.total)] \(step.shape) × \(step.kernel)…")
        }, finished: { result in
            say(Self.line(result))
        })
        report.skipped = excluded + report.skipped
        report.command = (["dcn", "bench"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")

        if runPeers {
            switch runPeersScript(shapes: benchShapes, threads: threads, settings: settings) {
            case let .success(peers): peerReports.append(("peers.py", peers))
            case let .failure(failure):
                Terminal.error("warning: \(failure); the report has no peers")
                report.skipped.append(BenchSkip(kernel: "peers", reason: failure.description))
            }
        }
        for (source, peers) in peerReports {
            report = report.merging(peers, from: source)
        }
        // Others' work on the machine during the first measurement would understate the peak: measure again.
        Terminal.error("measuring the FMA peak again…")
        report = report.withMachine(machine.keepingBestPeak(of: machine.measuringPeak(seconds: peakSeconds)))
        if let one = report.machine.peakGflopsOneThread, let all = report.machine.peakGflopsAllThreads {
            say(String(format: "FMA peak (best of start and end): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads", one, all, threads))
        }
        for r in report.results where (r.peakFraction ?? 0) > 1 {
            let note = "\(r.kernel) on \(PerformanceReport.label(r.shape)) ran at \(String(format: "%.0f%%", 100 * r.peakFraction!)) of the measured FMA peak: the peak measurement was disturbed"
            report.notes.append(note)
            say("note: " + note)
        }

        try files(of: report).write()
        printSummary(report, alreadyPrinted: excluded)
    }

    /// performance.md, its chart and performance.json in the report folder, and the JSON at --json.
    private func files(of report: BenchReport) throws -> ReportFiles {
        let folder = reportOptions.reportDir
        var files = ReportFiles()
        let data = try ReportFiles.json(report)
        files.add(Data(PerformanceReport.markdown(report).utf8), named: "performance.md", in: folder)
        files.add(Data(PerformanceReport.svg(report).utf8), named: PerformanceReport.chartFile, in: folder)
        files.add(data, named: "performance.json", in: folder)
        if let json = reportOptions.json { files.add(data, at: json) }
        return files
    }

    private static func readPeers(_ path: String) throws(BenchError) -> BenchReport {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .badPeersFile(path: path, reason: error.localizedDescription)
        }
        do {
            return try ReportJSON.decode(BenchReport.self, from: data)
        } catch {
            throw .badPeersFile(path: path, reason: "not in the bench JSON schema: \(error)")
        }
    }

    /// Why --run-peers gave no report: the bench still writes its own, noting the peers as skipped.
    private enum PeersFailure: Error, CustomStringConvertible {
        case couldNotStart(command: String, reason: String)
        case exited(command: String, status: Int32)
        case unreadable(BenchError)

        var description: String {
            switch self {
            case let .couldNotStart(command, reason): "could not start \(command): \(reason)"
            case let .exited(command, status): "\(command) exited with status \(status)"
            case let .unreadable(error): error.description
            }
        }
    }

    /// Runs the peers script as a subprocess, its output passed on to stderr, and reads the JSON it writes.
    private func runPeersScript(shapes: [BenchShape], threads: Int, settings: BenchSettings) -> Result<BenchReport, PeersFailure> {
        let output = NSTemporaryDirectory() + "dcn-peers-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        var arguments = [python, peersScript, "--threads", "\(threads)", "--json", output,
                         "--warmup", "\(settings.warmupRuns)", "--runs", "\(settings.runs)", "--min-runs", "\(settings.minRuns)",
                         "--max-seconds", "\(settings.maxSeconds)", "--seed", "\(settings.seed)", "--pass", pass.rawValue]
        for shape in shapes { arguments += ["--shape", shape.canonical] }
        Terminal.error("running \(arguments.joined(separator: " "))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        // Its result lines are progress here: the summary prints every peer result again, with the fraction of peak.
        process.standardOutput = FileHandle.standardError
        let command = "\(python) \(peersScript)"
        do {
            try process.run()
        } catch {
            return .failure(.couldNotStart(command: command, reason: error.localizedDescription))
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(.exited(command: command, status: process.terminationStatus))
        }
        return Result { () throws(BenchError) in try Self.readPeers(output) }.mapError(PeersFailure.unreadable)
    }

    private static func line(_ r: BenchResult) -> String {
        var text = "\(PerformanceReport.label(r.shape))  \(r.kernel)\(r.isBackward ? " backward" : "")  \(r.threads) thread\(r.threads == 1 ? "" : "s")  "
        text += String(format: "median %.3f ms  min %.3f ms  %.2f GFLOP/s", r.medianMs, r.minMs, r.gflops)
        if let fraction = r.peakFraction { text += String(format: "  %.1f%% of peak", 100 * fraction) }
        if let bytes = r.peakExtraBytes { text += String(format: "  extra %.1f MiB", Double(bytes) / 1_048_576) }
        if let runs = r.runs { text += "  \(runs) run\(runs == 1 ? "" : "s")" }
        if let cut = r.cutShort { text += "  (cut short: \(cut))" }
        return text
    }

    private func printSummary(_ report: BenchReport, alreadyPrinted: [BenchSkip]) {
        let peers = report.results.filter(\.isPeer)
        for r in peers { say(Self.line(r) + (r.version.map { "  (\(r.kernel) \($0))" } ?? "")) }
        for skip in report.skipped where !alreadyPrinted.contains(skip) {
            say("skipped: \(skip.kernel)\(skip.pass.map { " \($0)" } ?? "")\(skip.shape.map { " on \(PerformanceReport.label($0))" } ?? ""): \(skip.reason)")
        }
        let ours = report.results.count - peers.count
        let cut = report.results.count { $0.cutShort != nil }
        say("\(ours) dcn result\(ours == 1 ? "" : "s"), \(peers.count) peer result\(peers.count == 1 ? "" : "s"), "
              + "\(cut) cut short, \(report.skipped.count) skipped; report in \(reportOptions.reportDir)/performance.md")
    }

    /// Writes a line to stdout at once, unbuffered, so that it stays in order with progress on stderr in one log.
    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private func say(_ line: String) { Self.say(line) }

    private func gflops(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "–" }
}

