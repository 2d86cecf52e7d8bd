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
    /// What was recorded for the backward pass of case `caseName`, which has `gy`. `problem` is a
    /// valid case's validated problem, whose shapes the gradients must have (nil for an error
    /// case: recorded gradients are then an accepted call, not read).
    func recordedGradients(caseName: String, in goldenFile: String, problem: DeformConvProblem?) -> BackwardOutcome
}

extension RecordedSource {
    /// Error cases look up what was recorded; valid cases are validated by SPEC section 2 first,
    /// for the shape the recorded output must have.
    public func outcome(for item: EvaluationCase) throws(CaseDataError) -> CaseOutcome {
        switch Self.validatedProblem(of: item) {
        case let .success(problem): recorded(caseName: item.header.name, in: item.file, outputShape: problem?.outputShape)
        case let .failure(inconsistent): .unavailable(inconsistent.description)
        }
    }

    /// The backward outcome, when the source records a backward pass at all; valid cases are
    /// validated first, as for the forward, for the shapes of the gradients.
    public func backwardOutcome(for item: EvaluationCase) throws(CaseDataError) -> BackwardOutcome {
        guard passes.contains(.backward) else { return .notImplemented }
        return switch Self.validatedProblem(of: item) {
        case let .success(problem): recordedGradients(caseName: item.header.name, in: item.file, problem: problem)
        case let .failure(inconsistent): .unavailable(inconsistent.description)
        }
    }

    /// A valid case's problem, nil for an error case; a failure when a case that expects ok does not validate.
    private static func validatedProblem(of item: EvaluationCase) -> Result<DeformConvProblem?, RecordFailure> {
        guard item.header.expect == .ok else { return .success(nil) }
        do throws(DeformConvError) {
            return .success(try item.problem())
        } catch {
            return .failure(RecordFailure(description: "expected ok, SPEC section 2 validation raised \(error) (the golden case is inconsistent)"))
        }
    }
}

/// Why a record cannot be scored, with the place (and the field) in the message.
struct RecordFailure: Error {
    var description: String
}

/// Reads one recorded array or error from an HDF5 group, with the checks every provider needs.
enum RecordedReader {
    /// `body` on the group `/cases/<caseName>` of the HDF5 file at `path`, closed after it; `failed`
    /// with why when the file cannot be read or has no such group.
    static func withCaseGroup<R>(_ path: String, _ caseName: String, failed: (String) -> R, _ body: (Group) -> R) -> R {
        let file: File
        let group: Group
        do {
            file = try File.open(path)
            let cases = try file.root.openGroup(GoldenSchema.casesGroup)
            guard cases.contains(caseName) else { return failed("\(path) has no group /cases/\(caseName)") }
            group = try cases.openGroup(caseName)
        } catch {
            return failed("\(path): case '\(caseName)': \(error)")
        }
        defer { file.close() }
        return body(group)
    }

    /// The dataset `field` of `group` as Float64, when its type is a float and its shape is `shape`.
    static func output(_ group: Group, _ field: String, shape: [Int], where place: String) -> CaseOutcome {
        switch array(group, field, shape: shape, expected: "the output shape is \(shape) (N, Co, Ho, Wo)", where: place) {
        case let .success((values, bits)): .output(values: values, storedType: "float\(bits)", seconds: nil)
        case let .failure(failure): .unavailable(failure.description)
        }
    }

    /// The gradient datasets `gx`, `gweight`, `goffsets` (and `gbias` when the problem has a bias),
    /// each name followed by `suffix`, each checked against its tensor's shape before it is read.
    static func gradients(_ group: Group, suffix: String, problem: DeformConvProblem, where place: String) -> BackwardOutcome {
        let fields = OutputsSchema.gradientFields.map { $0 + suffix }
        var tensors = [(fields[0], "x", problem.xShape), (fields[1], "weight", problem.weightShape), (fields[2], "offsets", problem.offsetsShape)]
        if problem.hasBias {
            tensors.append((fields[3], "bias", [problem.outputChannels]))
        } else if group.contains(fields[3]) {
            return .unavailable("\(place): '\(fields[3])' is recorded but the case has no bias")
        }
        var read: [[Double]] = []
        for (field, tensor, shape) in tensors {
            guard group.contains(field) else {
                return .unavailable("\(place): '\(field)' is missing; the case's gradients are \(tensors.map { "'\($0.0)'" }.joined(separator: ", "))")
            }
            switch array(group, field, shape: shape, expected: "the shape of \(tensor) is \(shape)", where: place) {
            case let .success((values, _)): read.append(values)
            case let .failure(failure): return .unavailable(failure.description)
            }
        }
        return .gradients(DeformConvGradients(gx: read[0], gweight: read[1], goffsets: read[2], gbias: read.count > 3 ? read[3] : nil), seconds: nil)
    }

