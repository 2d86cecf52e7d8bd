import DeformConv
import Foundation
import Formats
import Scoring
import Suites

/// One kernel that got one fuzz problem wrong.
public struct FuzzFailure: Sendable {
    public var index: Int
    public var problemSeed: UInt64
    public var kernel: String
    /// The problem in one line: descriptor, dtype, styles, or the broken rule.
    public var problem: String
    public var message: String
    /// The golden file the problem was written to (`--save-failures`).
    public var savedTo: String?
}

/// What each kernel did over a fuzz run. Every kernel is given every problem the summary counts.
public struct FuzzKernelTally: Sendable {
    public var kernel: String
    public var failed = 0
    /// The forward parts scored (SPEC section 3), the worst ratio over their outputs.
    public var forward = FuzzPassTally()
    /// The backward parts scored, the worst ratio over their gradients (SPEC section 7).
    public var backward = FuzzPassTally()
    /// Problems whose backward the kernel does not implement (counted, never a pass).
    public var notImplemented = 0
    /// Output elements within the bound only because of its gradual-underflow term (SPEC section 3).
    public var passedByUnderflowTerm = 0
}

/// One pass of one kernel over a fuzz run: the parts scored and the worst ratio among them.
public struct FuzzPassTally: Sendable {
    public var checked = 0
    public var worstRatio = 0.0

    /// Counts a scored part; its ratio (nil when it has none, e.g. a rejected call) may be the new worst.
    mutating func add(ratio: Double?) {
        checked += 1
        if let ratio, AccuracyStats.isWorse(ratio, than: worstRatio) { worstRatio = ratio }
    }
}

public struct FuzzSummary: Sendable {
    public var seed: UInt64
    public var first: Int
    public var problems = 0
    public var valid = 0
    public var violations = 0
    /// Valid problems with more than half the outputs equal to the bias (kept: they are still problems).
    public var weak = 0
    public var exact = 0
    public var float16 = 0
    public var violationsByCode: [ErrorCode: Int] = [:]
    public var kernels: [FuzzKernelTally] = []
    public var failures: [FuzzFailure] = []
    public var seconds = 0.0
}

/// `dcn fuzz`: random valid problems through each kernel against the float64
/// reference under SPEC section 3's bound (and `threaded` against `simd` bit for
/// bit, with a thread count drawn per problem), and random single-rule violations
/// of section 2 that must raise exactly the broken rule's code.
public struct FuzzRunner: Sendable {
    public var generator: FuzzProblemGenerator
    /// The kernels under test; the reference is the oracle, not one of them.
    public var kernels: [any DeformConvKernel]
    public var limits: ResourceLimits
    /// Draw the threaded kernel's thread count per problem from 1, 2, 3, 4, 8 (results must not depend on it).
    public var varyThreads: Bool
    /// Folder where each failing problem is written as a golden file.
    public var saveFailures: String?
    /// The passes to check; with the backward, problems carry gy and the exact gradients.
    public var passes: Set<KernelPass> {
        didSet { generator.backward = passes.contains(.backward) }
    }

    public init(seed: UInt64, kernels: [any DeformConvKernel], limits: ResourceLimits = .standard,
                varyThreads: Bool = true, saveFailures: String? = nil, passes: Set<KernelPass> = [.forward]) {
        generator = FuzzProblemGenerator(seed: seed)
        generator.backward = passes.contains(.backward)
        self.kernels = kernels
        self.limits = limits
        self.varyThreads = varyThreads
        self.saveFailures = saveFailures
        self.passes = passes
    }

    /// Problems `first ..< first + count`; `onFailure` is called as failures are found, `progress` after each problem.
    public func run(first: Int = 0, count: Int, onFailure: (FuzzFailure) -> Void = { _ in },
                    progress: (Int) -> Void = { _ in }) -> FuzzSummary {
        var summary = FuzzSummary(seed: generator.seed, first: first)
        summary.kernels = kernels.map { FuzzKernelTally(kernel: $0.name) }
        let clock = ContinuousClock()
        let start = clock.now
        for index in first..<(first + count) {
            var failures: [FuzzFailure] = []
            do {
                let problem = try generator.problem(index)
                failures = check(problem, &summary)
                if !failures.isEmpty, let folder = saveFailures {
                    let path = save(problem, in: folder)
                    for i in failures.indices { failures[i].savedTo = path }
                }
            } catch {
                failures = [FuzzFailure(index: index, problemSeed: SeededGenerator.derive(generator.seed, index), kernel: "(generator)",
                                        problem: "problem \(index)", message: "could not draw the problem: \(error)")]
            }
            for failure in failures { onFailure(failure) }
            summary.failures += failures
            summary.problems += 1
            progress(summary.problems)
        }
        let elapsed = clock.now - start
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return summary
    }

