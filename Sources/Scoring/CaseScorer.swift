import DeformConv
import Formats

/// What a valid case's output is scored against: the problem, the golden output with its
/// magnitudes, and whether the case is weak.
public struct ExpectedOutput: Sendable {
    public var problem: DeformConvProblem
    public var golden: GoldenOutput
    public var weak: Bool?

    public init(problem: DeformConvProblem, golden: GoldenOutput, weak: Bool?) {
        self.problem = problem
        self.golden = golden
        self.weak = weak
    }
}

/// The one scorer: turns what a source produced for a case into the case's result, the same
/// way for every kind of source.
///
/// An error case passes when the source rejected the call with the expected class and, when it
/// names one, the expected code. A valid case passes when every output element is within SPEC
/// section 3's bound for the source's units.
public enum CaseScorer {
    /// `expected` is asked only for an output of a valid case; when it throws, the case is malformed.
    public static func score(_ outcome: CaseOutcome, source: SourceIdentity, file: String, header: CaseHeader,
                             expected: () throws -> ExpectedOutput) -> CaseResult {
        var result = CaseResult(file: file, caseName: header.name, kernel: source.name, expect: header.expect.expectAttribute,
                                status: .fail, tags: header.tags, dtype: "\(header.arguments.x.dtype)")
        let label = "'\(source.name)'"
        switch (header.expect, outcome) {
        case let (.error(code), .rejected(errorClass, raised, message)):
            result.expectedErrorCode = code.rawValue
            result.errorClass = errorClass
            result.errorCode = raised
            if errorClass == code.exceptionClass.rawValue && (raised == nil || raised == code.rawValue) {
                result.status = .pass
                result.message = message
            } else {
                result.message = "expected \(header.expect), \(label) raised \(describe(errorClass, raised, message))"
            }
        case let (.error(code), .output):
            result.expectedErrorCode = code.rawValue
            result.message = "expected \(header.expect), \(label) accepted the call (an output was recorded)"
        case let (.error(code), .accepted(note)):
            result.expectedErrorCode = code.rawValue
            result.message = "expected \(header.expect), \(label) accepted the call" + (note.map { " (\($0))" } ?? "")
        case let (.error(code), .unavailable(why)):
            result.expectedErrorCode = code.rawValue
            result.message = why
        case let (.error(code), .guardViolation(violations)):
            result.expectedErrorCode = code.rawValue
            result.guardViolations = violations
            result.message = FailureText.guardViolations(violations)
        case let (.ok, .output(values, _, seconds)):
            result.seconds = seconds
            do {
                let expected = try expected()
                result.score(values, against: expected, source: source, header: header)
            } catch {
                result.message = "malformed case: \(error)"
            }
        case let (.ok, .rejected(errorClass, raised, message)):
            result.errorClass = errorClass
            result.errorCode = raised
            result.message = "expected ok, \(label) raised \(describe(errorClass, raised, message))"
        case let (.ok, .accepted(note)):
            result.message = "\(label) accepted the call but gave no output" + (note.map { " (\($0))" } ?? "")
        case let (.ok, .unavailable(why)):
            result.message = why
        case let (.ok, .guardViolation(violations)):
            result.guardViolations = violations
            result.message = FailureText.guardViolations(violations)
        }
        return result
    }

    /// "ValueError [groups]: message", as `DeformConvError` describes itself.
    static func describe(_ errorClass: String, _ code: String?, _ message: String?) -> String {
        (code.map { "\(errorClass) [\($0)]" } ?? errorClass) + (message.map { ": \($0)" } ?? "")
    }

    /// A case whose header cannot be read fails for every source.
    public static func malformed(_ name: String, file: String, source: SourceIdentity, why: String) -> CaseResult {
        CaseResult(file: file, caseName: name, kernel: source.name, expect: "malformed", status: .fail,
                   message: "malformed case: \(why)", tags: [])
    }
}

extension CaseResult {
    /// Scores an output against the golden one under SPEC section 3 with the source's units.
    mutating func score(_ output: [Double], against expected: ExpectedOutput, source: SourceIdentity, header: CaseHeader) {
        let golden = expected.golden
        let tolerance = Tolerance(accumulationUnitRoundoff: source.uAcc, samplingUnitRoundoff: source.uS, problem: expected.problem,
                                  storedType: header.outputType, exact: header.isExact)
        let stats = AccuracyStats(got: output, expected: golden.y, yAbs: golden.yAbs!, yPos: golden.yPos!, yTiny: golden.yTiny!,
                                  shape: expected.problem.outputShape, tolerance: tolerance)
        accuracy = stats
        ratio = stats.worstRatio
        weak = expected.weak
        status = stats.passed ? .pass : .fail
        if !stats.passed {
            message = FailureText.outsideBound(stats)
        }
    }
}

