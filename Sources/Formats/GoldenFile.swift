import DeformConv
import Foundation
import HDF5

/// A golden file, or one case or field of it, could not be read or written.
///
/// Names the file, and the case and field when the problem is inside one, so a
/// person can find it with h5dump.
public struct GoldenFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var caseName: String?
    public var field: String?
    public var message: String

    public init(file: String, caseName: String? = nil, field: String? = nil, message: String) {
        self.file = file
        self.caseName = caseName
        self.field = field
        self.message = message
    }

    init(_ error: HDF5Error, caseName: String? = nil, field: String? = nil) {
        self.init(file: error.file, caseName: caseName, field: field,
                  message: "cannot \(error.operation) \(error.object): \(error.detail)")
    }

    public var description: String {
        var place = file
        if let caseName { place += ": case '\(caseName)'" }
        if let field { place += ": field '\(field)'" }
        return "\(place): \(message)"
    }
}

/// The header of a case as read from a file: everything needed to validate the
/// call, with no tensor data read yet.
public struct CaseHeader: Sendable {
    public var name: String
    public var tags: [String]
    public var description: String?
    public var expect: Expectation
    public var arguments: DeformConvArguments
    /// The stored type of `y`, when the case has one.
    public var outputType: DataType?
    /// The incoming gradient's spec when the case has `gy`: it is then also a backward case (SPEC section 7).
    public var gy: TensorSpec?

    public var isExact: Bool { tags.contains("exact") }
    /// Whether the case checks a backward pass.
    public var isBackward: Bool { gy != nil }

    public init(name: String, tags: [String], description: String?, expect: Expectation, arguments: DeformConvArguments,
                outputType: DataType?, gy: TensorSpec? = nil) {
        self.name = name
        self.tags = tags
        self.description = description
        self.expect = expect
        self.arguments = arguments
        self.outputType = outputType
        self.gy = gy
    }
}

/// Reads a golden file (SPEC section 4), one case at a time.
///
/// Nothing is read before it is needed: `header(of:)` reads attributes and dataset
/// shapes only, so that a case declaring terabytes is rejected by validation before
/// any data is read.
public final class GoldenFileReader {
    public let path: String
    public let generator: String?
    public let reference: String?
    private let file: File
    private let cases: Group

    public init(path: String) throws(GoldenFileError) {
        self.path = path
        do {
            file = try File.open(path)
            let root = try file.root
            let format = try root.attribute("format")
            guard case let .strings(values)? = format?.value, values == [GoldenSchema.format] else {
                throw GoldenFileError(file: path, field: "format", message: "not a dcn golden file: root attribute 'format' must be the string '\(GoldenSchema.format)'")
            }
            guard case let .integers(version)? = try root.attribute("format_version")?.value, version == [Int64(GoldenSchema.formatVersion)] else {
                throw GoldenFileError(file: path, field: "format_version", message: "unsupported format_version: this dcn reads version \(GoldenSchema.formatVersion)")
            }
            generator = Self.string(try root.attribute("generator"))
            reference = Self.string(try root.attribute("reference"))
            guard root.contains(GoldenSchema.casesGroup) else {
                throw GoldenFileError(file: path, field: GoldenSchema.casesGroup, message: "the file has no /cases group")
            }
            cases = try root.openGroup(GoldenSchema.casesGroup)
        } catch let error as HDF5Error {
            throw GoldenFileError(error)
        } catch let error as GoldenFileError {
            throw error
        } catch {
            throw GoldenFileError(file: path, message: "\(error)")
        }
    }

    deinit { file.close() }

    /// Opens `path` and lists its cases, the first two steps of every reader of a golden file.
    public static func opening(_ path: String) throws(GoldenFileError) -> (reader: GoldenFileReader, names: [String]) {
        let reader = try GoldenFileReader(path: path)
        return (reader, try reader.caseNames())
    }

    /// The case names in the file, in name order.
    public func caseNames() throws(GoldenFileError) -> [String] {
        try cases.caseNames()
    }

