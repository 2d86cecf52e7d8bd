import DeformConv
import Foundation
import HDF5

/// What was recorded elsewhere for one case: the output a framework, device or
/// foreign harness computed, or the error it raised.
public enum RecordedOutcome: Sendable, Equatable {
    /// An output array, widened to Float64, with the type it was stored in.
    case output(values: [Double], storedType: String)
    /// The call was rejected: the exception class (e.g. "ValueError"), the SPEC section 2 code when the
    /// producer knows it, and its message.
    case error(errorClass: String, code: String?, message: String?)
    /// The producer says it accepted the call but recorded no output (e.g. `framework_error = "accepted"`).
    case accepted(String?)
    /// Nothing was recorded for this case; the reason.
    case missing(String)
    /// Something was recorded but cannot be scored: wrong shape, not a float type, unreadable.
    case invalid(String)
}

/// A source of results computed elsewhere, checked by the verifier like a kernel.
///
/// It is a `DeformConvKernel` only so that the command line, the child processes of
/// `dcn verify` and the reports name it like one, with its units; the verifier never
/// calls `run` on it, it asks `recorded(caseName:in:outputShape:)` instead. Its u_acc
/// and u_s are those of the arithmetic the recorded results were computed with
/// (float32 unless told otherwise), and SPEC section 3's bound is built from them.
public protocol RecordedOutputsKernel: DeformConvKernel {
    /// What was recorded for case `caseName` of golden file `goldenFile`. `outputShape` is the
    /// shape a valid case's output must have (nil for an error case): a recorded array of another
    /// shape is `.invalid`, checked before any data is read.
    func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> RecordedOutcome
}

extension RecordedOutputsKernel {
    public var threads: Int { 1 }

    /// Never called by the verifier; outputs of a recorded source cannot be recomputed.
    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        Array(repeating: .nan, count: problem.outputCount)
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        Array(repeating: .nan, count: problem.outputCount)
    }
}

extension Verifier {
    /// One case scored against what `source` recorded for it.
    ///
    /// Error cases pass when the recorded class equals the expected class and, if a code was
    /// recorded, the code too; an accepted call, a recorded output or nothing recorded fails.
    /// Valid cases are validated by SPEC section 2 (for the output shape), then every element is
    /// held to section 3's bound with the source's units, as for a kernel.
    static func score(_ base: CaseResult, source: any RecordedOutputsKernel, header: CaseHeader,
                      data: inout CaseData, limits: ResourceLimits) -> CaseResult {
        var result = base
        let label = "'\(source.name)'"
        if case let .error(code) = header.expect {
            switch source.recorded(caseName: header.name, in: result.file, outputShape: nil) {
            case let .error(errorClass, recordedCode, message):
                result.errorClass = errorClass
                result.errorCode = recordedCode
                let sameClass = errorClass == code.exceptionClass.rawValue
                let sameCode = recordedCode == nil || recordedCode == code.rawValue
                if sameClass && sameCode {
                    result.status = .pass
                    result.message = message
                } else {
                    let what = recordedCode.map { "\(errorClass) (\($0))" } ?? errorClass
                    result.message = "expected \(header.expect), \(label) recorded \(what)" + (message.map { ": \($0)" } ?? "")
                }
            case .output:
                result.message = "expected \(header.expect), \(label) accepted the call (an output was recorded)"
            case let .accepted(note):
                result.message = "expected \(header.expect), \(label) accepted the call" + (note.map { " (\($0))" } ?? "")
            case let .missing(why):
                result.message = why
            case let .invalid(why):
                result.message = why
            }
            return result
        }

        let problem: DeformConvProblem
        do throws(DeformConvError) {
            problem = try DeformConvProblem(validating: header.arguments, limits: limits)
        } catch {
            result.message = "expected ok, SPEC section 2 validation raised \(error) (the golden case is inconsistent)"
            return result
        }
        switch source.recorded(caseName: header.name, in: result.file, outputShape: problem.outputShape) {
        case let .output(values, _):
            do {
                let (golden, _) = try data.load(problem)
                result.score(values, against: golden, problem: problem, header: header, kernel: source, weak: data.weak)
            } catch {
                result.message = "malformed case: \(error)"
            }
        case let .error(errorClass, code, message):
            result.errorClass = errorClass
            result.errorCode = code
            result.message = "expected ok, \(label) recorded \(code.map { "\(errorClass) (\($0))" } ?? errorClass)" + (message.map { ": \($0)" } ?? "")
        case let .accepted(note):
            result.message = "\(label) accepted the call but recorded no output" + (note.map { " (\($0))" } ?? "")
        case let .missing(why):
            result.message = why
        case let .invalid(why):
            result.message = why
        }
        return result
    }
}

