import DeformConv
import HDF5
import Foundation
import Formats
import Scoring
import Suites

/// `dcn run`: one kernel's result for every case of a golden file, written as an outputs file
/// (see `OutputsSchema`) so that it can be scored later or elsewhere with `dcn verify --outputs`.
///
/// For each case: the output `y` in the case's dtype, or, when the kernel path rejects the call,
/// the raised error's `error_class`, `error_code` and `error_message`. For a case with `gy` and a
/// source with a backward pass, beside that: the gradients `gx`, `gweight`, `goffsets`, `gbias` in
/// the case's dtype, or the backward's `backward_error_class`, `backward_error_code` and
/// `backward_error_message`. A malformed case is left out (the verifier reports it as malformed
/// for every kernel anyway) and listed in `skipped`.
public struct OutputsRecorder: Sendable {
    public struct Summary: Sendable {
        public var outputs = 0
        public var errors = 0
        /// Backward cases whose gradients were recorded, and those whose backward call was rejected or failed.
        public var gradients = 0
        public var backwardErrors = 0
        /// Cases left out, with why.
        public var skipped: [(name: String, why: String)] = []
    }

    public var source: any ComputingSource
    public var limits: ResourceLimits

    public init(source: any ComputingSource, limits: ResourceLimits = .standard) {
        self.source = source
        self.limits = limits
    }

    /// Records the cases of `golden` for which `include` is true (default: all).
    public func record(golden: String, to path: String, producer: String, include: (String) -> Bool = { _ in true },
                       progress: (Int, Int, String) -> Void = { _, _, _ in }) throws(OutputsFileError) -> Summary {
        let (reader, names): (GoldenFileReader, [String])
        do { (reader, names) = try GoldenFileReader.opening(golden) } catch { throw OutputsFileError(error.description) }
        let identity = source.identity
        let writer = try OutputsFileWriter(path: path, producer: producer, golden: golden, kernel: identity.name,
                                           uAcc: identity.uAcc, uS: identity.uS)
        defer { writer.close() }
        var summary = Summary()
        for (index, name) in names.enumerated() where include(name) {
            progress(index, names.count, name)
            let header: CaseHeader
            do { header = try reader.header(of: name) } catch {
                summary.skipped.append((name, "malformed case: \(error.description)"))
                continue
            }
            let item = EvaluationCase(reader: reader, header: header, limits: limits)
            var malformed = try recordForward(item, to: writer, &summary)
            if malformed == nil, source.passes.contains(.backward), header.isBackward {
                malformed = try recordBackward(item, to: writer, &summary)
            }
            if let malformed { summary.skipped.append((name, "malformed case: \(malformed)")) }
        }
        return summary
    }

    /// Evaluated as for verify, except that a call the source accepts is run even when the case
    /// expects an error: its output is what a later verify reports as "accepted". Returns why the
    /// case is malformed when its data cannot be read; throws when the file cannot be written.
    private func recordForward(_ item: EvaluationCase, to writer: OutputsFileWriter, _ summary: inout Summary) throws(OutputsFileError) -> CaseDataError? {
        let name = item.header.name
        let problem: DeformConvProblem
        do throws(DeformConvError) {
            problem = try source.validate(item.header.arguments, limits: limits)
        } catch {
            try writer.writeError(name, errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
            summary.errors += 1
            return nil
        }
        let outcome: CaseOutcome
        do throws(CaseDataError) { outcome = try source.run(problem, on: item) } catch { return error }
        switch outcome {
        case let .output(values, storedType, _):
            if storedType == "float16" {
                try writer.writeOutput(name, shape: problem.outputShape, values: values.map { Float16($0) })
            } else {
                try writer.writeOutput(name, shape: problem.outputShape, values: values.map { Float($0) })
            }
            summary.outputs += 1
        case .rejected, .accepted:
            preconditionFailure("a computing source's run gives an output or a failure")
        case let .unavailable(failure):
            // A run the source reports as failed is recorded as such, and replays as a failed case.
            try writer.writeError(name, errorClass: "KernelFailure", code: nil, message: failure)
            summary.errors += 1
        case let .guardViolation(violations):
            try writer.writeError(name, errorClass: "KernelFailure", code: nil, message: FailureText.guardViolations(violations))
            summary.errors += 1
        }
        return nil
    }

    /// The backward as `ComputingSource.backwardOutcome` gives it, except that, as for the forward,
    /// a backward call the source accepts is run even when the case expects an error.
    private func recordBackward(_ item: EvaluationCase, to writer: OutputsFileWriter, _ summary: inout Summary) throws(OutputsFileError) -> CaseDataError? {
        let name = item.header.name
        let problem: DeformConvProblem
        switch source.validateBackward(item) {
        case nil: return nil
        case let .failure(error)?:
            try writer.writeBackwardError(name, errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
            summary.backwardErrors += 1
            return nil
        case let .success(validated)?: problem = validated
        }
        let outcome: BackwardOutcome
        do throws(CaseDataError) { outcome = try source.runBackward(problem, on: item) } catch { return error }
        switch outcome {
        case let .gradients(gradients, _):
            if problem.dtype == .float16 {
                try writer.writeGradients(name, problem: problem, gradients: gradients.map { Float16($0) })
            } else {
                try writer.writeGradients(name, problem: problem, gradients: gradients.map { Float($0) })
            }
            summary.gradients += 1
        case .notImplemented:
            // The source declares a backward pass it does not have for this case: nothing to record,
            // which a later verify reports as no gradients recorded.
            break
        case .rejected:
            preconditionFailure("a computing source's backward run gives gradients or a failure")
        case let .unavailable(failure):
            try writer.writeBackwardError(name, errorClass: "KernelFailure", code: nil, message: failure)
            summary.backwardErrors += 1
        case let .guardViolation(violations):
            try writer.writeBackwardError(name, errorClass: "KernelFailure", code: nil, message: FailureText.guardViolations(violations))
            summary.backwardErrors += 1
        }
        return nil
    }
}
