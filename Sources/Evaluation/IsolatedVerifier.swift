import DeformConv
import Foundation
import Formats
import Scoring
import Suites

/// Runs `verify` with each golden file read in a child process of dcn, so that a
/// corrupt file that crashes libhdf5 (it does: fuzzed files make HDF5 1.10's
/// global-heap and vlen-string code read out of bounds) is a failed case, not a
/// crashed gate.
///
/// The child (`dcn verify-file`, hidden) verifies one file and prints one line
/// per event (`listed`, `start`, `end`) to its standard output, then writes its
/// `FileOutcome` as JSON. When the child dies inside a case, that case fails for
/// every kernel with a message naming the file, the case and the signal, and the
/// file is verified again without it, so the other cases still run. A child that
/// dies before it lists the cases makes the file unreadable. A case that makes
/// no progress for `caseTimeout` seconds is killed and reported the same way.
public struct IsolatedVerifier: Sendable {
    public var executable: String
    /// What the children build their sources from (as JSON); built once here too, for their identities.
    public var specifications: [SourceSpecification]
    public var identities: [SourceIdentity]
    public var limits: ResourceLimits
    public var shard: Shard?
    public var passes: Set<KernelPass>
    /// Seconds a case may run without finishing before the child is killed.
    public var caseTimeout: Double
    /// Determinism mode (`verify --repeat N`), passed on to every child.
    public var determinism: Determinism
    /// Crashes tolerated in one file before it is given up as unreadable.
    public static let maxCrashesPerFile = 16

    /// `identities` are those of the sources the parent built from `specifications` (once, so that a bad
    /// specification is a usage error there rather than in every child).
    public init(executable: String, specifications: [SourceSpecification], identities: [SourceIdentity],
                limits: ResourceLimits = .standard, shard: Shard? = nil, passes: Set<KernelPass> = Set(KernelPass.allCases),
                caseTimeout: Double = 600, determinism: Determinism = .off) {
        precondition(specifications.count == identities.count, "one identity per specification")
        self.executable = executable
        self.specifications = specifications
        self.identities = identities
        self.limits = limits
        self.shard = shard
        self.passes = passes
        self.caseTimeout = caseTimeout
        self.determinism = determinism
    }

    /// The path of the running executable (for a child of the same dcn).
    public static var currentExecutable: String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// Verifies `files`, up to one child per core at a time: each child has its own outcome and
    /// error files, and the outcomes are assembled in the files' order, so the report does not depend
    /// on which child ends first. `progress` is called from one child's watcher at a time.
    ///
    /// `dcn verify vectors` (3 files, both passes, 2-core Zen 3, three alternations): 2.7–3.0 s
    /// against 3.9–4.2 s one child at a time (each file's child takes 1.3–1.4 s).
    public func run(files: [String], progress: @escaping @Sendable (VerifyProgress) -> Void = { _ in }) -> VerifyReport {
        let folder = NSTemporaryDirectory() + "dcn-verify-\(getpid())-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let results = FileOutcomes(count: files.count)
        let workers = min(files.count, max(1, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = results.claim() {
                let file = files[index]
                let outcome = verify(file, index: index, folder: folder) { caseIndex, count, name in
                    results.reporting {
                        progress(VerifyProgress(done: caseIndex + 1, total: count, file: file, caseName: name,
                                                fileNumber: index + 1, fileCount: files.count))
                    }
                }
                results.store(outcome, at: index)
            }
        }
        return Verifier.assemble(files: files, outcomes: results.all, sources: identities, shard: shard)
    }

    /// The files' outcomes as the children end, and which file the next free worker takes.
    final class FileOutcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var outcomes: [FileOutcome?]
        private var next = 0

        init(count: Int) { outcomes = Array(repeating: nil, count: count) }

        func claim() -> Int? {
            lock.withLock {
                guard next < outcomes.count else { return nil }
                defer { next += 1 }
                return next
            }
        }

        func store(_ outcome: FileOutcome, at index: Int) { lock.withLock { outcomes[index] = outcome } }

        /// Runs `body` under the lock, so that two children's progress lines do not interleave.
        func reporting(_ body: () -> Void) { lock.withLock(body) }

        var all: [FileOutcome] { lock.withLock { outcomes.map { $0! } } }
    }

