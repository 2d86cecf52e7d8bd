import DeformConv
import Formats
import Scoring
import Suites

/// A case's inputs in the dtype the case stores them in.
public enum CaseInputs: Sendable {
    case float32(DeformConvInputs<Float>)
    case float16(DeformConvInputs<Float16>)

    /// The inputs widened to Float64 (exact), as the reference reads them.
    public var widened: DeformConvInputs<Double> {
        switch self {
        case let .float32(values): values.map(Double.init)
        case let .float16(values): values.map(Double.init)
        }
    }
}

/// A backward case's incoming gradient gy in the case's dtype.
public enum GradientInput: Sendable {
    case float32([Float])
    case float16([Float16])

    public var widened: [Double] {
        switch self {
        case let .float32(values): values.map(Double.init)
        case let .float16(values): values.map(Double.init)
        }
    }
}

/// A case's data could not be read: the case is malformed, whichever source looks at it.
public enum CaseDataError: Error, Sendable, CustomStringConvertible {
    /// The golden file could not give it; the error names the file, the case and the field.
    case unreadable(GoldenFileError)
    /// The case lacks it, or holds it in a form no source takes: what is wrong.
    case malformed(String)

    public var description: String {
        switch self {
        case let .unreadable(error): error.description
        case let .malformed(reason): reason
        }
    }
}

/// One case as the sources and the scorer see it: the header, and the data read once, when a
/// source or the scorer first needs it, then shared by every source of the run.
///
/// The data comes from a golden file (`init(reader:header:file:limits:)`) or from memory (a fuzz
/// problem, `init(golden:file:limits:)`); sources cannot tell the two apart.
public final class EvaluationCase {
    public let file: String
    public let header: CaseHeader
    public let limits: ResourceLimits
    private let readInputs: (DeformConvProblem) throws(CaseDataError) -> CaseInputs
    private let readGolden: (DeformConvProblem) throws(CaseDataError) -> GoldenOutput
    private let readGradientInput: (DeformConvProblem) throws(CaseDataError) -> GradientInput
    private var inputsRead: CaseInputs?
    private var goldenRead: GoldenOutput?
    private var gradientInputRead: GradientInput?
    private var weakDecided: Bool?
    /// The reference's gradients and magnitudes, per sampling unit roundoff (the magnitudes depend
    /// on it, SPEC section 7) and derivative convention.
    private var magnitudesRead: [MagnitudesKey: ReferenceGradients] = [:]
    private struct MagnitudesKey: Hashable {
        var samplingUnitRoundoff: Double
        var convention: DerivativeConvention
    }
    private var problemValidated: Result<DeformConvProblem, DeformConvError>?

    public init(file: String, header: CaseHeader, limits: ResourceLimits,
                inputs: @escaping (DeformConvProblem) throws(CaseDataError) -> CaseInputs,
                golden: @escaping (DeformConvProblem) throws(CaseDataError) -> GoldenOutput,
                gradientInput: @escaping (DeformConvProblem) throws(CaseDataError) -> GradientInput = { _ throws(CaseDataError) in
                    throw .malformed("the case has no gy")
                }) {
        self.file = file
        self.header = header
        self.limits = limits
        readInputs = inputs
        readGolden = golden
        readGradientInput = gradientInput
    }

    /// A case of an open golden file.
    public convenience init(reader: GoldenFileReader, header: CaseHeader, limits: ResourceLimits) {
        let name = header.name
        self.init(file: reader.path, header: header, limits: limits, inputs: { problem throws(CaseDataError) in
            try Self.reading { () throws(GoldenFileError) in
                problem.dtype == .float16
                    ? .float16(try reader.inputs(of: name, problem: problem, as: Float16.self))
                    : .float32(try reader.inputs(of: name, problem: problem, as: Float.self))
            }
        }, golden: { problem throws(CaseDataError) in
            try Self.reading { () throws(GoldenFileError) in try reader.output(of: name, problem: problem) }
        }, gradientInput: { problem throws(CaseDataError) in
            try Self.reading { () throws(GoldenFileError) in
                problem.dtype == .float16
                    ? .float16(try reader.gradientInput(of: name, problem: problem, as: Float16.self))
                    : .float32(try reader.gradientInput(of: name, problem: problem, as: Float.self))
            }
        })
    }

    /// A read from the golden file, its error kept as the cause.
    private static func reading<T>(_ body: () throws(GoldenFileError) -> T) throws(CaseDataError) -> T {
        do { return try body() } catch { throw .unreadable(error) }
    }

    /// The problem SPEC section 2 makes of the case's arguments, validated once.
    public func problem() throws(DeformConvError) -> DeformConvProblem {
        if problemValidated == nil {
            problemValidated = Result { () throws(DeformConvError) in try DeformConvProblem(validating: header.arguments, limits: limits) }
        }
        return try problemValidated!.get()
    }

    /// The inputs, read for `problem` (a source's own validation of the same arguments).
    public func inputs(for problem: DeformConvProblem) throws(CaseDataError) -> CaseInputs {
        if let inputsRead { return inputsRead }
        inputsRead = try readInputs(problem)
        return inputsRead!
    }

