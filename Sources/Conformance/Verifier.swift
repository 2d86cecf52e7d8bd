import DeformConv
import Foundation

/// The outcome of one (case, kernel) pair.
public struct CaseResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, fail }

    public var file: String
    public var caseName: String
    public var kernel: String
    /// "ok", "TypeError" or "ValueError", as the case says; "malformed" when the case could not be read.
    public var expect: String
    public var expectedErrorCode: String?
    public var status: Status
    /// The code the kernel path raised, for error cases and for valid cases it wrongly rejected.
    public var errorCode: String?
    public var errorClass: String?
    /// Why it failed, or the message the kernel path raised.
    public var message: String?
    public var tags: [String]
    public var dtype: String?
    /// Largest error/bound over the output (SPEC section 3); valid cases only.
    public var ratio: Double?
    public var accuracy: AccuracyStats?
    /// More than half the outputs equal their bias (SPEC section 3).
    public var weak: Bool?
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case file, caseName = "case", kernel, expect, expectedErrorCode, status, errorCode, errorClass, message
        case tags, dtype, ratio, accuracy, weak, seconds
    }
}

/// A file that could not be opened or listed at all.
public struct UnreadableFile: Codable, Sendable {
    public var file: String
    public var message: String
}

public struct KernelDescription: Codable, Sendable {
    public var name: String
    public var uAcc: Double
    public var uS: Double
    public var summary: String

    public init(_ kernel: any DeformConvKernel) {
        name = kernel.name
        uAcc = kernel.accumulationUnitRoundoff
        uS = kernel.samplingUnitRoundoff
        summary = kernel.summary
    }
}

/// Everything one `dcn verify` run found; `--json` writes it as is.
public struct VerifyReport: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var passed = 0
        public var failed = 0
        public var files = 0
        public var cases = 0
        public var unreadableFiles = 0
    }

    public var summary = Summary()
    public var kernels: [KernelDescription] = []
    public var results: [CaseResult] = []
    public var unreadable: [UnreadableFile] = []

    /// SPEC section 6: 0 all pass, 1 any case fails, 2 no case could be read.
    public var exitCode: Int32 {
        if summary.cases == 0 { return 2 }
        return summary.failed == 0 && unreadable.isEmpty ? 0 : 1
    }
}

/// Bad usage of `verify`: a path that does not exist, an unknown kernel.
public struct VerifyUsageError: Error, CustomStringConvertible {
    public var description: String
}

/// How far a run has come, for a progress line.
public struct VerifyProgress: Sendable {
    public var done: Int
    public var total: Int
    public var file: String
    public var caseName: String
}

/// The verify driver: every case of every file through every kernel, one loop
/// shared by all kernels (after benchdnn's driver).
public struct Verifier: Sendable {
    public var kernels: [any DeformConvKernel]
    public var limits: ResourceLimits

    public init(kernels: [any DeformConvKernel], limits: ResourceLimits = .standard) {
        self.kernels = kernels
        self.limits = limits
    }

