import DeformConv
import Dispatch
import Foundation
import Evaluation
import Formats
import Scoring
import Suites

/// How each (shape, kernel) pair is timed.
public struct BenchSettings: Codable, Sendable, Hashable {
    /// Untimed runs first, for caches, page faults and thread start-up; the first one also measures memory.
    public var warmupRuns: Int
    /// Timed runs wanted.
    public var runs: Int
    /// Timed runs done even when the time budget is spent.
    public var minRuns: Int
    /// Budget of one (shape, kernel) pair, warm-up included: no new run starts
    /// once the runs so far plus one more would exceed it (past `minRuns`).
    public var maxSeconds: Double
    /// Seed of the random inputs.
    public var seed: UInt64

    public init(warmupRuns: Int = 2, runs: Int = 10, minRuns: Int = 1, maxSeconds: Double = 5, seed: UInt64 = 20_240_601) {
        self.warmupRuns = warmupRuns
        self.runs = runs
        self.minRuns = minRuns
        self.maxSeconds = maxSeconds
        self.seed = seed
    }

    /// Checks the settings make sense, naming the option at fault.
    public func validated() throws(BenchError) -> BenchSettings {
        if warmupRuns < 0 { throw .badSetting(option: "--warmup", requirement: "at least 0", got: "\(warmupRuns)") }
        if runs < 1 { throw .badSetting(option: "--runs", requirement: "at least 1", got: "\(runs)") }
        if minRuns < 1 || minRuns > runs { throw .badSetting(option: "--min-runs", requirement: "between 1 and --runs (\(runs))", got: "\(minRuns)") }
        if !(maxSeconds > 0) { throw .badSetting(option: "--max-seconds", requirement: "positive", got: "\(maxSeconds)") }
        return self
    }
}

/// Why a benchmark could not be set up.
public enum BenchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A descriptor that does not parse.
    case badDescriptor(ProblemDescriptor.ParseError)
    /// A descriptor that parses but is not a valid problem (SPEC section 2).
    case invalidProblem(descriptor: String, error: DeformConvError)
    case unknownKernel(String, known: [String])
    /// A setting out of its range, named by its `dcn bench` option.
    case badSetting(option: String, requirement: String, got: String)
    /// A peers file that cannot be read or is not in the bench schema.
    case badPeersFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badDescriptor(error): error.description
        case let .invalidProblem(descriptor, error): "problem descriptor '\(descriptor)' is not a valid problem: \(error.code.rawValue): \(error.message)"
        case let .unknownKernel(name, known): "unknown kernel '\(name)'; kernels: \(known.joined(separator: ", "))"
        case let .badSetting(option, requirement, got): "\(option) must be \(requirement), got \(got)"
        case let .badPeersFile(path, reason): "cannot read peers file \(path): \(reason)"
        }
    }
}

/// One shape to time: its descriptor and the validated float32 problem.
public struct BenchShape: Sendable, Hashable {
    public var descriptor: ProblemDescriptor
    public var problem: DeformConvProblem

    /// The canonical descriptor, the `shape` of the JSON results.
    public var canonical: String { descriptor.description }
    /// The descriptor's name, or its canonical form when it has none.
    public var label: String { descriptor.name ?? canonical }

    /// Parses and validates a descriptor as a float32 problem without bias.
    public init(parsing text: String) throws(BenchError) {
        let descriptor: ProblemDescriptor
        do throws(ProblemDescriptor.ParseError) {
            descriptor = try ProblemDescriptor(parsing: text)
        } catch {
            throw .badDescriptor(error)
        }
        try self.init(descriptor)
    }

    public init(_ descriptor: ProblemDescriptor) throws(BenchError) {
        self.descriptor = descriptor
        do throws(DeformConvError) {
            problem = try DeformConvProblem(validating: descriptor.geometry.arguments(dtype: .float32, bias: false))
        } catch {
            throw .invalidProblem(descriptor: descriptor.description, error: error)
        }
    }

    /// The standard shape list: ResNet-50 stages, a batch, grouped and strided-dilated cases.
    public static let standardDescriptors = [
        "r50-c3:mb1ic128ih64oc128kh3ph1pw1",
        "r50-c4:mb1ic256ih32oc256kh3ph1pw1",
        "r50-c5:mb1ic512ih16oc512kh3ph1pw1",
        "b8-c64:mb8ic64ih56oc64kh3ph1pw1",
        "g4dg4:mb1ic256ih32oc256kh3ph1pw1g4dg4",
        "s2-d2:mb1ic128ih64oc128kh3sh2ph2pw2dh2dg2",
    ]

    public static func standard() -> [BenchShape] {
        // The list is a constant checked by the tests, so a failure here is a programming error.
        standardDescriptors.map { try! BenchShape(parsing: $0) }
    }

    /// Random float32 inputs for the problem: x and weight uniform in [-1, 1),
    /// offsets uniform in [-2, 2], masks in [0, 1); the same for the same seed everywhere.
    public func inputs(seed: UInt64) -> DeformConvInputs<Float> {
        var random = SeededGenerator(seed: seed)
        return inputs(&random)
    }

