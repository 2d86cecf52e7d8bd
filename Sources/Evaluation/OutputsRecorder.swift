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
/// the raised error's `error_class`, `error_code` and `error_message`. A malformed case is left
/// out (the verifier reports it as malformed for every kernel anyway) and listed in `skipped`.
public struct OutputsRecorder: Sendable {
    public struct Summary: Sendable {
        public var outputs = 0
        public var errors = 0
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
            // Evaluated as for verify, except that a call the source accepts is run even when the
            // case expects an error: its output is what a later verify reports as "accepted".
            let problem: DeformConvProblem
            do throws(DeformConvError) {
                problem = try source.validate(header.arguments, limits: limits)
            } catch {
                try writer.writeError(name, errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
                summary.errors += 1
                continue
            }
            let outcome: CaseOutcome
            do throws(CaseDataError) {
                outcome = try source.run(problem, on: item)
            } catch {
                summary.skipped.append((name, "malformed case: \(error)"))
                continue
            }
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
            }
        }
        return summary
    }
}
