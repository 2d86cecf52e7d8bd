/// The Python exception class a MindSpore user would see for an invalid call.
public enum ExceptionClass: String, Sendable, Codable, CaseIterable {
    case typeError = "TypeError"
    case valueError = "ValueError"
}

/// The stable error codes of SPEC section 2, declared in precedence order:
/// when several rules are broken, the first case of this enum that applies wins.
public enum ErrorCode: String, Sendable, Codable, CaseIterable, Comparable {
    case paramType = "param_type"
    case dtypeUnsupported = "dtype_unsupported"
    case dtypeMismatch = "dtype_mismatch"
    case paramLength = "param_length"
    case paramNC = "param_nc"
    case modulatedFalse = "modulated_false"
    case paramRange = "param_range"
    case rank = "rank"
    case groups = "groups"
    case deformableGroups = "deformable_groups"
    case weightShape = "weight_shape"
    case emptyOutput = "empty_output"
    case offsetsShape = "offsets_shape"
    case biasShape = "bias_shape"
    case tooLarge = "too_large"
    /// Backward only (SPEC section 7): raised by `DeformConvProblem.validateGradient(_:)`
    /// after the forward call is valid, so it is last.
    case gradShape = "grad_shape"

    public var exceptionClass: ExceptionClass {
        switch self {
        case .paramType, .dtypeUnsupported, .dtypeMismatch: .typeError
        default: .valueError
        }
    }

    /// The codes validating a forward call can raise: every code but the backward-only one.
    /// Generators that break a forward call's rules draw from these.
    public static let forwardCases: [ErrorCode] = allCases.filter { $0 != .gradShape }

    /// Position in the precedence table (0 is checked first).
    public var precedence: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: ErrorCode, b: ErrorCode) -> Bool { a.precedence < b.precedence }
}

/// An invalid deformable-convolution call, reported before any arithmetic.
///
/// The message names the argument, what was expected and what was given, so a
/// kernel engineer can fix the call without reading this package's source.
public struct DeformConvError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var exceptionClass: ExceptionClass { code.exceptionClass }

    public var description: String { "\(exceptionClass.rawValue) [\(code.rawValue)]: \(message)" }
}
