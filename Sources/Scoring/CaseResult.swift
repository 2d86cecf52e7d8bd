import DeformConv
import Formats

/// The outcome of one (case, kernel) pair.
public struct CaseResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case pass, fail
        /// Only a backward pass was to be checked, and the source has none (SPEC section 7): counted, never a pass.
        case notImplemented = "not_implemented"
    }

    public var file: String
    public var caseName: String
    public var kernel: String
    /// "ok", "TypeError" or "ValueError", as the case says; "malformed" when the case could not be read.
    public var expect: String
    public var expectedErrorCode: String?
    public var status: Status
    /// The code the kernel path raised, for error cases and for valid cases it wrongly rejected.
    public var errorCode: String?
    public var errorClass: String?
    /// Why it failed, or the message the kernel path raised.
    public var message: String?
    public var tags: [String]
    public var dtype: String?
    /// Largest error/bound over the output (SPEC section 3); valid cases only.
    public var ratio: Double?
    public var accuracy: AccuracyStats?
    /// More than half the outputs equal their bias (SPEC section 3).
    public var weak: Bool?
    public var seconds: Double?
    /// The backward pass of a case with `gy` (SPEC section 7), when it was checked.
    public var backward: BackwardResult?
    /// Determinism mode (`verify --repeat N`): which pass and tensor gave different bits between
    /// runs, and the first differing index; nil when every run agreed or the mode was off.
    public var nondeterministic: String?
    /// What a plugin's guard checks caught on the forward call; nil when they passed or did not apply.
    public var guardViolations: [GuardViolation]?

    public init(file: String, caseName: String, kernel: String, expect: String, expectedErrorCode: String? = nil,
                status: Status, errorCode: String? = nil, errorClass: String? = nil, message: String? = nil,
                tags: [String], dtype: String? = nil, ratio: Double? = nil, accuracy: AccuracyStats? = nil,
                weak: Bool? = nil, seconds: Double? = nil, backward: BackwardResult? = nil) {
        self.file = file
        self.caseName = caseName
        self.kernel = kernel
        self.expect = expect
        self.expectedErrorCode = expectedErrorCode
        self.status = status
        self.errorCode = errorCode
        self.errorClass = errorClass
        self.message = message
        self.tags = tags
        self.dtype = dtype
        self.ratio = ratio
        self.accuracy = accuracy
        self.weak = weak
        self.seconds = seconds
        self.backward = backward
    }

    enum CodingKeys: String, CodingKey {
        case file, caseName = "case", kernel, expect, expectedErrorCode, status, errorCode, errorClass, message
        case tags, dtype, ratio, accuracy, weak, seconds, backward, nondeterministic, guardViolations
    }
}

/// The backward part of a case's result: its own status, and the accuracy of each gradient tensor.
public struct BackwardResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case pass, fail
        /// The source has no backward pass: counted on its own, never a pass and never a failure.
        case notImplemented = "not_implemented"
    }

    public var status: Status
    public var message: String?
    /// Largest error/bound over every gradient tensor.
    public var ratio: Double?
    /// gx, gweight, x_offset, y_offset, mask and gbias, in SPEC section 7's order.
    public var tensors: [GradientStats]
    public var errorCode: String?
    public var errorClass: String?
    public var seconds: Double?
    /// When the offsets gradient fails only at integer positions and matches another derivative
    /// convention there (`DerivativeConvention`'s raw value, e.g. "zero_at_minus_one"): SPEC
    /// section 7's convention difference, still a failure.
    public var convention: String?
    /// What a plugin's guard checks caught on the backward call; nil when they passed or did not apply.
    public var guardViolations: [GuardViolation]?

    public init(status: Status, message: String? = nil, ratio: Double? = nil, tensors: [GradientStats] = [],
                errorCode: String? = nil, errorClass: String? = nil, seconds: Double? = nil, convention: String? = nil) {
        self.convention = convention
        self.status = status
        self.message = message
        self.ratio = ratio
        self.tensors = tensors
        self.errorCode = errorCode
        self.errorClass = errorClass
        self.seconds = seconds
    }
}
