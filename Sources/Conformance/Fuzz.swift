import DeformConv
import Foundation

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

/// What each kernel did over a fuzz run.
public struct FuzzKernelTally: Sendable {
    public var kernel: String
    public var valid = 0
    public var violations = 0
    public var failed = 0
    public var worstRatio = 0.0
    /// Output elements within the bound only because of its gradual-underflow term (SPEC section 3).
    public var passedByUnderflowTerm = 0
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

    public init(seed: UInt64, kernels: [any DeformConvKernel], limits: ResourceLimits = .standard,
                varyThreads: Bool = true, saveFailures: String? = nil) {
        generator = FuzzProblemGenerator(seed: seed)
        self.kernels = kernels
        self.limits = limits
        self.varyThreads = varyThreads
        self.saveFailures = saveFailures
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

    /// Every kernel on one problem; the failures found.
    func check(_ problem: FuzzProblem, _ summary: inout FuzzSummary) -> [FuzzFailure] {
        var failures: [FuzzFailure] = []
        func fail(_ k: Int, _ kernel: String, _ message: String) {
            summary.kernels[k].failed += 1
            failures.append(FuzzFailure(index: problem.index, problemSeed: problem.seed, kernel: kernel,
                                        problem: problem.summary, message: message))
        }
        let arguments = problem.golden.arguments
        switch problem.kind {
        case let .violation(code, _):
            summary.violations += 1
            summary.violationsByCode[code, default: 0] += 1
            for (k, kernel) in kernels.enumerated() {
                summary.kernels[k].violations += 1
                do throws(DeformConvError) {
                    _ = try kernel.validate(arguments, limits: limits)
                    fail(k, kernel.name, "accepted a call that breaks \(code.rawValue); expected \(code.exceptionClass.rawValue) [\(code.rawValue)]")
                } catch where error.code != code {
                    fail(k, kernel.name, "raised \(error), expected \(code.exceptionClass.rawValue) [\(code.rawValue)]")
                } catch {}
            }
        case .valid:
            summary.valid += 1
            let golden = problem.golden
            let output = golden.output!
            let exact = golden.tags.contains("exact")
            if exact { summary.exact += 1 }
            if golden.tags.contains("float16") { summary.float16 += 1 }
            if SuiteGenerator.isWeak(output.y, Self.doubles(golden.bias?.data), Self.problem(of: golden)) { summary.weak += 1 }
            var threadRNG = SeededGenerator(seed: SeededGenerator.derive(problem.seed, 2))
            let threadCount = threadRNG.pick([1, 2, 3, 4, 8])
            var simdOutput: [UInt64]?
            for (k, original) in kernels.enumerated() {
                summary.kernels[k].valid += 1
                var kernel = original
                var label = kernel.name
                if varyThreads, let threaded = kernel as? ThreadedKernel {
                    kernel = ThreadedKernel(threads: threadCount, tiling: threaded.tiling)
                    label += " (\(threadCount) threads)"
                }
                let validated: DeformConvProblem
                do throws(DeformConvError) {
                    validated = try kernel.validate(arguments, limits: limits)
                } catch {
                    fail(k, label, "rejected a valid problem: \(error)")
                    continue
                }
                let got = Self.run(kernel, validated, golden)
                let tolerance = Tolerance(kernel: kernel, problem: validated, exact: exact)
                let stats = AccuracyStats(got: got.values, expected: output.y, yAbs: output.yAbs!, yPos: output.yPos!, yTiny: output.yTiny!,
                                          shape: validated.outputShape, tolerance: tolerance)
                summary.kernels[k].passedByUnderflowTerm += stats.passedByUnderflowTerm ?? 0
                if AccuracyStats.isWorse(stats.worstRatio, than: summary.kernels[k].worstRatio) {
                    summary.kernels[k].worstRatio = stats.worstRatio
                }
                if !stats.passed {
                    var message = "\(stats.failedElements) of \(stats.elements) elements outside the bound; worst ratio \(AccuracyReport.format(ratio: stats.worstRatio))"
                    if let e = stats.failures.first ?? stats.worst {
                        message += " at (n \(e.n), o \(e.o), ho \(e.ho), wo \(e.wo)): expected \(e.expected), got \(e.got), bound \(AccuracyReport.format(e.bound))"
                    }
                    fail(k, label, message)
                }
                if let threaded = kernel as? ThreadedKernel {
                    // SPEC section 3: the same bits as simd, whatever the thread count.
                    let reference = simdOutput ?? Self.run(SimdKernel(tiling: threaded.tiling), validated, golden).bits
                    simdOutput = reference
                    if let first = got.bits.indices.first(where: { got.bits[$0] != reference[$0] }) {
                        fail(k, label, "differs from simd at element \(first) of \(reference.count): results depend on the thread count or the split")
                    }
                } else if kernel is SimdKernel {
                    simdOutput = got.bits
                }
            }
        }
        return failures
    }

    /// The kernel's output widened to Double, and its bit patterns in the output type.
    static func run(_ kernel: any DeformConvKernel, _ problem: DeformConvProblem, _ golden: GoldenCase) -> (values: [Double], bits: [UInt64]) {
        switch (golden.x.data, golden.weight.data, golden.offsets.data) {
        case let (.float16(x), .float16(weight), .float16(offsets)):
            var bias: [Float16]?
            if case let .float16(values)? = golden.bias?.data { bias = values }
            let y = kernel.run(problem, DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: bias))
            return (y.map(Double.init), y.map { UInt64($0.bitPattern) })
        case let (.float32(x), .float32(weight), .float32(offsets)):
            var bias: [Float]?
            if case let .float32(values)? = golden.bias?.data { bias = values }
            let y = kernel.run(problem, DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: bias))
            return (y.map(Double.init), y.map { UInt64($0.bitPattern) })
        default:
            preconditionFailure("a valid fuzz problem stores float16 or float32 tensors")
        }
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