    /// The golden output with every magnitude SPEC section 3's bound needs: those the file lacks
    /// come from the float64 reference on the case's own inputs.
    public func golden(for problem: DeformConvProblem) throws(CaseDataError) -> GoldenOutput {
        if let goldenRead { return goldenRead }
        var golden: GoldenOutput
        golden = try readGolden(problem)
        if !golden.hasMagnitudes {
            golden.fillMagnitudes(from: ReferenceKernel().evaluate(problem, try inputs(for: problem).widened))
        }
        goldenRead = golden
        return golden
    }

    /// gy, read for a problem whose gradient spec `validateGradient` accepted.
    public func gradientInput(for problem: DeformConvProblem) throws(CaseDataError) -> GradientInput {
        if let gradientInputRead { return gradientInputRead }
        gradientInputRead = try readGradientInput(problem)
        return gradientInputRead!
    }

    /// The exact gradients (the golden file's) and the reference's magnitudes for sampling unit roundoff `us`.
    /// Under another `convention` than the contract's the values are the reference's under it: the
    /// golden file holds the contract's only.
    public func expectedGradients(for problem: DeformConvProblem, samplingUnitRoundoff us: Double,
                                  convention: DerivativeConvention = .fromTheRight) throws(CaseDataError) -> ExpectedGradients {
        guard let golden = try golden(for: problem).gradients else { throw .malformed("the case has gy but no expected gradients") }
        let key = MagnitudesKey(samplingUnitRoundoff: us, convention: convention)
        let magnitudes: ReferenceGradients
        if let known = magnitudesRead[key] {
            magnitudes = known
        } else {
            magnitudes = ReferenceKernel().evaluateBackward(problem, try inputs(for: problem).widened,
                                                            gy: try gradientInput(for: problem).widened, samplingUnitRoundoff: us,
                                                            convention: convention)
            magnitudesRead[key] = magnitudes
        }
        let values = convention == .fromTheRight ? golden : magnitudes.values
        // SPEC section 7's exact backward cases: exact data, and every element's abs below 2¹⁸.
        let tensors = [magnitudes.gx, magnitudes.gweight, magnitudes.goffsets] + (magnitudes.gbias.map { [$0] } ?? [])
        let exact = header.isExact && tensors.allSatisfy { $0.abs.allSatisfy { $0 < 0x1p18 } }
        return ExpectedGradients(problem: problem, values: values, magnitudes: magnitudes, exact: exact)
    }

    /// Whether more than half the outputs equal their bias (SPEC section 3's weak cases); nil when unknown.
    public func isWeak(_ problem: DeformConvProblem) -> Bool? {
        // Asked once per source: decided once, from the bias alone (widening every input for it
        // doubled the time of a 100,000-problem fuzz run).
        if let weakDecided { return weakDecided }
        guard let golden = try? golden(for: problem), let inputs = try? inputs(for: problem) else { return nil }
        let bias: [Double]? = switch inputs {
        case let .float32(values): values.bias?.map(Double.init)
        case let .float16(values): values.bias?.map(Double.init)
        }
        weakDecided = WeakCase.isWeak(golden.y, bias, problem)
        return weakDecided
    }
}

extension EvaluationCase {
    /// A case held in memory (a fuzz problem): its tensors and golden output as built.
    public convenience init(golden: GoldenCase, file: String, limits: ResourceLimits) {
        let header = CaseHeader(name: golden.name, tags: golden.tags, description: golden.description, expect: golden.expect,
                                arguments: golden.arguments, outputType: nil, gy: golden.gy?.spec)
        self.init(file: file, header: header, limits: limits, inputs: { _ throws(CaseDataError) in
            switch (golden.x.data, golden.weight.data, golden.offsets.data, golden.bias?.data) {
            case let (.float16(x), .float16(weight), .float16(offsets), bias):
                guard case let .float16(values)? = bias else { return .float16(DeformConvInputs(x: x, weight: weight, offsets: offsets)) }
                return .float16(DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: values))
            case let (.float32(x), .float32(weight), .float32(offsets), bias):
                guard case let .float32(values)? = bias else { return .float32(DeformConvInputs(x: x, weight: weight, offsets: offsets)) }
                return .float32(DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: values))
            default:
                throw .malformed("case '\(golden.name)' stores tensors that are not all float16 or all float32")
            }
        }, golden: { _ throws(CaseDataError) in
            guard let output = golden.output else { throw .malformed("case '\(golden.name)' has no golden output") }
            return output
        }, gradientInput: { _ throws(CaseDataError) in
            switch golden.gy?.data {
            case let .float16(values)?: return .float16(values)
            case let .float32(values)?: return .float32(values)
            default: throw .malformed("case '\(golden.name)' has no float16 or float32 gy")
            }
        })
    }
}

extension SuiteCoverage {
    /// This coverage and a valid case's (one whose arguments SPEC section 2 accepts and whose
    /// inputs can be read; any other case adds nothing).
    public func adding(_ item: EvaluationCase) -> SuiteCoverage {
        guard item.header.expect == .ok, let problem = try? item.problem(), let inputs = try? item.inputs(for: problem) else { return self }
        let offsets: [Double] = switch inputs {
        case let .float32(values): values.offsets.map(Double.init)
        case let .float16(values): values.offsets.map(Double.init)
        }
        var sum = self
        sum.add(problem, offsets: offsets)
        return sum
    }
}
