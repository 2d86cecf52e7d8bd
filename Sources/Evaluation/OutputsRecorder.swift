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
            var malformed = try record(.forward, of: item, to: writer, &summary)
            if malformed == nil, source.passes.contains(.backward), header.isBackward {
                malformed = try record(.backward, of: item, to: writer, &summary)
            }
            if let malformed { summary.skipped.append((name, "malformed case: \(malformed)")) }
        }
        return summary
    }

    /// What one pass of a case leaves in the outputs file.
    private enum PassRecord {
        /// The output or the gradients, written by the closure.
        case values(write: () throws(OutputsFileError) -> Void)
        /// The call was rejected, or the run failed (`KernelFailure`, which replays as a failed case).
        case error(errorClass: String, code: String?, message: String)
        /// Nothing to record.
        case nothing

        init(_ error: DeformConvError) {
            self = .error(errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
        }

        static func kernelFailure(_ message: String) -> PassRecord { .error(errorClass: "KernelFailure", code: nil, message: message) }
    }

    /// Records one pass of `item` and counts it; returns why the case is malformed when its data
    /// cannot be read; throws when the file cannot be written.
    private func record(_ pass: KernelPass, of item: EvaluationCase, to writer: OutputsFileWriter, _ summary: inout Summary) throws(OutputsFileError) -> CaseDataError? {
        let record: PassRecord
        do throws(CaseDataError) {
            record = try pass == .forward ? forwardRecord(item, writer) : backwardRecord(item, writer)
        } catch {
            return error
        }
        switch (record, pass) {
        case let (.values(write), _):
            try write()
            if pass == .forward { summary.outputs += 1 } else { summary.gradients += 1 }
        case let (.error(errorClass, code, message), .forward):
            try writer.writeError(item.header.name, errorClass: errorClass, code: code, message: message)
            summary.errors += 1
        case let (.error(errorClass, code, message), .backward):
            try writer.writeBackwardError(item.header.name, errorClass: errorClass, code: code, message: message)
            summary.backwardErrors += 1
        case (.nothing, _):
            break
        }
        return nil
    }

    /// Evaluated as for verify, except that a call the source accepts is run even when the case
    /// expects an error: its output is what a later verify reports as "accepted".
    private func forwardRecord(_ item: EvaluationCase, _ writer: OutputsFileWriter) throws(CaseDataError) -> PassRecord {
        let problem: DeformConvProblem
        do throws(DeformConvError) {
            problem = try source.validate(item.header.arguments, limits: limits)
        } catch {
            return PassRecord(error)
        }
        switch try source.run(problem, on: item) {
        case let .output(values, storedType, _):
            return .values { () throws(OutputsFileError) in
                if storedType == "float16" {
                    try writer.writeOutput(item.header.name, shape: problem.outputShape, values: values.map { Float16($0) })
                } else {
                    try writer.writeOutput(item.header.name, shape: problem.outputShape, values: values.map { Float($0) })
                }
            }
        case .rejected, .accepted:
            preconditionFailure("a computing source's run gives an output or a failure")
        case let .unavailable(failure):
            return .kernelFailure(failure)
        case let .guardViolation(violations):
            return .kernelFailure(FailureText.guardViolations(violations))
        }
    }

    /// The backward as `ComputingSource.backwardOutcome` gives it, except that, as for the forward,
    /// a backward call the source accepts is run even when the case expects an error.
    private func backwardRecord(_ item: EvaluationCase, _ writer: OutputsFileWriter) throws(CaseDataError) -> PassRecord {
        let problem: DeformConvProblem
        switch source.validateBackward(item) {
        case nil: return .nothing
        case let .failure(error)?: return PassRecord(error)
        case let .success(validated)?: problem = validated
        }
        switch try source.runBackward(problem, on: item) {
        case let .gradients(gradients, _):
            return .values { () throws(OutputsFileError) in
                if problem.dtype == .float16 {
                    try writer.writeGradients(item.header.name, problem: problem, gradients: gradients.map { Float16($0) })
                } else {
                    try writer.writeGradients(item.header.name, problem: problem, gradients: gradients.map { Float($0) })
                }
            }
        case .notImplemented:
            // The source declares a backward pass it does not have for this case: nothing to record,
            // which a later verify reports as no gradients recorded.
            return .nothing
        case .rejected:
            preconditionFailure("a computing source's backward run gives gradients or a failure")
        case let .unavailable(failure):
            return .kernelFailure(failure)
        case let .guardViolation(violations):
            return .kernelFailure(FailureText.guardViolations(violations))
        }
    }
}