/// What a backward case's gradients are scored against: the problem, the exact gradients (the
/// golden file's) and their magnitudes for the source's u_s (the float64 reference's).
public struct ExpectedGradients: Sendable {
    public var problem: DeformConvProblem
    public var values: DeformConvGradients<Double>
    public var magnitudes: ReferenceGradients
    /// An exact backward case (SPEC section 7): every element's abs below 2¹⁸ on an `exact` case.
    public var exact: Bool

    public init(problem: DeformConvProblem, values: DeformConvGradients<Double>, magnitudes: ReferenceGradients, exact: Bool) {
        self.problem = problem
        self.values = values
        self.magnitudes = magnitudes
        self.exact = exact
    }
}

extension CaseScorer {
    /// The backward part of a case, from the source's backward outcome: SPEC section 7's rule per
    /// gradient tensor on a valid case; the expected class and code on a case whose error only the
    /// backward validation raises.
    ///
    /// `expected` gives the expected gradients under a derivative convention: the contract's
    /// (`fromTheRight`) always, the others only to name the convention of an offsets gradient
    /// that fails at integer positions alone (`matchingConvention`).
    public static func scoreBackward(_ outcome: BackwardOutcome, source: SourceIdentity, header: CaseHeader,
                                     expected: (DerivativeConvention) throws -> ExpectedGradients) -> BackwardResult {
        let label = "'\(source.name)'"
        switch (header.expect, outcome) {
        case (_, .notImplemented):
            return BackwardResult(status: .notImplemented, message: "\(label) has no backward pass")
        case let (_, .unavailable(why)):
            return BackwardResult(status: .fail, message: why)
        case let (_, .guardViolation(violations)):
            var result = BackwardResult(status: .fail, message: FailureText.guardViolations(violations))
            result.guardViolations = violations
            return result
        case let (.error(code), .rejected(errorClass, raised, message)):
            let passed = errorClass == code.exceptionClass.rawValue && (raised == nil || raised == code.rawValue)
            return BackwardResult(status: passed ? .pass : .fail,
                                  message: passed ? message : "expected \(header.expect), \(label) raised \(describe(errorClass, raised, message))",
                                  errorCode: raised, errorClass: errorClass)
        case (.error, .gradients):
            return BackwardResult(status: .fail, message: "expected \(header.expect), \(label) accepted the backward call")
        case let (.ok, .rejected(errorClass, raised, message)):
            return BackwardResult(status: .fail, message: "expected ok, \(label) raised \(describe(errorClass, raised, message)) in the backward pass",
                                  errorCode: raised, errorClass: errorClass)
        case let (.ok, .gradients(got, seconds)):
            do {
                let contract = try expected(.fromTheRight)
                let tolerance = GradientTolerance(accumulationUnitRoundoff: source.uAcc, samplingUnitRoundoff: source.uS,
                                                  outputType: contract.problem.dtype, exact: contract.exact)
                let tensors = GradientStats.compare(got, with: contract.values, magnitudes: contract.magnitudes,
                                                    problem: contract.problem, tolerance: tolerance)
                let worst = tensors.compactMap(\.worst).max { AccuracyStats.isWorse($1.ratio, than: $0.ratio) }
                let passed = tensors.allSatisfy(\.passed)
                let convention = passed ? nil : try matchingConvention(got, tensors, tolerance: tolerance, expected: expected)
                return BackwardResult(status: passed ? .pass : .fail,
                                      message: passed ? nil : FailureText.outsideBound(tensors, convention: convention),
                                      ratio: worst?.ratio ?? 0, tensors: tensors, seconds: seconds, convention: convention?.rawValue)
            } catch {
                return BackwardResult(status: .fail, message: "malformed case: \(error)")
            }
        }
    }

    /// SPEC section 7's conventions: where the x- and y-offset blocks fail only at integer
    /// positions, the first of `DerivativeConvention.alternatives` under which both pass, with the
    /// same tolerance; nil when the failures are elsewhere too, or no convention explains them.
    static func matchingConvention(_ got: DeformConvGradients<Double>, _ tensors: [GradientStats], tolerance: GradientTolerance,
                                   expected: (DerivativeConvention) throws -> ExpectedGradients) rethrows -> DerivativeConvention? {
        let positional: Set = ["x_offset", "y_offset"]
        let failing = tensors.filter { positional.contains($0.tensor) && !$0.passed }
        guard !failing.isEmpty, failing.allSatisfy(\.failsOnlyAtIntegerPositions) else { return nil }
        for convention in DerivativeConvention.alternatives {
            let other = try expected(convention)
            let rescored = GradientStats.compare(got, with: other.values, magnitudes: other.magnitudes, problem: other.problem,
                                                 tolerance: tolerance)
            if rescored.filter({ positional.contains($0.tensor) }).allSatisfy(\.passed) { return convention }
        }
        return nil
    }
}