    /// Every kernel on one problem, through the same evaluate-then-score path as `verify`; the failures found.
    func check(_ problem: FuzzProblem, _ summary: inout FuzzSummary) -> [FuzzFailure] {
        var failures: [FuzzFailure] = []
        func fail(_ k: Int, _ kernel: String, _ message: String) {
            summary.kernels[k].failed += 1
            failures.append(FuzzFailure(index: problem.index, problemSeed: problem.seed, kernel: kernel,
                                        problem: problem.summary, message: message))
        }
        let golden = problem.golden
        let item = EvaluationCase(golden: golden, file: "fuzz problem \(problem.index)", limits: limits)
        var threadRNG = SeededGenerator(seed: SeededGenerator.derive(problem.seed, 2))
        let threadCount = threadRNG.pick([1, 2, 3, 4, 8])
        switch problem.kind {
        case let .violation(code, _):
            summary.violations += 1
            summary.violationsByCode[code, default: 0] += 1
        case .valid:
            summary.valid += 1
            if golden.tags.contains("exact") { summary.exact += 1 }
            if golden.tags.contains("float16") { summary.float16 += 1 }
            if let problem = try? item.problem(), item.isWeak(problem) == true { summary.weak += 1 }
        }
        var outputs: [String: [UInt64]] = [:]
        for (k, original) in kernels.enumerated() {
            let kernel = varyThreads ? original.with(threads: threadCount) : original
            // A kernel that takes a thread count is named with the one drawn, for the reproducer.
            let takesThreads = original.with(threads: original.threads + 1).threads != original.threads
            let label = varyThreads && takesThreads ? "\(kernel.name) (\(kernel.threads) threads)" : kernel.name
            let (outcome, result) = Evaluation.evaluate(item, with: KernelSource(kernel), passes: passes)
            if let backward = result.backward {
                if backward.status == .notImplemented {
                    summary.kernels[k].notImplemented += 1
                } else {
                    summary.kernels[k].backward.add(ratio: backward.ratio)
                }
            }
            if let stats = result.accuracy {
                summary.kernels[k].passedByUnderflowTerm += stats.passedByUnderflowTerm ?? 0
                summary.kernels[k].forward.add(ratio: stats.worstRatio)
            }
            if result.status == .fail {
                let forwardFailed = result.accuracy.map { !$0.passed } ?? false
                fail(k, label, forwardFailed ? FailureText.outsideBound(result.accuracy!, locating: true) : result.message ?? "failed")
            }
            guard case let .output(values, _, _)? = outcome else { continue }
            outputs[kernel.name] = values.map(\.bitPattern)
            // SPEC section 3: a kernel that must give another's bits (threaded: simd's) does, whatever the thread count.
            guard let peer = kernel.bitIdenticalPeer else { continue }
            let reference = outputs[peer.name] ?? {
                guard case let .output(values, _, _)? = Evaluation.evaluate(item, with: KernelSource(peer)).outcome else { return [] }
                return values.map(\.bitPattern)
            }()
            outputs[peer.name] = reference
            let bits = outputs[kernel.name]!
            if let first = bits.indices.first(where: { $0 >= reference.count || bits[$0] != reference[$0] }) {
                fail(k, label, "differs from \(peer.name) at element \(first) of \(reference.count): results depend on the thread count or the split")
            }
        }
        return failures
    }

    static func doubles(_ data: TensorData?) -> [Double]? {
        switch data {
        case let .float16(values)?: values.map(Double.init)
        case let .float32(values)?: values.map(Double.init)
        case let .float64(values)?: values
        default: nil
        }
    }

    static func problem(of golden: GoldenCase) -> DeformConvProblem {
        try! DeformConvProblem(validating: golden.arguments)
    }

    /// Writes the problem as a one-case golden file; returns its path (or a note on why it could not).
    func save(_ problem: FuzzProblem, in folder: String) -> String {
        let path = (folder as NSString).appendingPathComponent("fuzz-\(generator.seed)-\(problem.index).h5")
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let writer = try GoldenFileWriter(path: path, generator: "dcn fuzz --seed \(generator.seed), problem \(problem.index)",
                                              reference: "dcn reference kernel: float64 evaluation of SPEC section 1")
            defer { writer.close() }
            try writer.write(problem.golden)
            return path
        } catch {
            return "(not saved: \(error))"
        }
    }
}