    /// Attributes and tensor specs of one case, turned into the operator's arguments.
    public func header(of name: String) throws(GoldenFileError) -> CaseHeader {
        let fields = CaseFields(path: path, name: name, group: try open(name))
        let fail = fields.fail
        func string(_ field: String) throws(GoldenFileError) -> String? {
            guard let value = try fields.attribute(field) else { return nil }
            guard let text = Self.string(value) else { throw fail(field, "must be a string, found \(value.type)") }
            return text
        }

        guard let expectText = try string("expect") else { throw fail("expect", "required attribute is missing") }
        let expect: Expectation
        switch expectText {
        case "ok": expect = .ok
        case ExceptionClass.typeError.rawValue, ExceptionClass.valueError.rawValue:
            guard let codeText = try string("error_code") else { throw fail("error_code", "required when expect is '\(expectText)'") }
            guard let code = ErrorCode(rawValue: codeText) else {
                throw fail("error_code", "unknown error code '\(codeText)'; codes are \(ErrorCode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard code.exceptionClass.rawValue == expectText else {
                throw fail("error_code", "code '\(codeText)' is a \(code.exceptionClass.rawValue), but expect says \(expectText)")
            }
            expect = .error(code)
        default:
            throw fail("expect", "must be \"ok\", \"TypeError\" or \"ValueError\", got \"\(expectText)\"")
        }
        guard let tagText = try string("tags") else { throw fail("tags", "required attribute is missing") }
        let tags = tagText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        var parameters: [String: IntParameter] = [:]
        for field in GoldenSchema.integerListParameters + GoldenSchema.integerScalarParameters {
            parameters[field] = Self.intParameter(try fields.required(field).value)
        }
        let modulated = Self.boolParameter(try fields.required("modulated").value)

        let arguments = DeformConvArguments(
            x: try fields.requiredSpec("x"), weight: try fields.requiredSpec("weight"), offsets: try fields.requiredSpec("offsets"),
            bias: try fields.spec("bias"),
            kernelSize: parameters["kernel_size"]!, strides: parameters["strides"]!,
            padding: parameters["padding"]!, dilations: parameters["dilations"]!,
            groups: parameters["groups"]!, deformableGroups: parameters["deformable_groups"]!,
            modulated: modulated)
        let outputType = try fields.spec("y")?.dtype
        if outputType == nil, expect == .ok {
            throw fail("y", "required dataset is missing (expect is \"ok\")")
        }
        return CaseHeader(name: name, tags: tags, description: try string("description"),
                          expect: expect, arguments: arguments, outputType: outputType, gy: try fields.spec("gy"))
    }

    /// The input tensors of a validated case, converted to the problem's element type.
    public func inputs<T: HDF5Element & Sendable>(of name: String, problem: DeformConvProblem, as type: T.Type) throws(GoldenFileError) -> DeformConvInputs<T> {
        let group = try open(name)
        func read(_ field: String, count: Int) throws(GoldenFileError) -> [T] {
            try reading(name, field) {
                let values = try group.read(field, as: T.self).values
                guard values.count == count else {
                    throw GoldenFileError(file: path, caseName: name, field: field, message: "holds \(values.count) elements, its shape says \(count)")
                }
                return values
            }
        }
        return DeformConvInputs(
            x: try read("x", count: problem.xCount), weight: try read("weight", count: problem.weightCount),
            offsets: try read("offsets", count: problem.offsetsCount),
            bias: problem.hasBias ? try read("bias", count: problem.outputChannels) : nil)
    }

    /// The golden output of a validated case; y_abs, y_pos and y_tiny when the file has them, and the
    /// expected gradients (gx, gweight, goffsets, gbias) when the case has `gy`.
    public func output(of name: String, problem: DeformConvProblem) throws(GoldenFileError) -> GoldenOutput {
        let group = try open(name)
        func read(_ field: String, _ expected: [Int], _ shapeName: String = "the output shape") throws(GoldenFileError) -> [Double]? {
            guard group.contains(field) else { return nil }
            return try readDoubles(group, name, field, shape: expected, shapeName: shapeName)
        }
        func required(_ field: String, _ expected: [Int], _ shapeName: String = "the output shape") throws(GoldenFileError) -> [Double] {
            guard let values = try read(field, expected, shapeName) else {
                throw GoldenFileError(file: path, caseName: name, field: field, message: "required dataset is missing")
            }
            return values
        }
        let shape = problem.outputShape
        var output = GoldenOutput(shape: shape, y: try required("y", shape), yAbs: try read("y_abs", shape),
                                  yPos: try read("y_pos", shape), yTiny: try read("y_tiny", shape))
        if group.contains("gy") {
            output.gradients = DeformConvGradients(
                gx: try required("gx", problem.xShape, "x's shape"), gweight: try required("gweight", problem.weightShape, "weight's shape"),
                goffsets: try required("goffsets", problem.offsetsShape, "offsets' shape"),
                gbias: problem.hasBias ? try required("gbias", [problem.outputChannels], "bias' shape") : nil)
        }
        return output
    }

    /// The incoming gradient gy of a backward case whose spec `validateGradient` accepted, in the problem's element type.
    public func gradientInput<T: HDF5Element & Sendable>(of name: String, problem: DeformConvProblem, as type: T.Type) throws(GoldenFileError) -> [T] {
        let group = try open(name)
        return try reading(name, "gy") {
            let (shape, values) = try group.read("gy", as: T.self)
            guard shape == problem.outputShape, values.count == problem.outputCount else {
                throw GoldenFileError(file: path, caseName: name, field: "gy", message: "shape \(shape) differs from the output shape \(problem.outputShape)")
            }
            return values
        }
    }

    /// A float64 dataset of a known shape; the shape is checked before any data is read, since a
    /// hostile file may declare terabytes.
    private func readDoubles(_ group: Group, _ name: String, _ field: String, shape expected: [Int], shapeName: String) throws(GoldenFileError) -> [Double] {
        try reading(name, field) {
            let declared = try group.datasetInfo(field).shape
            guard declared == expected else {
                throw GoldenFileError(file: path, caseName: name, field: field, message: "shape \(declared) differs from \(shapeName) \(expected)")
            }
            let (shape, values) = try group.read(field, as: Double.self)
            guard shape == expected, values.count == expected.reduce(1, *) else {
                throw GoldenFileError(file: path, caseName: name, field: field, message: "shape \(shape) differs from \(shapeName) \(expected)")
            }
            return values
        }
    }

    /// Runs a read of `field`, with every error it throws named by file, case and field.
    private func reading<R>(_ name: String, _ field: String, _ body: () throws -> R) throws(GoldenFileError) -> R {
        do {
            return try body()
        } catch let error as HDF5Error {
            throw GoldenFileError(error, caseName: name, field: field)
        } catch let error as GoldenFileError {
            throw error
        } catch {
            throw GoldenFileError(file: path, caseName: name, field: field, message: "\(error)")
        }
    }

    private func open(_ name: String) throws(GoldenFileError) -> Group {
        try cases.openCase(name)
    }

    package static func string(_ attribute: Attribute?) -> String? {
        guard case let .strings(values)? = attribute?.value, values.count == 1 else { return nil }
        return values[0]
    }

    /// Integers of any width become values; anything else is kept as a description for a param_type error.
    static func intParameter(_ value: AttributeValue) -> IntParameter {
        switch value {
        case let .integers(values): .integers(values.map { Int($0) })
        case let .unsignedIntegers(values): .integers(values.map { Int(clamping: $0) })
        case let .floats(values): .notInteger("floats \(values)")
        case let .strings(values): .notInteger("string \(values)")
        case let .booleans(values): .notInteger("boolean \(values)")
        case let .unsupported(what): .notInteger(what)
        }
    }

    /// h5py's boolean, or an integer 0/1 (SPEC section 4); anything else is not a boolean.
    static func boolParameter(_ value: AttributeValue) -> BoolParameter {
        switch value {
        case let .booleans(values) where values.count == 1: .value(values[0])
        case let .integers(values) where values == [0] || values == [1]: .value(values[0] == 1)
        default: .notBoolean("\(value)")
        }
    }

    static func dataType(_ stored: StoredType) -> DataType {
        switch stored {
        case .float(bits: 16): .float16
        case .float(bits: 32): .float32
        case .float(bits: 64): .float64
        case let .integer(bits, signed): .integer(bits: bits, signed: signed)
        default: .other("\(stored)")
        }
    }
}

/// Writes golden files (SPEC section 4).
public final class GoldenFileWriter {
    public let path: String
    private let file: File
    private let cases: Group