    /// One file through as many child runs as it takes to get past the cases that crash.
    func verify(_ file: String, index: Int, folder: String, progress: (Int, Int, String) -> Void) -> FileOutcome {
        var skipped: [(index: Int, name: String, why: String)] = []
        while true {
            let run = runChild(file, index: index, skip: skipped.map(\.index), folder: folder, progress: progress)
            switch run {
            case var .finished(outcome):
                for crash in skipped { add(crash, to: &outcome, fileIndex: index) }
                return outcome
            case let .died(why, listed, inCase):
                guard listed != nil, let inCase, skipped.count < Self.maxCrashesPerFile else {
                    var message = "\(file): the reader process \(why)"
                    if listed == nil { message += " while opening or listing the file" }
                    else if let last = skipped.last { message += "; gave up after \(skipped.count) cases crashed it (last: '\(last.name)')" }
                    else { message += " outside any case" }
                    var outcome = FileOutcome(file: file, unreadable: UnreadableFile(file: file, message: message + " (\(likelyCause))"))
                    if listed != nil, !skipped.isEmpty {
                        // The cases that crashed are still reported; the rest of the file is not.
                        outcome.cases = listed!
                        for crash in skipped { add(crash, to: &outcome, fileIndex: index) }
                    }
                    return outcome
                }
                skipped.append((inCase.index, inCase.name, why))
            case let .failed(message):
                return FileOutcome(file: file, unreadable: UnreadableFile(file: file, message: message))
            }
        }
    }

    /// Where a crash of the child most likely comes from: libhdf5 on corrupt data, or, with a plugin
    /// among the sources, the plugin (a write beyond its guard bytes, a bad read).
    var likelyCause: String {
        let plugin = specifications.contains { if case .plugin = $0 { true } else { false } }
        return "most likely inside libhdf5 on corrupt data" + (plugin ? ", or inside the plugin: a write beyond its guard bytes or a bad read" : "")
    }

    /// A case the child could not get through: failed for every kernel this shard owns.
    private func add(_ crash: (index: Int, name: String, why: String), to outcome: inout FileOutcome, fileIndex: Int) {
        let shard = self.shard ?? .all
        var placed = Array(zip(outcome.localPositions, outcome.results))
        for (kernelIndex, kernel) in identities.map(\.name).enumerated() {
            let position = crash.index * identities.count + kernelIndex
            guard shard.owns(fileIndex: fileIndex, position: position) else { continue }
            let message = "malformed case: \(outcome.file): case '\(crash.name)': the reader process \(crash.why) while checking this case "
                + "(\(likelyCause)); the case was skipped and the run went on"
            placed.append((position, CaseResult(file: outcome.file, caseName: crash.name, kernel: kernel, expect: "malformed",
                                                status: .fail, message: message, tags: [])))
        }
        placed.sort { $0.0 < $1.0 }
        outcome.localPositions = placed.map(\.0)
        outcome.results = placed.map(\.1)
    }

    enum ChildRun {
        case finished(FileOutcome)
        /// Killed by a signal or the timeout; `listed` cases, inside case `inCase` when it died.
        case died(String, listed: Int?, inCase: (index: Int, name: String)?)
        /// Exited with an error of its own.
        case failed(String)
    }

    /// What the child has said so far; written by the reading thread.
    final class ChildState: @unchecked Sendable {
        let lock = NSLock()
        var listed: Int?
        var current: (index: Int, name: String)?
        var started = 0
        var lastActivity = Date()
        var buffer = Data()

