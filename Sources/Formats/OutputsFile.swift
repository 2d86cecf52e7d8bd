import DeformConv
import Foundation
import HDF5

/// Outputs files: what one implementation returned for each case of a golden file, computed
/// anywhere (another framework, another device, another machine), for `dcn verify --outputs`.
///
/// Root attributes: `format` = "dcn-outputs", `format_version` = 1, `producer` (what made the
/// file), optionally `golden` (the golden file it answers), `kernel` (the implementation's name),
/// `u_acc` and `u_s` (float64 unit roundoffs of its arithmetic). Each case is a group
/// `/cases/<name>` named as in the golden file, holding either a dataset `y` of shape
/// (N, Co, Ho, Wo) in any float type, or, when the call was rejected, a string attribute
/// `error_class` ("ValueError", "TypeError", or whatever was raised) with optional
/// `error_code` (a SPEC section 2 code) and `error_message`.
///
/// The backward pass of a case with `gy` (SPEC section 7), beside that: datasets `gx`, `gweight`,
/// `goffsets` and `gbias` (`gbias` only when the case has a bias), any float type, of the shapes
/// of x, weight, offsets and bias; or, when the backward call was rejected, string attributes
/// `backward_error_class` [, `backward_error_code`, `backward_error_message`], read like the
/// forward's. A case whose forward call was rejected and that records nothing for the backward
/// has the forward's error for both (SPEC section 7 validates the forward first). A file that
/// records no gradient and no backward error anywhere has no backward pass: its backward cases
/// are "not implemented", not failed.
public enum OutputsSchema {
    public static let format = "dcn-outputs"
    public static let formatVersion = 1
    /// The gradient datasets, in the order of `DeformConvGradients`.
    public static let gradientFields = ["gx", "gweight", "goffsets", "gbias"]
    public static let forwardError = ErrorAttributes(prefix: "")
    public static let backwardError = ErrorAttributes(prefix: "backward_")

    /// The names of the attributes that record a rejected call.
    public struct ErrorAttributes: Sendable {
        public let errorClass: String
        public let code: String
        public let message: String

        init(prefix: String) {
            errorClass = prefix + "error_class"
            code = prefix + "error_code"
            message = prefix + "error_message"
        }
    }
}

/// An outputs file could not be opened or written.
public struct OutputsFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Writes an outputs file, one case at a time.
public final class OutputsFileWriter {
    public let path: String
    private let file: File
    private let cases: Group

    public init(path: String, producer: String, golden: String?, kernel: String?, uAcc: Double?, uS: Double?) throws(OutputsFileError) {
        self.path = path
        do {
            (file, cases) = try CaseFile.creating(path, format: OutputsSchema.format, version: OutputsSchema.formatVersion) { root throws(HDF5Error) in
                try root.setAttribute("producer", string: producer)
                if let golden { try root.setAttribute("golden", string: golden) }
                if let kernel { try root.setAttribute("kernel", string: kernel) }
                if let uAcc { try root.setAttribute("u_acc", [uAcc], scalar: true) }
                if let uS { try root.setAttribute("u_s", [uS], scalar: true) }
            }
        } catch {
            throw OutputsFileError("cannot create \(path): \(error)")
        }
    }

    deinit { file.close() }

    public func close() { file.close() }

    public func writeOutput<T: HDF5Element>(_ caseName: String, shape: [Int], values: [T]) throws(OutputsFileError) {
        do {
            try write("y", shape: shape, values: values, in: try group(caseName))
        } catch {
            throw OutputsFileError("\(path): case '\(caseName)': cannot write y: \(error)")
        }
    }

    /// The gradients of a backward case, in the shapes of x, weight, offsets and bias of `problem`.
    public func writeGradients<T: HDF5Element>(_ caseName: String, problem: DeformConvProblem, gradients: DeformConvGradients<T>) throws(OutputsFileError) {
        let fields = OutputsSchema.gradientFields
        var arrays = [(fields[0], problem.xShape, gradients.gx), (fields[1], problem.weightShape, gradients.gweight),
                      (fields[2], problem.offsetsShape, gradients.goffsets)]
        if let gbias = gradients.gbias { arrays.append((fields[3], [problem.outputChannels], gbias)) }
        for (field, shape, values) in arrays {
            do {
                try write(field, shape: shape, values: values, in: try group(caseName))
            } catch {
                throw OutputsFileError("\(path): case '\(caseName)': cannot write \(field): \(error)")
            }
        }
    }

    public func writeError(_ caseName: String, errorClass: String, code: String?, message: String?) throws(OutputsFileError) {
        try writeError(caseName, OutputsSchema.forwardError, errorClass: errorClass, code: code, message: message)
    }

