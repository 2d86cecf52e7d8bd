/// Element type of a tensor as it was handed to the operator.
///
/// Only `float16` and `float32` are valid inputs; the others exist so that an
/// invalid call (a float64 `x`, an integer `weight`) can be described and rejected
/// with the right error instead of failing earlier in a loader.
public enum DataType: Equatable, Hashable, Sendable, CustomStringConvertible {
    case float16, float32, float64
    case integer(bits: Int, signed: Bool)
    case other(String)

    public var description: String {
        switch self {
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case let .integer(bits, signed): "\(signed ? "int" : "uint")\(bits)"
        case let .other(name): name
        }
    }

    /// The dtypes a kernel computes on.
    public var isSupportedInput: Bool { self == .float16 || self == .float32 }
}

/// Shape and element type of one tensor argument, known before its data is read.
public struct TensorSpec: Equatable, Sendable, CustomStringConvertible {
    public var shape: [Int]
    public var dtype: DataType

    public init(shape: [Int], dtype: DataType) {
        self.shape = shape
        self.dtype = dtype
    }

    public var description: String { "\(dtype)\(shape)" }
}

/// An integer-list parameter as it was given: the values, or a description of
/// something that is not a list of integers (floats, a string, a boolean).
public enum IntParameter: Equatable, Sendable, CustomStringConvertible {
    case integers([Int])
    case notInteger(String)

    public var description: String {
        switch self {
        case let .integers(values): values.count == 1 ? "\(values[0])" : "(\(values.map(String.init).joined(separator: ", ")))"
        case let .notInteger(text): text
        }
    }
}

/// The `modulated` flag as it was given.
public enum BoolParameter: Equatable, Sendable {
    case value(Bool)
    case notBoolean(String)
}

/// The arguments of one `deformable_conv2d` call, exactly as given, before validation.
///
/// Mirrors MindSpore's signature; `DeformConvProblem(validating:)` turns it into a
/// problem or a `DeformConvError`.
public struct DeformConvArguments: Equatable, Sendable {
    public var x: TensorSpec
    public var weight: TensorSpec
    public var offsets: TensorSpec
    public var bias: TensorSpec?
    public var kernelSize: IntParameter
    public var strides: IntParameter
    public var padding: IntParameter
    public var dilations: IntParameter
    public var groups: IntParameter
    public var deformableGroups: IntParameter
    public var modulated: BoolParameter

    public init(
        x: TensorSpec, weight: TensorSpec, offsets: TensorSpec, bias: TensorSpec? = nil,
        kernelSize: IntParameter, strides: IntParameter, padding: IntParameter,
        dilations: IntParameter = .integers([1, 1, 1, 1]), groups: IntParameter = .integers([1]),
        deformableGroups: IntParameter = .integers([1]), modulated: BoolParameter = .value(true)
    ) {
        self.x = x
        self.weight = weight
        self.offsets = offsets
        self.bias = bias
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilations = dilations
        self.groups = groups
        self.deformableGroups = deformableGroups
        self.modulated = modulated
    }
}
