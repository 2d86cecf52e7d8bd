import DeformConv
import Foundation
import Formats
import Scoring
import Suites

/// Anything that gives an outcome for a case: a built-in kernel, a C plugin, an outputs file,
/// the framework results a golden file records. Drivers see only this protocol.
public protocol OutcomeSource: Sendable {
    var identity: SourceIdentity { get }
    /// Which passes the source can give outcomes for.
    var passes: Set<KernelPass> { get }
    /// The source as one that computes (so it can be run again, at other thread counts, or timed);
    /// nil for recorded results. A requirement, so that `any OutcomeSource` dispatches it.
    var computing: (any ComputingSource)? { get }
    /// What the source gives for `item`'s forward pass. Throws only when the case's own data
    /// cannot be read (the case is malformed, not the source wrong).
    func outcome(for item: EvaluationCase) throws(CaseDataError) -> CaseOutcome
    /// What it gives for the backward pass of a case with `gy` (SPEC section 7).
    func backwardOutcome(for item: EvaluationCase) throws(CaseDataError) -> BackwardOutcome
}

extension OutcomeSource {
    public var passes: Set<KernelPass> { [.forward] }
    public var computing: (any ComputingSource)? { nil }
    public func backwardOutcome(for item: EvaluationCase) throws(CaseDataError) -> BackwardOutcome { .notImplemented }
}

extension OutcomeSource where Self: NamedImplementation {
    public var identity: SourceIdentity { SourceIdentity(self) }
}

/// A run that failed without trapping: a C plugin's nonzero status, or what its guard checks caught.
public struct ComputeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    /// The guard checks' findings (`PluginSource`); empty for any other failure.
    public var violations: [GuardViolation]
    public init(_ description: String) {
        self.description = description
        violations = []
    }

    public init(_ violations: [GuardViolation]) {
        description = FailureText.guardViolations(violations)
        self.violations = violations
    }
}

/// A source that computes its outputs, so that it can also be timed (`dcn bench`) and recorded
/// (`dcn run`): a built-in kernel (`KernelSource`) or a C plugin (`PluginSource`).
public protocol ComputingSource: OutcomeSource {
    var threads: Int { get }
    /// Validates a call as the source would (SPEC section 2 for every source dcn has).
    func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem
    func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure>
    func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure>
    /// The gradients for `gy`; nil when the source has no backward pass.
    func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> Result<DeformConvGradients<Float>, ComputeFailure>?
    func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> Result<DeformConvGradients<Float16>, ComputeFailure>?
}

extension ComputingSource {
    public var computing: (any ComputingSource)? { self }

    /// No backward pass unless the source has one.
    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> Result<DeformConvGradients<Float>, ComputeFailure>? { nil }
    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> Result<DeformConvGradients<Float16>, ComputeFailure>? { nil }

    /// Validate, then run; a case that expects an error is only validated, never run.
    public func outcome(for item: EvaluationCase) throws(CaseDataError) -> CaseOutcome {
        let problem: DeformConvProblem
        do throws(DeformConvError) {
            problem = try validate(item.header.arguments, limits: item.limits)
        } catch {
            return CaseOutcome(error)
        }
        guard item.header.expect == .ok else { return .accepted(note: nil) }
        return try run(problem, on: item)
    }

    /// Validate the forward call, then the gradient (SPEC section 7), then run the backward pass.
    public func backwardOutcome(for item: EvaluationCase) throws(CaseDataError) -> BackwardOutcome {
        guard passes.contains(.backward) else { return .notImplemented }
        let problem: DeformConvProblem
        switch validateBackward(item) {
        case nil: return .unavailable("the case has no gy")
        case let .failure(error)?: return BackwardOutcome(error)
        case let .success(validated)?: problem = validated
        }
        // A case that expects an error the backward validation did not raise: accepted, with nothing to run.
        guard item.header.expect == .ok else { return .gradients(DeformConvGradients(gx: [], gweight: [], goffsets: [], gbias: nil), seconds: nil) }
        return try runBackward(problem, on: item)
    }

    /// The forward validation, then the gradient's (SPEC section 7); nil when the case has no gy.
    public func validateBackward(_ item: EvaluationCase) -> Result<DeformConvProblem, DeformConvError>? {
        guard let gySpec = item.header.gy else { return nil }
        return Result { () throws(DeformConvError) in
            let problem = try validate(item.header.arguments, limits: item.limits)
            try problem.validateGradient(gySpec)
            return problem
        }
    }

    /// The gradients of a problem `validateBackward` accepted, on the case's inputs and gy (also for a
    /// case that expects an error, which `dcn run` records when the source accepts it):
    /// `.gradients`, `.unavailable` for a failed run, `.notImplemented` when the source has none.
    public func runBackward(_ problem: DeformConvProblem, on item: EvaluationCase) throws(CaseDataError) -> BackwardOutcome {
        let inputs = try item.inputs(for: problem)
        let gy = try item.gradientInput(for: problem)
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result<DeformConvGradients<Double>, ComputeFailure>? = switch (inputs, gy) {
        case let (.float32(values), .float32(gy)): computeBackward(problem, values, gy: gy)?.map { $0.map(Double.init) }
        case let (.float16(values), .float16(gy)): computeBackward(problem, values, gy: gy)?.map { $0.map(Double.init) }
        default: .failure(ComputeFailure("gy's dtype differs from the inputs'"))
        }
        let elapsed = clock.now - start
        switch result {
        case nil: return .notImplemented
        case let .success(gradients)?:
            return .gradients(gradients, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        case let .failure(failure)?: return failure.violations.isEmpty ? .unavailable(failure.description) : .guardViolation(failure.violations)
        }
    }

    /// The output of a validated problem on the case's inputs (also for a case that expects an
    /// error, which `dcn run` records when the source accepts it).
    public func run(_ problem: DeformConvProblem, on item: EvaluationCase) throws(CaseDataError) -> CaseOutcome {
        let inputs = try item.inputs(for: problem)
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result<[Double], ComputeFailure> = switch inputs {
        case let .float32(values): compute(problem, values).map { $0.map(Double.init) }
        case let .float16(values): compute(problem, values).map { $0.map(Double.init) }
        }
        let elapsed = clock.now - start
        switch result {
        case let .success(values):
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            return .output(values: values, storedType: "\(problem.dtype)", seconds: seconds)
        case let .failure(failure):
            return failure.violations.isEmpty ? .unavailable(failure.description) : .guardViolation(failure.violations)
        }
    }
}

/// A built-in kernel (`KernelRegistry`) as a source.
public struct KernelSource: ComputingSource {
    public let kernel: any DeformConvKernel

    public init(_ kernel: any DeformConvKernel) {
        self.kernel = kernel
    }

    public var identity: SourceIdentity { SourceIdentity(kernel) }
    public var threads: Int { kernel.threads }
    public var passes: Set<KernelPass> { kernel.passes }

    public func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        try kernel.validate(arguments, limits: limits)
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure> {
        .success(kernel.run(problem, inputs))
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure> {
        .success(kernel.run(problem, inputs))
    }

    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> Result<DeformConvGradients<Float>, ComputeFailure>? {
        kernel.backward(problem, inputs, gy: gy).map { .success($0) }
    }

    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> Result<DeformConvGradients<Float16>, ComputeFailure>? {
        kernel.backward(problem, inputs, gy: gy).map { .success($0) }
    }
}
