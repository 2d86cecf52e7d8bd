import DeformConv
import Foundation
import HDF5

/// One case of an inputs file before its data is read: the call it describes.
public struct InputsCase: Sendable {
    public var name: String
    public var description: String?
    public var arguments: DeformConvArguments
    /// The incoming gradient's spec, when the case asks for the backward too.
    public var gy: TensorSpec?
}

/// Reads an inputs file (`dcn generate --inputs`): the user's own tensors in a golden file's case
/// layout (SPEC section 4) without outputs.
///
/// Each case is a group `/cases/<name>` with the parameter attributes kernel_size, strides,
/// padding, dilations, groups, deformable_groups (`modulated` optional, true when absent) and
/// the datasets x, weight, offsets (the dx block, the dy block, then the masks), optional bias
/// and gy. Root attributes are not needed (a file written by h5py with nothing but the cases is
/// one), and expect, tags and outputs are ignored, so a golden file is an inputs file too.
public final class InputsFileReader {
    public let path: String
    private let file: File
    private let cases: Group

    public init(path: String) throws(GoldenFileError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw GoldenFileError(file: path, message: "no such inputs file")
        }
        var found: Group?
        do throws(HDF5Error) {
            file = try File.open(path)
            let root = try file.root
            found = root.contains(GoldenSchema.casesGroup) ? try root.openGroup(GoldenSchema.casesGroup) : nil
        } catch {
            throw GoldenFileError(error)
        }
        guard let found else {
            throw GoldenFileError(file: path, field: GoldenSchema.casesGroup, message: "the file has no /cases group: each case is a group /cases/<name>")
        }
        cases = found
    }

    deinit { file.close() }

    /// The case names, in name order.
    public func caseNames() throws(GoldenFileError) -> [String] {
        try cases.caseNames()
    }

    /// The call a case describes, from its attributes and dataset shapes (no data read).
    public func header(of name: String) throws(GoldenFileError) -> InputsCase {
        let fields = CaseFields(path: path, name: name, group: try open(name))
        func required(_ field: String) throws(GoldenFileError) -> IntParameter {
            GoldenFileReader.intParameter(try fields.required(field).value)
        }
        let modulated = try fields.attribute("modulated").map { GoldenFileReader.boolParameter($0.value) } ?? .value(true)
        let arguments = DeformConvArguments(
            x: try fields.requiredSpec("x"), weight: try fields.requiredSpec("weight"), offsets: try fields.requiredSpec("offsets"),
            bias: try fields.spec("bias"),
            kernelSize: try required("kernel_size"), strides: try required("strides"), padding: try required("padding"),
            dilations: try required("dilations"), groups: try required("groups"), deformableGroups: try required("deformable_groups"),
            modulated: modulated)
        return InputsCase(name: name, description: fields.group.stringAttribute("description"), arguments: arguments, gy: try fields.spec("gy"))
    }

    /// The tensors of a validated case as float64 (exactly the stored numbers), and gy when the
    /// case has one; refused with the index of the first NaN or infinity.
    public func tensors(of name: String, problem: DeformConvProblem, gy hasGradient: Bool) throws(GoldenFileError) -> (inputs: DeformConvInputs<Double>, gy: [Double]?) {
        let group = try open(name)
        func read(_ field: String, _ shape: [Int]) throws(GoldenFileError) -> [Double] {
            let values: [Double]
            do {
                values = try group.read(field, as: Double.self).values
            } catch {
                throw GoldenFileError(error, caseName: name, field: field)
            }
            guard values.count == shape.reduce(1, *) else {
                throw GoldenFileError(file: path, caseName: name, field: field, message: "holds \(values.count) elements, its shape says \(shape.reduce(1, *))")
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw GoldenFileError(file: path, caseName: name, field: field,
                                      message: "element \(Self.index(bad, in: shape)) is \(values[bad]): inputs must be finite")
            }
            return values
        }
        let inputs = DeformConvInputs(
            x: try read("x", problem.xShape), weight: try read("weight", problem.weightShape),
            offsets: try read("offsets", problem.offsetsShape),
            bias: problem.hasBias ? try read("bias", [problem.outputChannels]) : nil)
        return (inputs, hasGradient ? try read("gy", problem.outputShape) : nil)
    }

    /// A flat index as the multi-index of its shape, e.g. [0, 3, 1, 2].
    static func index(_ flat: Int, in shape: [Int]) -> [Int] {
        var rest = flat
        var index = Array(repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            (rest, index[axis]) = rest.quotientAndRemainder(dividingBy: shape[axis])
        }
        return index
    }

    private func open(_ name: String) throws(GoldenFileError) -> Group {
        try cases.openCase(name)
    }
}

extension Group {
    /// The names of the case groups in this /cases group, in name order.
    package func caseNames() throws(GoldenFileError) -> [String] {
        do {
            return try members().filter { $0.kind == .group }.map(\.name)
        } catch {
            throw GoldenFileError(error, field: "/cases")
        }
    }

    /// One case group of this /cases group.
    package func openCase(_ name: String) throws(GoldenFileError) -> Group {
        do { return try openGroup(name) } catch { throw GoldenFileError(error, caseName: name) }
    }
}
