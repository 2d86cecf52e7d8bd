import DeformConv
import Formats
import Scoring

/// Golden cases on the user's own tensors (`dcn generate --inputs`): every case of an inputs file,
/// validated by SPEC section 2 (and section 7 for gy) before any is computed.
public struct InputsSuite {
    public let reader: InputsFileReader
    /// The cases with their validated problems, in name order.
    public let cases: [(header: InputsCase, problem: DeformConvProblem)]

    /// Opens the file and validates every case; the first bad one is refused with its field and reason.
    public init(path: String) throws {
        reader = try InputsFileReader(path: path)
        let names = try reader.caseNames()
        guard !names.isEmpty else { throw SuiteError(message: "\(path): /cases holds no case") }
        var cases: [(InputsCase, DeformConvProblem)] = []
        for name in names {
            guard GoldenSchema.isValidCaseName(name) else {
                throw SuiteError(message: "\(path): case '\(name)': case names are letters, digits, '-', '_' and '.'")
            }
            let header = try reader.header(of: name)
            do throws(DeformConvError) {
                let problem = try DeformConvProblem(validating: header.arguments)
                if let gy = header.gy { try problem.validateGradient(gy) }
                cases.append((header, problem))
            } catch {
                throw SuiteError(message: "\(path): case '\(name)': \(error.code.rawValue) (\(error.code.exceptionClass.rawValue)): \(error.message)")
            }
        }
        self.cases = cases
    }

    /// Reads every case's data, refusing the first NaN or infinity, before anything is computed.
    public func checkData() throws {
        for (header, problem) in cases {
            _ = try reader.tensors(of: header.name, problem: problem, gy: header.gy != nil)
        }
    }

    /// Writes the golden file; `progress` hears how far it has got (`GenerationProgress`).
    public func generate(to path: String, generator: String,
                         progress: (@Sendable (GenerationProgress) -> Void)? = nil) throws -> SuiteSummary {
        let writer = try GoldenFileWriter(path: path, generator: generator, reference: SuiteGenerator.reference)
        defer { writer.close() }
        var summary = SuiteSummary()
        let handlers = SuiteGenerator.caseHandlers(progress, cases.map { ($0.problem, $0.header.gy != nil) })
        for (index, (header, problem)) in cases.enumerated() {
            let (inputs, gy) = try reader.tensors(of: header.name, problem: problem, gy: header.gy != nil)
            var largestGradientAbs = 0.0
            let golden = SuiteGenerator.goldenCase(
                name: header.name, tags: Self.tags(problem, inputs), description: header.description ?? "inputs from \(reader.path)",
                seed: nil, problem: problem, inputs: inputs, gy: gy, largestGradientAbs: &largestGradientAbs, progress: handlers[index])
            try writer.write(golden)
            summary.validCases += 1
            summary.tags.formUnion(golden.tags)
        }
        return summary
    }

    /// The tags of SPEC section 4 that the problem and its data exercise.
    static func tags(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Double>) -> [String] {
        var tags = CaseRecipe.problemTags(problem)
        let block = problem.offsetTaps * problem.outputHeight * problem.outputWidth
        let perBatch = 3 * block
        var integer = true, large = false, zeroMask = false, negativeMask = false
        let limit = Double(max(problem.height, problem.width))
        for (index, value) in inputs.offsets.enumerated() {
            if index % perBatch < 2 * block {
                if value != value.rounded() { integer = false }
                if abs(value) > limit { large = true }
            } else {
                if value == 0 { zeroMask = true }
                if value < 0 { negativeMask = true }
            }
        }
        if integer { tags.insert("integer_offsets") }
        if large { tags.insert("large_offsets") }
        if zeroMask { tags.insert("zero_mask") }
        if negativeMask { tags.insert("negative_mask") }
        return GoldenSchema.tags.filter(tags.contains)
    }
}