    /// Creates (or truncates) `path` and writes the root attributes.
    public init(path: String, generator: String, reference: String) throws(GoldenFileError) {
        self.path = path
        do {
            (file, cases) = try CaseFile.creating(path, format: GoldenSchema.format, version: GoldenSchema.formatVersion) { root throws(HDF5Error) in
                try root.setAttribute("generator", string: generator)
                try root.setAttribute("reference", string: reference)
            }
        } catch {
            throw GoldenFileError(error)
        }
    }

    deinit { file.close() }

    public func close() { file.close() }

    public func write(_ golden: GoldenCase) throws(GoldenFileError) {
        guard GoldenSchema.isValidCaseName(golden.name) else {
            throw GoldenFileError(file: path, caseName: golden.name, message: "case names are letters, digits, '-', '_' and '.'")
        }
        do {
            let group = try cases.createGroup(golden.name)
            for (name, value) in golden.parameters.sorted(by: { $0.key < $1.key }) {
                switch value {
                case let .integers(values): try group.setAttribute(name, values.map { Int64($0) })
                case let .integer(value): try group.setAttribute(name, [Int64(value)], scalar: true)
                case let .floats(values): try group.setAttribute(name, values)
                case let .string(text): try group.setAttribute(name, string: text)
                case let .boolean(flag): try group.setAttribute(name, bool: flag)
                }
            }
            try group.setAttribute("expect", string: golden.expect.expectAttribute)
            if case let .error(code) = golden.expect {
                try group.setAttribute("error_code", string: code.rawValue)
            }
            try group.setAttribute("tags", string: golden.tags.joined(separator: ","))
            try group.setAttribute("description", string: golden.description)
            if let seed = golden.seed { try group.setAttribute("seed", [seed], scalar: true) }
            for (name, tensor) in [("x", golden.x), ("weight", golden.weight), ("offsets", golden.offsets), ("bias", golden.bias), ("gy", golden.gy)] {
                guard let tensor else { continue }
                try write(tensor, as: name, in: group)
            }
            if let output = golden.output {
                for (name, values) in [("y", output.y), ("y_abs", output.yAbs), ("y_pos", output.yPos), ("y_tiny", output.yTiny)] {
                    guard let values else { continue }
                    try write(StoredTensor(shape: output.shape, data: .float64(values)), as: name, in: group)
                }
                if let gradients = output.gradients {
                    let shapes = [("gx", golden.x.shape, gradients.gx), ("gweight", golden.weight.shape, gradients.gweight),
                                  ("goffsets", golden.offsets.shape, gradients.goffsets)]
                    for (name, shape, values) in shapes {
                        try write(StoredTensor(shape: shape, data: .float64(values)), as: name, in: group)
                    }
                    if let gbias = gradients.gbias, let bias = golden.bias {
                        try write(StoredTensor(shape: bias.shape, data: .float64(gbias)), as: "gbias", in: group)
                    }
                }
            }
        } catch {
            throw GoldenFileError(error, caseName: golden.name)
        }
    }