    /// The inputs, then gy (uniform in [-1, 1), shape (N, Co, Ho, Wo)) drawn on from the same seeded generator.
    public func inputsAndGradient(seed: UInt64) -> (inputs: DeformConvInputs<Float>, gy: [Float]) {
        var random = SeededGenerator(seed: seed)
        let inputs = inputs(&random)
        let gy = (0..<problem.outputCount).map { _ in Float(random.uniform(-1, 1)) }
        return (inputs, gy)
    }

    private func inputs(_ random: inout SeededGenerator) -> DeformConvInputs<Float> {
        func uniform(_ count: Int, _ low: Double, _ high: Double) -> [Float] {
            (0..<count).map { _ in Float(random.uniform(low, high)) }
        }
        let x = uniform(problem.xCount, -1, 1)
        let weight = uniform(problem.weightCount, -1, 1)
        // Offsets are laid out (N, 3K, Ho, Wo): dx, dy, then mask blocks of K·Ho·Wo per batch element.
        let block = problem.offsetTaps * problem.outputHeight * problem.outputWidth
        var offsets: [Float] = []
        offsets.reserveCapacity(problem.offsetsCount)
        for _ in 0..<problem.batch {
            offsets += uniform(2 * block, -2, 2)
            offsets += uniform(block, 0, 1)
        }
        return DeformConvInputs(x: x, weight: weight, offsets: offsets)
    }
}

/// Which kernels `dcn bench` times when none is named, and why the others are left out.
public enum BenchKernels {
    /// Kernels too slow for the standard shapes; still available with `--kernel`.
    public static let slowOnStandardShapes: Set<String> = ["naive"]

    /// Every registered kernel except `reference` (float64, it measures nothing
    /// of interest) and, when the standard shapes are used, the slow ones.
    public static func defaults(standardShapes: Bool, registered: [String] = KernelRegistry.names) -> (names: [String], excluded: [BenchSkip]) {
        var names: [String] = []
        var excluded: [BenchSkip] = []
        for name in registered {
            if name == "reference" {
                excluded.append(BenchSkip(kernel: name, reason: "the float64 reference is not a kernel to time; name it with --kernel to time it anyway"))
            } else if standardShapes && slowOnStandardShapes.contains(name) {
                excluded.append(BenchSkip(kernel: name, reason: "too slow for the standard shapes (seconds per run); name it with --kernel to time it anyway"))
            } else {
                names.append(name)
            }
        }
        return (names, excluded)
    }

    /// The built-in kernels called `names`, multithreaded ones on `threads` threads.
    public static func resolve(_ names: [String], threads: Int) throws(BenchError) -> [any ComputingSource] {
        try names.map { name throws(BenchError) in
            guard let kernel = KernelRegistry.named(name, threads: threads) else {
                throw .unknownKernel(name, known: KernelRegistry.names)
            }
            return KernelSource(kernel)
        }
    }
}

/// The times of one (shape, kernel) pair.
public struct BenchMeasurement: Sendable, Equatable {
    /// Seconds of each timed run, in order.
    public var seconds: [Double]
    public var warmupRuns: Int
    public var peakExtraBytes: Int?
    public var cutShort: String?

    public var median: Double {
        let sorted = seconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public var minimum: Double { seconds.min()! }
}

/// Times kernels on shapes: warm-up, then repeated runs within a time budget.
public struct BenchRunner: Sendable {
    public var settings: BenchSettings