/// Reads one recorded array or error from an HDF5 group, with the checks every provider needs.
enum RecordedReader {
    /// The dataset `field` of `group` as Float64, when its type is a float and its shape is `shape`.
    static func output(_ group: Group, _ field: String, shape: [Int], where place: String) -> RecordedOutcome {
        do {
            let info = try group.datasetInfo(field)
            guard case let .float(bits) = info.type, [16, 32, 64].contains(bits) else {
                return .invalid("\(place): '\(field)' is stored as \(info.type); recorded outputs must be float16, float32 or float64")
            }
            guard info.shape == shape else {
                return .invalid("\(place): '\(field)' has shape \(info.shape), the output shape is \(shape) (N, Co, Ho, Wo)")
            }
            let (stored, values) = try group.read(field, as: Double.self)
            guard stored == shape, values.count == shape.reduce(1, *) else {
                return .invalid("\(place): '\(field)' holds \(values.count) elements of shape \(stored), the output shape is \(shape)")
            }
            return .output(values: values, storedType: "float\(bits)")
        } catch {
            return .invalid("\(place): cannot read '\(field)': \(error)")
        }
    }

    static func string(_ group: Group, _ name: String) -> String? {
        GoldenFileReader.string(try? group.attribute(name))
    }

    static func double(_ group: Group, _ name: String) -> Double? {
        switch (try? group.attribute(name))?.value {
        case let .floats(values)? where values.count == 1: values[0]
        case let .integers(values)? where values.count == 1: Double(values[0])
        default: nil
        }
    }
}

/// `--kernel framework`: the `y_framework` dataset and `framework_error` attribute a golden file
/// made by tools/golden/make_framework_golden.py carries next to `y` (SPEC section 4), scored as if
/// the framework were one more kernel with float32 accumulation and sampling.
///
/// `framework:<dataset>` reads another dataset, with its error in the attribute named after it
/// (`y_gpu` → `gpu_error`). `framework_error` is "<Class>: <first line>", "accepted", or
/// "not run: <why>".
public struct FrameworkOutputs: RecordedOutputsKernel {
    public var dataset: String
    public var name: String
    public var accumulationUnitRoundoff: Double
    public var samplingUnitRoundoff: Double

    public init(dataset: String = "y_framework", name: String? = nil,
                uAcc: Double = UnitRoundoff.float32, uS: Double = UnitRoundoff.float32) {
        self.dataset = dataset
        self.name = name ?? (dataset == "y_framework" ? "framework" : "framework:\(dataset)")
        accumulationUnitRoundoff = uAcc
        samplingUnitRoundoff = uS
    }

    public var errorAttribute: String {
        (dataset.hasPrefix("y_") ? String(dataset.dropFirst(2)) : dataset) + "_error"
    }

    public var summary: String {
        "results recorded in the golden file itself: dataset \(dataset), attribute \(errorAttribute) (the case's `framework` attribute names the framework)"
    }

    public func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> RecordedOutcome {
        let place = "\(goldenFile): case '\(caseName)'"
        let file: File
        do { file = try File.open(goldenFile) } catch { return .invalid("\(place): \(error)") }
        defer { file.close() }
        let group: Group
        do { group = try file.root.openGroup(GoldenSchema.casesGroup).openGroup(caseName) } catch { return .invalid("\(place): \(error)") }
        if let outputShape, group.contains(dataset) {
            return RecordedReader.output(group, dataset, shape: outputShape, where: place)
        }
        if let text = RecordedReader.string(group, errorAttribute) {
            return Self.parse(frameworkError: text)
        }
        if outputShape == nil, group.contains(dataset) {
            return .output(values: [], storedType: "")
        }
        return .missing("no outputs recorded for this case: no '\(dataset)' dataset or '\(errorAttribute)' attribute in \(place)")
    }

    /// "<Class>: <message>", "accepted", "not run: <why>".
    public static func parse(frameworkError text: String) -> RecordedOutcome {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed == "accepted" || trimmed.hasPrefix("accepted") { return .accepted(trimmed == "accepted" ? nil : trimmed) }
        if trimmed.hasPrefix("not run") { return .missing("no outputs recorded for this case (\(trimmed))") }
        if let colon = trimmed.range(of: ":") {
            let errorClass = String(trimmed[..<colon.lowerBound])
            if !errorClass.isEmpty, !errorClass.contains(" ") {
                let message = trimmed[colon.upperBound...].trimmingCharacters(in: .whitespaces)
                return .error(errorClass: errorClass, code: nil, message: message.isEmpty ? nil : message)
            }
        }
        return .error(errorClass: trimmed, code: nil, message: nil)
    }
}