    /// The dataset `field` as Float64 and its stored float width; the type and the shape are
    /// checked before any data is read (a hostile file may declare terabytes). `expected` says
    /// what the shape should be, for the message.
    private static func array(_ group: Group, _ field: String, shape: [Int], expected: String,
                              where place: String) -> Result<([Double], Int), RecordFailure> {
        do {
            let info = try group.datasetInfo(field)
            guard case let .float(bits) = info.type, [16, 32, 64].contains(bits) else {
                return .failure(RecordFailure(description: "\(place): '\(field)' is stored as \(info.type); recorded outputs must be float16, float32 or float64"))
            }
            guard info.shape == shape else {
                return .failure(RecordFailure(description: "\(place): '\(field)' has shape \(info.shape), \(expected)"))
            }
            let (stored, values) = try group.read(field, as: Double.self)
            guard stored == shape, values.count == shape.reduce(1, *) else {
                return .failure(RecordFailure(description: "\(place): '\(field)' holds \(values.count) elements of shape \(stored), \(expected)"))
            }
            return .success((values, bits))
        } catch {
            return .failure(RecordFailure(description: "\(place): cannot read '\(field)': \(error)"))
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
public struct FrameworkOutputsSource: RecordedSource, NamedImplementation {
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

    public var passes: Set<KernelPass> { [.forward, .backward] }

    /// The attribute recording a backward call that gave no gradients, in the form of
    /// `errorAttribute`: `framework_backward_error` beside `framework_error`, `gpu_backward_error`
    /// beside `gpu_error`.
    public var backwardErrorAttribute: String {
        String(errorAttribute.dropLast("_error".count)) + "_backward_error"
    }

    /// What follows the gradients' names: `gx_framework` beside `y_framework`, `gx_gpu` beside
    /// `y_gpu`; nil (no gradients) for a dataset not named `y_*`.
    public var gradientSuffix: String? {
        dataset.hasPrefix("y_") ? String(dataset.dropFirst(1)) : nil
    }

    public var summary: String {
        "results recorded in the golden file itself: dataset \(dataset), attribute \(errorAttribute)"
            + (gradientSuffix.map { ", gradients g*\($0) or attribute \(backwardErrorAttribute)" } ?? "")
            + " (the case's `framework` attribute names the framework)"
    }

    public func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> CaseOutcome {
        RecordedReader.withCaseGroup(goldenFile, caseName, failed: { .unavailable($0) }) { group in
            recorded(group, place: "\(goldenFile): case '\(caseName)'", outputShape: outputShape)
        }
    }

    private func recorded(_ group: Group, place: String, outputShape: [Int]?) -> CaseOutcome {
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

    /// The framework's gradients when the case records any (SPEC section 4's `g*_framework`);
    /// otherwise what `backwardErrorAttribute` says the backward call did ("<Class>: <message>",
    /// "accepted", "not run: <why>", "crashed: …", as `parse(frameworkError:)` reads them); a case
    /// with neither is not implemented, since a framework file may hold gradients for some cases only.
    public func recordedGradients(caseName: String, in goldenFile: String, problem: DeformConvProblem?) -> BackwardOutcome {
        guard let suffix = gradientSuffix else { return .notImplemented }
        return RecordedReader.withCaseGroup(goldenFile, caseName, failed: { .unavailable($0) }) { group in
            guard OutputsSchema.gradientFields.contains(where: { group.contains($0 + suffix) }) else {
                guard let text = group.stringAttribute(backwardErrorAttribute) else { return .notImplemented }
                return switch Self.parse(frameworkError: text) {
                case let .rejected(errorClass, code, message): .rejected(errorClass: errorClass, code: code, message: message)
                case let .unavailable(why): .unavailable(why.replacingOccurrences(of: "no outputs recorded", with: "no gradients recorded"))
                case let .guardViolation(violations): .guardViolation(violations)  // parse never gives one
                case .accepted, .output:
                    problem == nil
                        ? .gradients(DeformConvGradients(gx: [], gweight: [], goffsets: []), seconds: nil)
                        : .unavailable("\(goldenFile): case '\(caseName)': \(backwardErrorAttribute) says the backward call was accepted, but no gradients are recorded")
                }
            }
            guard let problem else { return .gradients(DeformConvGradients(gx: [], gweight: [], goffsets: []), seconds: nil) }
            return RecordedReader.gradients(group, suffix: suffix, problem: problem, where: "\(goldenFile): case '\(caseName)'")
        }
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
