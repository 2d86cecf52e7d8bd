import DeformConv
import HDF5
import Foundation

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

    public var kernel: any DeformConvKernel
    public var limits: ResourceLimits

    public init(kernel: any DeformConvKernel, limits: ResourceLimits = .standard) {
        self.kernel = kernel
        self.limits = limits
    }

    /// Records the cases of `golden` for which `include` is true (default: all).
    public func record(golden: String, to path: String, producer: String, include: (String) -> Bool = { _ in true },
                       progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Summary {
        guard !(kernel is any RecordedOutputsKernel) else {
            throw OutputsFileError("'\(kernel.name)' is a recorded source, not a kernel: there is nothing to run")
        }
        let reader: GoldenFileReader
        let names: [String]
        do {
            reader = try GoldenFileReader(path: golden)
            names = try reader.caseNames()
        } catch {
            throw OutputsFileError(error.description)
        }
        let writer = try OutputsFileWriter(path: path, producer: producer, golden: golden, kernel: kernel.name,
                                           uAcc: kernel.accumulationUnitRoundoff, uS: kernel.samplingUnitRoundoff)
        defer { writer.close() }
        var summary = Summary()
        for (index, name) in names.enumerated() where include(name) {
            progress(index, names.count, name)
            let header: CaseHeader
            do { header = try reader.header(of: name) } catch {
                summary.skipped.append((name, "malformed case: \(error.description)"))
                continue
            }
            let problem: DeformConvProblem
            do throws(DeformConvError) {
                problem = try kernel.validate(header.arguments, limits: limits)
            } catch {
                try writer.writeError(name, errorClass: error.exceptionClass.rawValue, code: error.code.rawValue, message: error.message)
                summary.errors += 1
                continue
            }
            // The kernel's output, or the failure it reported instead of one.
            func record<T: HDF5Element>(_ y: [T]) throws {
                if let failure = (kernel as? any FallibleKernel)?.takeRunFailure() {
                    try writer.writeError(name, errorClass: "KernelFailure", code: nil, message: failure)
                    summary.errors += 1
                } else {
                    try writer.writeOutput(name, shape: problem.outputShape, values: y)
                    summary.outputs += 1
                }
            }
            do {
                switch problem.dtype {
                case .float16: try record(kernel.run(problem, try reader.inputs(of: name, problem: problem, as: Float16.self)))
                default: try record(kernel.run(problem, try reader.inputs(of: name, problem: problem, as: Float.self)))
                }
            } catch let error as OutputsFileError {
                throw error
            } catch {
                summary.skipped.append((name, "malformed case: \(error)"))
            }
        }
        return summary
    }
}