    /// The golden files under `paths`: files as given, folders searched for `*.h5`, sorted.
    public static func goldenFiles(in paths: [String]) throws(VerifyUsageError) -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw VerifyUsageError(description: "no such file or folder: \(path)")
            }
            if isDirectory.boolValue {
                let found = (manager.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                    .filter { $0.hasSuffix(".h5") }.sorted()
                files += found.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }

    public func run(files: [String], progress: (VerifyProgress) -> Void = { _ in }) -> VerifyReport {
        var report = VerifyReport()
        report.kernels = kernels.map(KernelDescription.init)
        var opened: [(String, GoldenFileReader, [String])] = []
        for file in files {
            do {
                let reader = try GoldenFileReader(path: file)
                opened.append((file, reader, try reader.caseNames()))
            } catch {
                report.unreadable.append(UnreadableFile(file: file, message: error.description))
            }
        }
        report.summary.files = files.count
        report.summary.unreadableFiles = report.unreadable.count
        let total = opened.reduce(0) { $0 + $1.2.count }
        var done = 0
        for (file, reader, names) in opened {
            for name in names {
                done += 1
                progress(VerifyProgress(done: done, total: total, file: file, caseName: name))
                report.results += check(name, in: reader, file: file)
                report.summary.cases += 1
            }
        }
        report.summary.passed = report.results.count { $0.status == .pass }
        report.summary.failed = report.results.count - report.summary.passed
        return report
    }

    /// One case through every kernel. A malformed case fails for every kernel; the run goes on.
    func check(_ name: String, in reader: GoldenFileReader, file: String) -> [CaseResult] {
        let header: CaseHeader
        do {
            header = try reader.header(of: name)
        } catch {
            return kernels.map { kernel in
                CaseResult(file: file, caseName: name, kernel: kernel.name, expect: "malformed", status: .fail,
                           message: "malformed case: \(error.description)", tags: [])
            }
        }
        var data = CaseData(reader: reader, header: header, limits: limits)
        return kernels.map { kernel in
            var result = CaseResult(file: file, caseName: name, kernel: kernel.name, expect: header.expect.expectAttribute,
                                    status: .fail, tags: header.tags, dtype: "\(header.arguments.x.dtype)")
            if case let .error(code) = header.expect { result.expectedErrorCode = code.rawValue }
            let problem: DeformConvProblem
            do throws(DeformConvError) {
                problem = try kernel.validate(header.arguments, limits: limits)
            } catch {
                result.errorCode = error.code.rawValue
                result.errorClass = error.exceptionClass.rawValue
                result.message = error.message
                if header.expect == .error(error.code) {
                    result.status = .pass
                } else {
                    result.message = "expected \(header.expect), raised \(error)"
                }
                return result
            }
            guard header.expect == .ok else {
                result.message = "expected \(header.expect), the kernel accepted the call"
                return result
            }
            do {
                let (golden, inputs) = try data.load(problem)
                let clock = ContinuousClock()
                var output: [Double] = []
                let elapsed = clock.measure {
                    output = switch inputs {
                    case let .float32(values): kernel.run(problem, values).map(Double.init)
                    case let .float16(values): kernel.run(problem, values).map(Double.init)
                    }
                }
                result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                let tolerance = Tolerance(kernel: kernel, problem: problem, storedType: header.outputType, exact: header.isExact)
                let stats = AccuracyStats(got: output, expected: golden.y, yAbs: golden.yAbs!, yPos: golden.yPos!,
                                          shape: problem.outputShape, tolerance: tolerance)
                result.accuracy = stats
                result.ratio = stats.worstRatio
                result.weak = data.weak
                result.status = stats.passed ? .pass : .fail
                if !stats.passed {
                    result.message = "\(stats.failedElements) of \(stats.elements) elements outside the bound; worst ratio \(Report.format(ratio: stats.worstRatio))"
                }
            } catch {
                result.message = "malformed case: \(error)"
            }
            return result
        }
    }
}

/// The data of one case, read once and shared by every kernel.
struct CaseData {
    enum Inputs {
        case float32(DeformConvInputs<Float>)
        case float16(DeformConvInputs<Float16>)
    }

    let reader: GoldenFileReader
    let header: CaseHeader
    let limits: ResourceLimits
    private var cached: (GoldenOutput, Inputs)?
    private(set) var weak: Bool?

    init(reader: GoldenFileReader, header: CaseHeader, limits: ResourceLimits) {
        self.reader = reader
        self.header = header
        self.limits = limits
    }

    /// The golden output (with y_abs and y_pos, computed by the reference when the file lacks them) and the inputs.
    mutating func load(_ problem: DeformConvProblem) throws -> (GoldenOutput, Inputs) {
        if let cached { return cached }
        let name = header.name
        var golden = try reader.output(of: name, problem: problem)
        let inputs: Inputs
        let widened: DeformConvInputs<Double>
        switch problem.dtype {
        case .float16:
            let values = try reader.inputs(of: name, problem: problem, as: Float16.self)
            inputs = .float16(values)
            widened = values.map(Double.init)
        default:
            let values = try reader.inputs(of: name, problem: problem, as: Float.self)
            inputs = .float32(values)
            widened = values.map(Double.init)
        }
        if golden.yAbs == nil || golden.yPos == nil {
            let reference = ReferenceKernel().evaluate(problem, widened)
            golden.yAbs = golden.yAbs ?? reference.yAbs
            golden.yPos = golden.yPos ?? reference.yPos
        }
        weak = SuiteGenerator.isWeak(golden.y, widened.bias, problem)
        cached = (golden, inputs)
        return (golden, inputs)
    }
}