    public init(settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    /// One progress event: which pair is about to run, and how many there are.
    public struct Step: Sendable {
        public var done: Int
        public var total: Int
        public var shape: String
        public var kernel: String
    }

    /// Times every kernel on every shape and collects the results: the forward pass by default,
    /// the backward (`computeBackward`) when `passes` has it.
    ///
    /// Inputs (and gy) are drawn once per shape and shared by its kernels, so every kernel
    /// sees the same data; `finished` is called after each pair, e.g. to print it. A kernel
    /// without a backward is listed as skipped for it, with the reason, never dropped.
    public func run(shapes: [BenchShape], kernels: [any ComputingSource], machine: MachineInfo, passes: [BenchPass] = [.forward],
                    progress: (Step) -> Void = { _ in }, finished: (BenchResult) -> Void = { _ in }) -> BenchReport {
        var report = BenchReport(machine: machine, settings: settings)
        let backwardKernels = passes.contains(.backward) ? kernels.filter { $0.passes.contains(.backward) } : []
        if passes.contains(.backward) {
            for kernel in kernels where !kernel.passes.contains(.backward) {
                report.skipped.append(BenchSkip(kernel: kernel.identity.name, reason: "\(kernel.identity.name) has no backward pass",
                                                pass: BenchPass.backward.rawValue))
            }
        }
        let total = shapes.count * ((passes.contains(.forward) ? kernels.count : 0) + backwardKernels.count)
        var done = 0
        for shape in shapes {
            let (inputs, gy) = passes.contains(.backward) ? shape.inputsAndGradient(seed: settings.seed) : (shape.inputs(seed: settings.seed), [])
            if passes.contains(.forward) {
                for kernel in kernels {
                    progress(Step(done: done, total: total, shape: shape.label, kernel: kernel.identity.name))
                    let measurement = measure(kernel, shape.problem, inputs)
                    let result = self.result(shape, kernel, measurement, machine: machine)
                    report.results.append(result)
                    finished(result)
                    done += 1
                }
            }
            for kernel in backwardKernels {
                progress(Step(done: done, total: total, shape: shape.label, kernel: kernel.identity.name + " backward"))
                done += 1
                guard let measurement = measureBackward(kernel, shape.problem, inputs, gy: gy) else {
                    report.skipped.append(BenchSkip(shape: shape.canonical, kernel: kernel.identity.name,
                                                    reason: "\(kernel.identity.name) gave no backward pass for this shape",
                                                    pass: BenchPass.backward.rawValue))
                    continue
                }
                let result = self.result(shape, kernel, measurement, machine: machine, pass: .backward)
                report.results.append(result)
                finished(result)
            }
        }
        return report
    }

    /// Warm-up, then timed runs of the forward pass until `runs` are done or the budget is spent.
    public func measure(_ kernel: any ComputingSource, _ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> BenchMeasurement {
        measure { kernel.compute(problem, inputs) }!
    }

    /// The same for the backward pass with `gy`; nil when the kernel has no backward.
    public func measureBackward(_ kernel: any ComputingSource, _ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>,
                                gy: [Float]) -> BenchMeasurement? {
        measure { kernel.computeBackward(problem, inputs, gy: gy) }
    }

    /// Warm-up, then timed runs of `body` until `runs` are done or the budget is spent; nil when its first run gives nil.
    public func measure<Output>(_ body: () -> Result<Output, ComputeFailure>?) -> BenchMeasurement? {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }

        var peakExtraBytes: Int?
        var failure: ComputeFailure?
        var missing = false
        var warmups = 0
        var lastRun = 0.0
        // Memory is measured on the first run, before the timed ones, so its bookkeeping costs no timed run anything.
        let memoryRun = MachineInfo.time {
            let (output, bytes) = MemoryProbe.measure { body() }
            peakExtraBytes = bytes
            switch output {
            case nil: missing = true
            case let .failure(error)?: failure = error
            case .success?: break
            }
            withExtendedLifetime(output) {}
        }
        if missing { return nil }
        lastRun = memoryRun
        // A run that fails (a plugin's nonzero status) times nothing worth reporting.
        if let failure { return BenchMeasurement(seconds: [memoryRun], warmupRuns: 0, peakExtraBytes: peakExtraBytes, cutShort: "the run failed: \(failure)") }
        var seconds: [Double] = []
        if settings.warmupRuns == 0 {
            // Without warm-up the first run is a timed one.
            seconds.append(memoryRun)
        } else {
            warmups = 1
            while warmups < settings.warmupRuns && elapsed() + lastRun <= settings.maxSeconds {
                lastRun = MachineInfo.time { withExtendedLifetime(body()) {} }
                warmups += 1
            }
        }
        var cutShort: String?
        if warmups < settings.warmupRuns {
            cutShort = "\(warmups) of \(settings.warmupRuns) warm-up runs within the \(format(settings.maxSeconds)) s budget"
        }
        while seconds.count < settings.runs {
            if seconds.count >= settings.minRuns && elapsed() + lastRun > settings.maxSeconds { break }
            lastRun = MachineInfo.time { withExtendedLifetime(body()) {} }
            seconds.append(lastRun)
        }
        if seconds.count < settings.runs {
            let note = "\(seconds.count) of \(settings.runs) runs within the \(format(settings.maxSeconds)) s budget (one run takes \(format(lastRun)) s)"
            cutShort = cutShort.map { $0 + "; " + note } ?? note
        }
        return BenchMeasurement(seconds: seconds, warmupRuns: warmups, peakExtraBytes: peakExtraBytes, cutShort: cutShort)
    }

    func result(_ shape: BenchShape, _ kernel: any ComputingSource, _ m: BenchMeasurement, machine: MachineInfo,
                pass: BenchPass = .forward) -> BenchResult {
        let flops = pass.flops(shape.problem)
        let p = shape.problem
        // The backward's output is the three gradients (gx, gweight, goffsets).
        let outputCount = pass == .forward ? p.outputCount : p.xCount + p.weightCount + p.offsetsCount
        let gflops = flops / m.median / 1e9
        return BenchResult(
            shape: shape.canonical, kernel: kernel.identity.name, threads: kernel.threads,
            medianMs: m.median * 1e3, minMs: m.minimum * 1e3, gflops: gflops, gflopsBest: flops / m.minimum / 1e9,
            flops: flops, runs: m.seconds.count, warmupRuns: m.warmupRuns,
            peakFraction: machine.peakGflops(threads: kernel.threads).flatMap { $0 > 0 ? gflops / $0 : nil },
            peakExtraBytes: m.peakExtraBytes, outputBytes: outputCount * MemoryLayout<Float>.size,
            cutShort: m.cutShort, source: "dcn", pass: pass.rawValue)
    }

    private func format(_ seconds: Double) -> String { String(format: "%.3g", seconds) }
}
