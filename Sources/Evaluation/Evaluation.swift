import DeformConv
import Foundation
import Formats
import Scoring

/// Evaluate, then score: the one path that `verify`, `fuzz` and the tests take for one case and
/// one source, whatever the kind of source, forward and backward.
public enum Evaluation {
    /// Which passes of `item` a run checks: the forward unless the case's expected error is one only
    /// the backward validation raises, the backward when the case has `gy`.
    public static func passes(of item: EvaluationCase, in passes: Set<KernelPass>) -> Set<KernelPass> {
        var checked: Set<KernelPass> = []
        let backwardOnly = item.header.isBackward && item.header.expect != .ok && (try? item.problem()) != nil
        if passes.contains(.forward) && !backwardOnly { checked.insert(.forward) }
        if passes.contains(.backward) && item.header.isBackward { checked.insert(.backward) }
        return checked
    }

    /// The source's forward outcome (nil when not checked or the case's data could not be read) and
    /// the scored result of the `passes` that apply to the case (`passes(of:in:)`, not empty).
    public static func evaluate(_ item: EvaluationCase, with source: any OutcomeSource,
                                passes requested: Set<KernelPass> = [.forward], determinism: Determinism = .off,
                                variants: [ThreadVariant] = []) -> (outcome: CaseOutcome?, result: CaseResult) {
        let identity = source.identity
        let checked = passes(of: item, in: requested)
        var outcome: CaseOutcome?
        var firstBackward: BackwardOutcome?
        var result = CaseResult(file: item.file, caseName: item.header.name, kernel: identity.name,
                                expect: item.header.expect.expectAttribute, status: .pass, tags: item.header.tags,
                                dtype: "\(item.header.arguments.x.dtype)")
        do throws(CaseDataError) {
            if checked.contains(.forward) {
                let forward = try source.outcome(for: item)
                outcome = forward
                result = CaseScorer.score(forward, source: identity, file: item.file, header: item.header) {
                    let problem = try item.problem()
                    return ExpectedOutput(problem: problem, golden: try item.golden(for: problem), weak: item.isWeak(problem))
                }
            } else if case let .error(code) = item.header.expect {
                result.expectedErrorCode = code.rawValue
            }
            if checked.contains(.backward) {
                let backwardOutcome = try source.backwardOutcome(for: item)
                firstBackward = backwardOutcome
                let backward = CaseScorer.scoreBackward(backwardOutcome, source: identity, header: item.header) { convention in
                    let problem = try item.problem()
                    return try item.expectedGradients(for: problem, samplingUnitRoundoff: identity.uS, convention: convention)
                }
                result.backward = backward
                switch backward.status {
                case .fail:
                    result.status = .fail
                    result.message = [result.message, "backward: " + (backward.message ?? "failed")].compactMap { $0 }.joined(separator: "; ")
                case .notImplemented where !checked.contains(.forward):
                    result.status = .notImplemented
                    result.message = backward.message
                default:
                    break
                }
            }
            if determinism.isOn, let computing = source.computing,
               let finding = try determinism.check(item, source: computing, variants: variants, passes: checked,
                                                   forward: outcome, backward: firstBackward) {
                result.nondeterministic = finding
                if determinism.requireDeterministic {
                    result.status = .fail
                    result.message = [result.message, "nondeterministic: " + finding].compactMap { $0 }.joined(separator: "; ")
                }
            }
            return (outcome, result)
        } catch {
            var malformed = CaseScorer.malformed(item.header.name, file: item.file, source: identity, why: error.description)
            malformed.expect = item.header.expect.expectAttribute
            malformed.tags = item.header.tags
            return (nil, malformed)
        }
    }
}

/// A computing source built again at another thread count, for `Determinism`.
public struct ThreadVariant: Sendable {
    public var threads: Int
    public var source: any ComputingSource
    public init(threads: Int, source: any ComputingSource) {
        self.threads = threads
        self.source = source
    }
}

/// Determinism mode (`verify --repeat N`, after benchdnn's bitwise mode): each computing source
/// runs each case `repeats` times, and `repeats` times more at each other thread count it can run at
/// (`ThreadVariant`); any bit of the output or of a gradient that differs between the runs marks
/// the result `nondeterministic`, a warning, or a failure with `requireDeterministic`.
public struct Determinism: Codable, Sendable, Equatable {
    /// Runs per case and source; 1 is off.
    public var repeats: Int
    public var requireDeterministic: Bool

