import DeformConv
import Formats

/// What one source produced for one case: the one currency of `verify`, `run` and `fuzz`.
///
/// Built-in kernels and C plugins compute it, outputs files and a golden file's recorded
/// framework results read it; one scorer (`CaseScorer`) turns it into a `CaseResult`.
public enum CaseOutcome: Sendable, Equatable {
    /// An output, NCHW, widened to Float64 (exact for every float type it comes from), the type it
    /// was produced or stored in, and the seconds a computing source took.
    case output(values: [Double], storedType: String, seconds: Double?)
    /// The call was rejected: the exception class (e.g. "ValueError"), the SPEC section 2 code when
    /// the source knows it, and its message.
    case rejected(errorClass: String, code: String?, message: String?)
    /// The source accepted the call and gave no output: a computing source is not run on a case that
    /// expects an error, and a producer may record "accepted" with a note.
    case accepted(note: String?)
    /// The source has no result for this case: nothing recorded, a record that cannot be scored, or a
    /// run that failed (a plugin's nonzero status). The reason, for the report.
    case unavailable(String)
    /// A plugin's guard checks caught it writing outside its buffers, into an input, or leaving an
    /// output element unwritten (include/dcn_kernel.h): the case fails with these reasons.
    case guardViolation([GuardViolation])

    /// The outcome of a call that SPEC section 2 (or the source's own validation) rejected.
    public init(_ error: DeformConvError) {
        self = .rejected(errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
    }
}

/// What one source produced for the backward pass of a case (SPEC section 7): the second part of
/// its outcome, scored by the same scorer.
public enum BackwardOutcome: Sendable, Equatable {
    /// The four gradients, widened to Float64 (gbias nil without a bias), and the seconds they took.
    case gradients(DeformConvGradients<Double>, seconds: Double?)
    /// The backward call was rejected (SPEC section 7's validation: grad_shape, a gy dtype mismatch).
    case rejected(errorClass: String, code: String?, message: String?)
    /// The source has no backward pass.
    case notImplemented
    /// The source has a backward pass but no result for this case; the reason.
    case unavailable(String)
    /// A plugin's guard checks failed on the backward call (gx, gweight, goffsets, gbias, or an input).
    case guardViolation([GuardViolation])

    public init(_ error: DeformConvError) {
        self = .rejected(errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
    }
}

extension DeformConvGradients: Equatable where Element: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.gx == b.gx && a.gweight == b.gweight && a.goffsets == b.goffsets && a.gbias == b.gbias
    }
}
