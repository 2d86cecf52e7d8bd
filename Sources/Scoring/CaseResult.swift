import DeformConv
import Formats

/// The outcome of one (case, kernel) pair.
public struct CaseResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, fail }

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

    public init(file: String, caseName: String, kernel: String, expect: String, expectedErrorCode: String? = nil,
                status: Status, errorCode: String? = nil, errorClass: String? = nil, message: String? = nil,
                tags: [String], dtype: String? = nil, ratio: Double? = nil, accuracy: AccuracyStats? = nil,
                weak: Bool? = nil, seconds: Double? = nil) {
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
    }

    enum CodingKeys: String, CodingKey {
        case file, caseName = "case", kernel, expect, expectedErrorCode, status, errorCode, errorClass, message
        case tags, dtype, ratio, accuracy, weak, seconds
    }
}