    /// A rejected (or failed) backward call, beside the forward's record of the case.
    public func writeBackwardError(_ caseName: String, errorClass: String, code: String?, message: String?) throws(OutputsFileError) {
        try writeError(caseName, OutputsSchema.backwardError, errorClass: errorClass, code: code, message: message)
    }

    private func writeError(_ caseName: String, _ names: OutputsSchema.ErrorAttributes, errorClass: String, code: String?, message: String?) throws(OutputsFileError) {
        do {
            let group = try group(caseName)
            try group.setAttribute(names.errorClass, string: errorClass)
            if let code { try group.setAttribute(names.code, string: code) }
            if let message { try group.setAttribute(names.message, string: message) }
        } catch {
            throw OutputsFileError("\(path): case '\(caseName)': cannot write \(names.errorClass): \(error)")
        }
    }

    /// The case's group: the forward's record creates it, the backward's adds to it.
    private func group(_ caseName: String) throws(HDF5Error) -> Group {
        cases.contains(caseName) ? try cases.openGroup(caseName) : try cases.createGroup(caseName)
    }

    /// Large arrays are compressed: outputs files travel between machines.
    private func write<T: HDF5Element>(_ field: String, shape: [Int], values: [T], in group: Group) throws(HDF5Error) {
        let compress = values.count >= 256
        try group.write(field, shape: shape, values: values, chunks: compress ? shape : nil, gzipLevel: compress ? 6 : nil)
    }
}

/// The root attributes of an outputs file.
public struct OutputsFileInfo: Sendable {
    public var path: String
    public var producer: String?
    public var golden: String?
    public var kernel: String?
    public var uAcc: Double?
    public var uS: Double?
    public var caseCount: Int
    /// Whether any case records a gradient or a backward error: the file then has a backward pass.
    public var recordsBackward: Bool
    /// The offsets layout of its `goffsets` (root attribute `layout`, dcn when absent): outputs
    /// computed on a `dcn export` give the layout's offset gradient, then its mask gradient.
    public var layout: OffsetsLayout

    /// Opens `path` and checks that it is an outputs file.
    public init(path: String) throws(OutputsFileError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw OutputsFileError("no such outputs file: \(path)") }
        do {
            let file = try File.open(path)
            defer { file.close() }
            let root = try file.root
            let format = root.stringAttribute("format")
            guard format == OutputsSchema.format else {
                let found = format.map { "'\($0)'" } ?? "missing"
                throw OutputsFileError("\(path): not a dcn outputs file: root attribute 'format' must be '\(OutputsSchema.format)', found \(found)")
            }
            guard case let .integers(version)? = try root.attribute("format_version")?.value, version == [Int64(OutputsSchema.formatVersion)] else {
                throw OutputsFileError("\(path): unsupported format_version: this dcn reads outputs files of version \(OutputsSchema.formatVersion)")
            }
            producer = root.stringAttribute("producer")
            golden = root.stringAttribute("golden")
            kernel = root.stringAttribute("kernel")
            uAcc = root.doubleAttribute("u_acc")
            uS = root.doubleAttribute("u_s")
            let layoutName = root.stringAttribute("layout") ?? OffsetsLayout.dcn.rawValue
            guard let layout = OffsetsLayout(rawValue: layoutName) else {
                throw OutputsFileError("\(path): root attribute 'layout' is '\(layoutName)'; layouts are \(OffsetsLayout.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.layout = layout
            guard root.contains(GoldenSchema.casesGroup) else { throw OutputsFileError("\(path): the file has no /cases group") }
            let cases = try root.openGroup(GoldenSchema.casesGroup)
            let names = try cases.members().filter { $0.kind == .group }.map(\.name)
            caseCount = names.count
            recordsBackward = try names.contains { name in
                let group = try cases.openGroup(name)
                return OutputsSchema.gradientFields.contains(where: group.contains) || group.stringAttribute(OutputsSchema.backwardError.errorClass) != nil
            }
        } catch let error as OutputsFileError {
            throw error
        } catch {
            throw OutputsFileError("\(path): cannot read the outputs file: \(error)")
        }
    }
}

extension Group {
    /// A scalar string attribute, or nil when it is missing or not one string.
    package func stringAttribute(_ name: String) -> String? {
        GoldenFileReader.string(try? attribute(name))
    }

    /// A scalar number attribute (float or integer), or nil.
    package func doubleAttribute(_ name: String) -> Double? {
        switch (try? attribute(name))?.value {
        case let .floats(values)? where values.count == 1: values[0]
        case let .integers(values)? where values.count == 1: Double(values[0])
        default: nil
        }
    }
}
