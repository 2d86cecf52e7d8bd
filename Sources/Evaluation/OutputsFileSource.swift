import DeformConv
import Foundation
import HDF5
import Formats
import Scoring
import Suites

/// `dcn verify --outputs OUT.h5`: the outputs an implementation recorded in an outputs file,
/// scored like a kernel with the given units.
public struct OutputsFileSource: RecordedSource, NamedImplementation {
    public var path: String
    public var name: String
    public var accumulationUnitRoundoff: Double
    public var samplingUnitRoundoff: Double
    public var producer: String?
    /// [.forward], plus .backward when the file records any gradient or backward error
    /// (`OutputsFileInfo.recordsBackward`): a forward-only file's backward is not implemented.
    public var passes: Set<KernelPass>
    /// The layout of the recorded goffsets, converted back to dcn's when read.
    public var layout: OffsetsLayout

    public init(path: String, name: String, uAcc: Double, uS: Double, producer: String? = nil, passes: Set<KernelPass> = [.forward],
                layout: OffsetsLayout = .dcn) {
        self.layout = layout
        self.path = path
        self.name = name
        accumulationUnitRoundoff = uAcc
        samplingUnitRoundoff = uS
        self.producer = producer
        self.passes = passes
    }

    public var summary: String {
        "outputs recorded in \(path)" + (producer.map { " by \($0)" } ?? "")
    }

    public func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> CaseOutcome {
        withCaseGroup(caseName, missing: { .unavailable("no outputs recorded for this case: \($0)") }) { group, place in
            if let error = Self.recordedError(group, OutputsSchema.forwardError) {
                return .rejected(errorClass: error.errorClass, code: error.code, message: error.message)
            }
            guard group.contains("y") else {
                return .unavailable("no outputs recorded for this case: \(place) has neither a 'y' dataset nor an 'error_class' attribute")
            }
            guard let outputShape else { return .output(values: [], storedType: "", seconds: nil) }
            return RecordedReader.output(group, "y", shape: outputShape, where: place)
        }
    }

    /// The recorded gradients, a recorded backward error, or the forward's error when the case
    /// records only that (the backward validation runs the forward's first, SPEC section 7).
    public func recordedGradients(caseName: String, in goldenFile: String, problem: DeformConvProblem?) -> BackwardOutcome {
        withCaseGroup(caseName, missing: { .unavailable("no gradients recorded for this case: \($0)") }) { group, place in
            if let error = Self.recordedError(group, OutputsSchema.backwardError) {
                return .rejected(errorClass: error.errorClass, code: error.code, message: error.message)
            }
            guard OutputsSchema.gradientFields.contains(where: group.contains) else {
                if let error = Self.recordedError(group, OutputsSchema.forwardError) {
                    return .rejected(errorClass: error.errorClass, code: error.code, message: error.message)
                }
                return .unavailable("no gradients recorded for this case: \(place) has no 'gx', 'gweight', 'goffsets' or 'gbias' dataset "
                                    + "and no '\(OutputsSchema.backwardError.errorClass)' attribute")
            }
            guard let problem else { return .gradients(DeformConvGradients(gx: [], gweight: [], goffsets: []), seconds: nil) }
            let outcome = RecordedReader.gradients(group, suffix: "", problem: problem, where: place)
            guard layout != .dcn, case .gradients(var gradients, let seconds) = outcome else { return outcome }
            gradients.goffsets = layout.toDcn(gradients.goffsets, batch: problem.batch, taps: problem.offsetTaps,
                                              pixels: problem.outputHeight * problem.outputWidth)
            return .gradients(gradients, seconds: seconds)
        }
    }

    /// `body` on the case's group and its place for messages; `missing` with why when the file
    /// cannot be read or has no such group.
    private func withCaseGroup<R>(_ caseName: String, missing: (String) -> R, _ body: (Group, String) -> R) -> R {
        RecordedReader.withCaseGroup(path, caseName, failed: { missing("outputs file \($0)") }) { group in
            body(group, "outputs file \(path): case '\(caseName)'")
        }
    }

    private static func recordedError(_ group: Group, _ names: OutputsSchema.ErrorAttributes) -> (errorClass: String, code: String?, message: String?)? {
        guard let errorClass = group.stringAttribute(names.errorClass) else { return nil }
        return (errorClass, group.stringAttribute(names.code), group.stringAttribute(names.message))
    }
}