    public init(repeats: Int = 1, requireDeterministic: Bool = false) {
        self.repeats = repeats
        self.requireDeterministic = requireDeterministic
    }

    public static let off = Determinism()
    public var isOn: Bool { repeats > 1 }

    /// The thread counts a source that takes one is also run at: 1 and the machine's cores.
    public static var threadCounts: [Int] { [1, ProcessInfo.processInfo.activeProcessorCount] }

    /// For each source, its builds at the other thread counts of `threadCounts` (none for a
    /// recorded source, or one whose thread count cannot change, such as `naive`).
    public static func threadVariants(of specifications: [SourceSpecification], sources: [any OutcomeSource]) -> [[ThreadVariant]] {
        zip(specifications, sources).map { specification, source in
            guard specification.computes, let main = source.computing else { return [] }
            var seen: Set<Int> = [main.threads]
            var variants: [ThreadVariant] = []
            for threads in threadCounts where !seen.contains(threads) {
                guard let built = try? specification.with(threads: threads).buildComputing(), built.threads == threads else { continue }
                seen.insert(threads)
                variants.append(ThreadVariant(threads: threads, source: built))
            }
            return variants
        }
    }

    /// The same for built-in kernels.
    public static func threadVariants(of kernel: any DeformConvKernel) -> [ThreadVariant] {
        var seen: Set<Int> = [kernel.threads]
        var variants: [ThreadVariant] = []
        for threads in threadCounts where !seen.contains(threads) {
            let other = kernel.with(threads: threads)
            guard other.threads == threads else { continue }
            seen.insert(threads)
            variants.append(ThreadVariant(threads: threads, source: KernelSource(other)))
        }
        return variants
    }

    /// The first difference between the first run (`forward`, `backward`) and the repeats and
    /// thread variants, as "forward y[12] differs between run 1 and run 2 (4 threads)"; nil when every bit agrees.
    func check(_ item: EvaluationCase, source: any ComputingSource, variants: [ThreadVariant], passes: Set<KernelPass>,
               forward: CaseOutcome?, backward: BackwardOutcome?) throws(CaseDataError) -> String? {
        var runs: [(label: String, source: any ComputingSource)] = []
        func threads(_ count: Int) -> String { count == 1 ? "1 thread" : "\(count) threads" }
        for run in 2...max(repeats, 2) { runs.append(("run \(run) (\(threads(source.threads)))", source)) }
        // Each thread count as often as the source's own: a variant's bits may change between its own runs.
        for variant in variants {
            for run in 1...max(repeats, 1) { runs.append(("run \(run) at \(threads(variant.threads))", variant.source)) }
        }
        let first = "run 1 (\(threads(source.threads)))"
        if passes.contains(.forward), let forward, case let .output(values, _, _) = forward {
            for run in runs {
                let other = try run.source.outcome(for: item)
                if let difference = Self.difference(values, other) {
                    return "forward y\(difference) differs between \(first) and \(run.label)"
                }
            }
        }
        if passes.contains(.backward), let backward, case let .gradients(gradients, _) = backward {
            for run in runs {
                let other = try run.source.backwardOutcome(for: item)
                if let difference = Self.difference(gradients, other) {
                    return "backward \(difference) differs between \(first) and \(run.label)"
                }
            }
        }
        return nil
    }

    static func firstDifference(_ a: [Double], _ b: [Double]) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }

    static func difference(_ values: [Double], _ other: CaseOutcome) -> String? {
        guard case let .output(others, _, _) = other else { return " (the run gave no output)" }
        return firstDifference(values, others).map { "[\($0)]" }
    }

    static func difference(_ gradients: DeformConvGradients<Double>, _ other: BackwardOutcome) -> String? {
        guard case let .gradients(others, _) = other else { return "gradients (the run gave none)" }
        let tensors: [(String, [Double], [Double])] = [("gx", gradients.gx, others.gx), ("gweight", gradients.gweight, others.gweight),
                                                       ("goffsets", gradients.goffsets, others.goffsets),
                                                       ("gbias", gradients.gbias ?? [], others.gbias ?? [])]
        for (name, a, b) in tensors {
            if let index = firstDifference(a, b) { return "\(name)[\(index)]" }
        }
        return nil
    }
}