        func consume(_ data: Data) {
            lock.lock()
            defer { lock.unlock() }
            buffer.append(data)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                lastActivity = Date()
                switch fields.first {
                case "listed": listed = fields.count > 1 ? Int(fields[1]) : nil
                case "start" where fields.count > 2:
                    current = (Int(fields[1]) ?? -1, IsolatedVerifier.unhex(fields[2]))
                    started += 1
                case "end": current = nil
                default: break
                }
            }
        }
    }

    func runChild(_ file: String, index: Int, skip: [Int], folder: String, progress: (Int, Int, String) -> Void) -> ChildRun {
        let outcomePath = folder + "/outcome-\(index).json"
        let stderrPath = folder + "/stderr-\(index).txt"
        try? FileManager.default.removeItem(atPath: outcomePath)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        var arguments = ["verify-file", file, "--file-index", "\(index)", "--outcome", outcomePath,
                         "--max-memory", "\(limits.maxWorkingBytes)", "--sources", Self.encode(specifications)]
        if let shard { arguments += ["--shard", shard.description] }
        // Named the way `dcn verify-file --pass` takes it.
        arguments += ["--pass", passes == [.forward] ? "forward" : passes == [.backward] ? "backward" : "both"]
        if determinism.isOn { arguments += ["--repeat", "\(determinism.repeats)"] }
        if determinism.requireDeterministic { arguments += ["--require-deterministic"] }
        for caseIndex in skip { arguments += ["--skip-case", "\(caseIndex)"] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash is expected here; no backtrace to wait for
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: stderrPath) ?? FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let state = ChildState()
        let drained = DispatchSemaphore(value: 0)
        do {
            try process.run()
        } catch {
            return .failed("\(file): cannot start the reader process \(executable): \(error.localizedDescription)")
        }
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                state.consume(chunk)
            }
            drained.signal()
        }
        var timedOut: (index: Int, name: String)?
        var shown = 0
        while exited.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            state.lock.lock()
            let (current, listed, started, idle) = (state.current, state.listed, state.started, -state.lastActivity.timeIntervalSinceNow)
            state.lock.unlock()
            if let current, started != shown {
                shown = started
                progress(current.index, listed ?? 0, current.name)
            }
            if idle > caseTimeout {
                timedOut = current ?? (-1, "")
                kill(process.processIdentifier, SIGKILL)
            }
        }
        _ = drained.wait(timeout: .now() + 5)
        state.lock.lock()
        let (listed, current) = (state.listed, state.current)
        state.lock.unlock()

        if let timedOut {
            return .died("made no progress for \(Int(caseTimeout)) s and was killed", listed: listed,
                         inCase: timedOut.index >= 0 ? timedOut : nil)
        }
        if process.terminationReason == .uncaughtSignal {
            let signal = process.terminationStatus
            return .died("crashed (signal \(signal)\(Self.signalName(signal).map { ", \($0)" } ?? ""))", listed: listed, inCase: current)
        }
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n")
            // A sanitizer (scripts/sanitize) ends the child with a status and a SUMMARY line
            // instead of a signal; and the child never exits with an error inside a case by itself.
            if let summary = lines.first(where: { $0.contains("SUMMARY:") }) ?? (current != nil ? lines.last : nil) {
                return .died("crashed (exit status \(process.terminationStatus): \(summary.trimmingCharacters(in: .whitespaces)))",
                             listed: listed, inCase: current)
            }
            return .failed("\(file): the reader process exited with status \(process.terminationStatus): \(lines.suffix(3).joined(separator: " "))")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: outcomePath))
            return .finished(try ReportJSON.decode(FileOutcome.self, from: data))
        } catch {
            return .failed("\(file): the reader process wrote no readable outcome: \(error)")
        }
    }

    /// The source specifications as the child's `--sources` argument.
    public static func encode(_ specifications: [SourceSpecification]) -> String {
        String(decoding: (try? ReportJSON.encode(specifications, pretty: false)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func decodeSpecifications(_ text: String) throws -> [SourceSpecification] {
        try ReportJSON.decode([SourceSpecification].self, from: Data(text.utf8))
    }

    /// The child's outcome as compact JSON (the report's keys and non-finite numbers, no formatting).
    public static func encode(_ outcome: FileOutcome) throws -> Data {
        try ReportJSON.encode(outcome, pretty: false)
    }

    static func signalName(_ signal: Int32) -> String? {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGTRAP: "SIGTRAP"
        case SIGKILL: "SIGKILL"
        default: nil
        }
    }

    /// Case names travel hex-encoded, so that no name from a hostile file can break the line protocol.
    public static func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02x", $0) }.joined()
    }

    static func unhex(_ text: String) -> String {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex), index != text.endIndex {
            if let byte = UInt8(text[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The line the child prints for an event.
    public static func line(for event: Verifier.FileEvent) -> String {
        switch event {
        case let .listed(count): "listed\t\(count)\n"
        case let .started(index, _, name): "start\t\(index)\t\(hex(name))\n"
        case let .finished(index): "end\t\(index)\n"
        }
    }
}
