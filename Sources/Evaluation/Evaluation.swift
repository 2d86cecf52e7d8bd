import DeformConv
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
                                passes requested: Set<KernelPass> = [.forward]) -> (outcome: CaseOutcome?, result: CaseResult) {
        let identity = source.identity
        let checked = passes(of: item, in: requested)
        var outcome: CaseOutcome?
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
                let backward = CaseScorer.scoreBackward(try source.backwardOutcome(for: item), source: identity, header: item.header) { convention in
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
            return (outcome, result)
        } catch {
            var malformed = CaseScorer.malformed(item.header.name, file: item.file, source: identity, why: error.description)
            malformed.expect = item.header.expect.expectAttribute
            malformed.tags = item.header.tags
            return (nil, malformed)
        }
    }
}
