import DeformConv
import Formats
import Scoring
import Suites

/// Evaluate, then score: the one path that `verify`, `fuzz` and the tests take for one case and
/// one source, whatever the kind of source.
public enum Evaluation {
    /// The source's outcome (nil when the case's data could not be read) and its scored result.
    public static func evaluate(_ item: EvaluationCase, with source: any OutcomeSource) -> (outcome: CaseOutcome?, result: CaseResult) {
        let identity = source.identity
        do throws(CaseDataError) {
            let outcome = try source.outcome(for: item)
            let result = CaseScorer.score(outcome, source: identity, file: item.file, header: item.header) {
                let problem = try item.problem()
                return ExpectedOutput(problem: problem, golden: try item.golden(for: problem), weak: item.isWeak(problem))
            }
            return (outcome, result)
        } catch {
            var result = CaseScorer.malformed(item.header.name, file: item.file, source: identity, why: error.description)
            result.expect = item.header.expect.expectAttribute
            result.tags = item.header.tags
            return (nil, result)
        }
    }
}
