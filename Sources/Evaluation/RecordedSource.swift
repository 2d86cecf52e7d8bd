import DeformConv
import Foundation
import HDF5
import Formats
import Scoring
import Suites

/// A source of results computed elsewhere (an outputs file, a golden file's framework results),
/// scored like a kernel. Its u_acc and u_s are those of the arithmetic the results were computed
/// with (float32 unless told otherwise), and SPEC section 3's bound is built from them.
public protocol RecordedSource: OutcomeSource {
    /// What was recorded for case `caseName` of golden file `goldenFile`. `outputShape` is the
    /// shape a valid case's output must have (nil for an error case): a recorded array of another
    /// shape is `.unavailable`, checked before any data is read.
    func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> CaseOutcome
}

extension RecordedSource {
    /// Error cases look up what was recorded; valid cases are validated by SPEC section 2 first,
    /// for the shape the recorded output must have.
    public func outcome(for item: EvaluationCase) throws(CaseDataError) -> CaseOutcome {
        guard item.header.expect == .ok else {
            return recorded(caseName: item.header.name, in: item.file, outputShape: nil)
        }
        let problem: DeformConvProblem
        do throws(DeformConvError) {
            problem = try item.problem()
        } catch {
            return .unavailable("expected ok, SPEC section 2 validation raised \(error) (the golden case is inconsistent)")
        }
        return recorded(caseName: item.header.name, in: item.file, outputShape: problem.outputShape)
    }
}

/// Reads one recorded array or error from an HDF5 group, with the checks every provider needs.
enum RecordedReader {
    /// The dataset `field` of `group` as Float64, when its type is a float and its shape is `shape`.
    static func output(_ group: Group, _ field: String, shape: [Int], where place: String) -> CaseOutcome {
        do {
            let info = try group.datasetInfo(field)
            guard case let .float(bits) = info.type, [16, 32, 64].contains(bits) else {
                return .unavailable("\(place): '\(field)' is stored as \(info.type); recorded outputs must be float16, float32 or float64")
            }
            guard info.shape == shape else {
                return .unavailable("\(place): '\(field)' has shape \(info.shape), the output shape is \(shape) (N, Co, Ho, Wo)")
            }
            let (stored, values) = try group.read(field, as: Double.self)
            guard stored == shape, values.count == shape.reduce(1, *) else {
                return .unavailable("\(place): '\(field)' holds \(values.count) elements of shape \(stored), the output shape is \(shape)")
            }
            return .output(values: values, storedType: "float\(bits)", seconds: nil)
        } catch {
            return .unavailable("\(place): cannot read '\(field)': \(error)")
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
public struct FrameworkOutputsSource: RecordedSource {
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

    public var identity: SourceIdentity {
        SourceIdentity(name: name, uAcc: accumulationUnitRoundoff, uS: samplingUnitRoundoff, summary: summary)
    }

    public var errorAttribute: String {
        (dataset.hasPrefix("y_") ? String(dataset.dropFirst(2)) : dataset) + "_error"
    }

    public var summary: String {
        "results recorded in the golden file itself: dataset \(dataset), attribute \(errorAttribute) (the case's `framework` attribute names the framework)"
    }

    public func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> CaseOutcome {
        let place = "\(goldenFile): case '\(caseName)'"
        let file: File
        do { file = try File.open(goldenFile) } catch { return .unavailable("\(place): \(error)") }
        defer { file.close() }
        let group: Group
        do { group = try file.root.openGroup(GoldenSchema.casesGroup).openGroup(caseName) } catch { return .unavailable("\(place): \(error)") }
        if let outputShape, group.contains(dataset) {
            return RecordedReader.output(group, dataset, shape: outputShape, where: place)
        }
        if let text = group.stringAttribute(errorAttribute) {
            return Self.parse(frameworkError: text)
        }
        if outputShape == nil, group.contains(dataset) {
            return .output(values: [], storedType: "", seconds: nil)
        }
        return .unavailable("no outputs recorded for this case: no '\(dataset)' dataset or '\(errorAttribute)' attribute in \(place)")
    }

    /// "<Class>: <message>", "accepted", "not run: <why>".
    public static func parse(frameworkError text: String) -> CaseOutcome {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed == "accepted" || trimmed.hasPrefix("accepted") { return .accepted(note: trimmed == "accepted" ? nil : trimmed) }
        if trimmed.hasPrefix("not run") { return .unavailable("no outputs recorded for this case (\(trimmed))") }
        if let colon = trimmed.range(of: ":") {
            let errorClass = String(trimmed[..<colon.lowerBound])
            if !errorClass.isEmpty, !errorClass.contains(" ") {
                let message = trimmed[colon.upperBound...].trimmingCharacters(in: .whitespaces)
                return .rejected(errorClass: errorClass, code: nil, message: message.isEmpty ? nil : message)
            }
        }
        return .rejected(errorClass: trimmed, code: nil, message: nil)
    }
}