    /// Datasets are gzip-compressed in one chunk when they are big enough for it to pay.
    private func write(_ tensor: StoredTensor, as name: String, in group: Group) throws(HDF5Error) {
        // Counted with wrap-around: only unwritten datasets can declare more elements than an Int holds.
        let count = tensor.shape.reduce(1, &*)
        let compress = count >= 256 && !tensor.shape.contains(0)
        let chunks = compress ? tensor.shape : nil
        let level = compress ? 6 : nil
        switch tensor.data {
        case let .float16(values): try group.write(name, shape: tensor.shape, values: values, chunks: chunks, gzipLevel: level)
        case let .float32(values): try group.write(name, shape: tensor.shape, values: values, chunks: chunks, gzipLevel: level)
        case let .float64(values): try group.write(name, shape: tensor.shape, values: values, chunks: chunks, gzipLevel: level)
        case let .int32(values): try group.write(name, shape: tensor.shape, values: values, chunks: chunks, gzipLevel: level)
        case let .unwritten(type):
            let chunk = tensor.shape.map { min($0, 64) }
            switch type {
            case .float16: try group.createDataset(name, shape: tensor.shape, of: Float16.self, chunks: chunk)
            case .float64: try group.createDataset(name, shape: tensor.shape, of: Double.self, chunks: chunk)
            default: try group.createDataset(name, shape: tensor.shape, of: Float.self, chunks: chunk)
            }
        }
    }
}
