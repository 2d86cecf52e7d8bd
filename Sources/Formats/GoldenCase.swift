import DeformConv
import HDF5

/// What a case expects from the kernel path: an output, or one error.
public enum Expectation: Equatable, Sendable, CustomStringConvertible {
    case ok
    case error(ErrorCode)

    /// The `expect` attribute: "ok", "TypeError" or "ValueError".
    public var expectAttribute: String {
        switch self {
        case .ok: "ok"
        case let .error(code): code.exceptionClass.rawValue
        }
    }

    public var description: String {
        switch self {
        case .ok: "ok"
        case let .error(code): "\(code.exceptionClass.rawValue)(\(code.rawValue))"
        }
    }
}

/// A parameter attribute as it is written: normally integers, but an error case
/// may store a float, a string or a boolean on purpose.
public enum ParameterValue: Equatable, Sendable {
    case integers([Int])
    case integer(Int)
    case floats([Double])
    case string(String)
    case boolean(Bool)
}

extension ParameterValue {
    /// The attribute as a reader sees it.
    public var attributeValue: AttributeValue {
        switch self {
        case let .integers(values): .integers(values.map { Int64($0) })
        case let .integer(value): .integers([Int64(value)])
        case let .floats(values): .floats(values)
        case let .string(text): .strings([text])
        case let .boolean(flag): .booleans([flag])
        }
    }
}

/// The data of one tensor dataset as it is written, in the stored type.
public enum TensorData: Sendable {
    case float16([Float16])
    case float32([Float])
    case float64([Double])
    case int32([Int32])
    /// Shape and type only: a chunked dataset with no chunk written, so that a
    /// `too_large` case can declare terabytes in a file of a few hundred bytes.
    case unwritten(DataType)

    public var dtype: DataType {
        switch self {
        case .float16: .float16
        case .float32: .float32
        case .float64: .float64
        case .int32: .integer(bits: 32, signed: true)
        case let .unwritten(type): type
        }
    }
}

public struct StoredTensor: Sendable {
    public var shape: [Int]
    public var data: TensorData

    public init(shape: [Int], data: TensorData) {
        self.shape = shape
        self.data = data
    }

    public var spec: TensorSpec { TensorSpec(shape: shape, dtype: data.dtype) }
}

/// The golden output of a valid case, NCHW, with SPEC section 3's magnitudes.
public struct GoldenOutput: Sendable {
    public var shape: [Int]
    public var y: [Double]
    public var yAbs: [Double]?
    public var yPos: [Double]?
    public var yTiny: [Double]?
    /// The exact gradients for the case's `gy` (SPEC section 7), when it is a backward case.
    public var gradients: DeformConvGradients<Double>?

    public init(shape: [Int], y: [Double], yAbs: [Double]? = nil, yPos: [Double]? = nil, yTiny: [Double]? = nil) {
        self.shape = shape
        self.y = y
        self.yAbs = yAbs
        self.yPos = yPos
        self.yTiny = yTiny
    }

    /// The golden output the float64 reference gives, with all its magnitudes.
    public init(shape: [Int], reference: ReferenceOutput) {
        self.init(shape: shape, y: reference.y, yAbs: reference.yAbs, yPos: reference.yPos, yTiny: reference.yTiny)
    }

    /// Whether every magnitude the bound needs is present.
    public var hasMagnitudes: Bool { yAbs != nil && yPos != nil && yTiny != nil }

    /// The magnitudes the file lacks, taken from the reference's evaluation of the same inputs.
    public mutating func fillMagnitudes(from reference: ReferenceOutput) {
        yAbs = yAbs ?? reference.yAbs
        yPos = yPos ?? reference.yPos
        yTiny = yTiny ?? reference.yTiny
    }
}

/// One case of a golden file, as the generator builds it and the writer stores it (SPEC section 4).
public struct GoldenCase: Sendable {
    public var name: String
    public var tags: [String]
    public var description: String
    public var seed: UInt64?
    /// kernel_size, strides, padding, dilations, groups, deformable_groups and modulated, by attribute name.
    public var parameters: [String: ParameterValue]
    public var x: StoredTensor
    public var weight: StoredTensor
    public var offsets: StoredTensor
    public var bias: StoredTensor?
    /// The incoming gradient ∂L/∂y, in the dtype of x: present on a backward case (SPEC section 7).
    public var gy: StoredTensor?
    public var expect: Expectation
    /// Present exactly when `expect` is `.ok`.
    public var output: GoldenOutput?

    public init(name: String, tags: [String], description: String, seed: UInt64? = nil,
                parameters: [String: ParameterValue], x: StoredTensor, weight: StoredTensor,
                offsets: StoredTensor, bias: StoredTensor? = nil, gy: StoredTensor? = nil, expect: Expectation, output: GoldenOutput? = nil) {
        self.name = name
        self.tags = tags
        self.description = description
        self.seed = seed
        self.parameters = parameters
        self.x = x
        self.weight = weight
        self.offsets = offsets
        self.bias = bias
        self.gy = gy
        self.expect = expect
        self.output = output
    }

    /// The parameter attributes of a well-formed call with this geometry.
    public static func parameters(of g: ConvGeometry) -> [String: ParameterValue] {
        [
            "kernel_size": .integers([g.kernelHeight, g.kernelWidth]),
            "strides": .integers([1, 1, g.strideHeight, g.strideWidth]),
            "padding": .integers([g.padTop, g.padBottom, g.padLeft, g.padRight]),
            "dilations": .integers([1, 1, g.dilationHeight, g.dilationWidth]),
            "groups": .integer(g.groups),
            "deformable_groups": .integer(g.deformableGroups),
            "modulated": .boolean(true),
        ]
    }
}

/// Names fixed by SPEC section 4.
public enum GoldenSchema {
    public static let format = "dcn-golden"
    public static let formatVersion = 1
    public static let casesGroup = "cases"
    public static let integerListParameters = ["kernel_size", "strides", "padding", "dilations"]
    public static let integerScalarParameters = ["groups", "deformable_groups"]
    public static let tags = [
        "basic", "batch", "bias", "no_bias", "groups", "deformable_groups", "padding", "asymmetric_padding",
        "stride", "dilation", "kernel_1x1", "non_square", "boundary", "integer_offsets", "large_offsets",
        "zero_mask", "negative_mask", "float16", "float32", "wide_reduction", "exact", "error",
    ]

    /// Case names are letters, digits, '-', '_' and '.'.
    public static func isValidCaseName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}

extension GoldenCase {
    /// The call this case describes, mapped exactly as the file reader maps its attributes.
    public var arguments: DeformConvArguments {
        func integers(_ name: String) -> IntParameter {
            GoldenFileReader.intParameter(parameters[name].map(\.attributeValue) ?? .unsupported("missing"))
        }
        return DeformConvArguments(
            x: x.spec, weight: weight.spec, offsets: offsets.spec, bias: bias?.spec,
            kernelSize: integers("kernel_size"), strides: integers("strides"), padding: integers("padding"),
            dilations: integers("dilations"), groups: integers("groups"), deformableGroups: integers("deformable_groups"),
            modulated: GoldenFileReader.boolParameter(parameters["modulated"].map(\.attributeValue) ?? .unsupported("missing")))
    }
}
