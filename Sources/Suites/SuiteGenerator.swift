import DeformConv
import Formats
import Scoring

/// The generator could not make a suite.
public struct SuiteError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// What a generated file holds.
public struct SuiteSummary: Sendable {
    public var validCases = 0
    public var errorCases = 0
    /// Valid cases redrawn because more than half their outputs equalled the bias.
    public var redraws = 0
    public var tags: Set<String> = []
    public var errorCodes: Set<ErrorCode> = []
}

/// Draws the inputs of each recipe from a seeded generator, computes the golden
/// output with the Float64 reference and writes the cases (SPEC sections 3, 4).
public struct SuiteGenerator: Sendable {
    public static let defaultSeed: UInt64 = 20_261_125
    public static let suites = [DefaultSuite.name, LargeSuite.name]
    /// A valid case is redrawn at most this many times to avoid a weak case.
    public static let maxAttempts = 20

    public var seed: UInt64

    public init(seed: UInt64 = Self.defaultSeed) {
        self.seed = seed
    }

    /// Writes the named suite to `path`; `progress` hears how far it has got (`GenerationProgress`).
    public func generate(suite: String, to path: String, generator: String,
                         progress: (@Sendable (GenerationProgress) -> Void)? = nil) throws -> SuiteSummary {
        if suite == LargeSuite.name {
            return try generate(recipes: LargeSuite.valid, backward: false, limits: LargeSuite.limits, to: path, generator: generator, progress: progress)
        }
        guard suite == DefaultSuite.name else {
            throw SuiteError(message: "unknown suite '\(suite)'; suites: \(Self.suites.joined(separator: ", "))")
        }
        let writer = try GoldenFileWriter(path: path, generator: generator, reference: Self.reference)
        defer { writer.close() }
        var summary = SuiteSummary()
        let handlers = Self.caseHandlers(progress, DefaultSuite.valid.map { (try? Self.problem(of: $0), true) }
                                                       + DefaultSuite.errors.map { _ in (nil, false) })
        for (index, recipe) in DefaultSuite.valid.enumerated() {
            let (golden, redraws) = try validCase(recipe, seed: SeededGenerator.derive(seed, index), backward: true, progress: handlers[index])
            try writer.write(golden)
            summary.validCases += 1
            summary.redraws += redraws
            summary.tags.formUnion(golden.tags)
        }
        for (index, recipe) in DefaultSuite.errors.enumerated() {
            handlers[DefaultSuite.valid.count + index]?(GenerationProgress(name: recipe.name, problem: nil, backward: false))
            let golden = try errorCase(recipe, seed: SeededGenerator.derive(seed, 10_000 + index))
            try writer.write(golden)
            summary.errorCases += 1
            summary.tags.formUnion(golden.tags)
            summary.errorCodes.insert(recipe.code)
        }
        let missingTags = GoldenSchema.tags.filter { !summary.tags.contains($0) }
        let missingCodes = ErrorCode.allCases.filter { !summary.errorCodes.contains($0) }
        guard missingTags.isEmpty, missingCodes.isEmpty else {
            throw SuiteError(message: "suite '\(suite)' misses tags \(missingTags) and error codes \(missingCodes.map(\.rawValue))")
        }
        return summary
    }

    /// One valid case: inputs drawn per the recipe, y and its magnitudes from the reference, and with
    /// `backward` an incoming gradient gy and the exact gradients (SPEC section 7).
    /// Returns the case and how many draws were rejected as weak; `allowWeak` keeps the first
    /// draw whatever it is (the fuzzer's choice: weak problems are still problems). `progress`
    /// hears the case as a generation of one case (`GenerationProgress`).
    public func validCase(_ recipe: CaseRecipe, seed caseSeed: UInt64, allowWeak: Bool = false,
                          backward: Bool = false, limits: ResourceLimits = .standard,
                          progress: (@Sendable (GenerationProgress) -> Void)? = nil) throws -> (GoldenCase, redraws: Int) {
        let problem = try Self.problem(of: recipe, limits: limits)
        let start = GenerationProgress(name: recipe.name, problem: problem, backward: backward)
        progress?(start)
        for attempt in 0..<Self.maxAttempts {
            let drawSeed = SeededGenerator.derive(caseSeed, attempt)
            var rng = SeededGenerator(seed: drawSeed)
            let inputs = Self.draw(recipe, problem, &rng)
            let reference = ReferenceKernel().evaluate(problem, inputs, progress: start.forwardHook(progress))
            if !allowWeak && !recipe.allowsWeak && WeakCase.isWeak(reference.y, inputs.bias, problem) { continue }
            var gy: [Double]?
            if backward {
                // From its own stream, so that adding gy left every forward input of the suite as it was.
                var gradientRNG = SeededGenerator(seed: SeededGenerator.derive(drawSeed, Self.gradientStream))
                gy = Self.drawGradient(recipe, problem, &gradientRNG)
            }
            var largestGradientAbs = 0.0
            let golden = Self.goldenCase(name: recipe.name, tags: recipe.tags(for: problem), description: recipe.description, seed: drawSeed,
                                         problem: problem, inputs: inputs, reference: reference, gy: gy, largestGradientAbs: &largestGradientAbs,
                                         progress: progress)
            // SPEC section 3 and 7: exact cases are exact only while every element's abs stays below 2^18.
            if recipe.values == .exact, max(reference.yAbs.max() ?? 0, largestGradientAbs) >= Self.exactLimit {
                throw SuiteError(message: "case '\(recipe.name)': exact values are not exact at this size: an abs magnitude reaches \(max(reference.yAbs.max() ?? 0, largestGradientAbs)), at least 2^18 (SPEC section 3); use --values uniform or a smaller shape")
            }
            return (golden, attempt)
        }
        throw SuiteError(message: "case '\(recipe.name)': every one of \(Self.maxAttempts) draws was weak (more than half the outputs equal the bias)")
    }

    /// A valid case of `problem` on `inputs` (already rounded to its dtype), stored in that dtype, with
    /// y and its magnitudes from the reference and, given gy, the exact gradients (SPEC section 7).
    /// `largestGradientAbs` receives the largest abs magnitude of the gradients (SPEC section 7), 0 without gy.
    /// `progress` hears the case as a generation of one case (`GenerationProgress`), its start too
    /// when the forward is computed here, and last `writing`: what is left is storing and writing it.
    public static func goldenCase(name: String, tags: [String], description: String, seed: UInt64?, problem: DeformConvProblem,
                                  inputs: DeformConvInputs<Double>, reference: ReferenceOutput? = nil, gy: [Double]?,
                                  largestGradientAbs: inout Double,
                                  progress: (@Sendable (GenerationProgress) -> Void)? = nil) -> GoldenCase {
        let store = { (values: [Double], shape: [Int]) in
            StoredTensor(shape: shape, data: problem.dtype == .float16 ? .float16(values.map(Float16.init)) : .float32(values.map(Float.init)))
        }
        let start = GenerationProgress(name: name, problem: problem, backward: gy != nil)
        if reference == nil { progress?(start) }
        var output = GoldenOutput(shape: problem.outputShape,
                                  reference: reference ?? ReferenceKernel().evaluate(problem, inputs, progress: start.forwardHook(progress)))
        if let gy {
            let gradients = ReferenceKernel().evaluateBackward(problem, inputs, gy: gy, progress: start.backwardHook(progress))
            output.gradients = gradients.values
            largestGradientAbs = [gradients.gx, gradients.gweight, gradients.goffsets, gradients.gbias]
                .compactMap { $0?.abs.max() }.max() ?? 0
        }
        progress?(start.writingStarted)
        return GoldenCase(
            name: name, tags: tags, description: description, seed: seed,
            parameters: GoldenCase.parameters(of: problem.geometry),
            x: store(inputs.x, problem.xShape), weight: store(inputs.weight, problem.weightShape),
            offsets: store(inputs.offsets, problem.offsetsShape),
            bias: inputs.bias.map { store($0, [problem.outputChannels]) },
            gy: gy.map { store($0, problem.outputShape) },
            expect: .ok, output: output)
    }

    /// Writes one valid case per recipe (`dcn generate --shape`), case i drawn from seed i of the
    /// generator's seed; `progress` hears how far it has got (`GenerationProgress`).
    public func generate(recipes: [CaseRecipe], backward: Bool, limits: ResourceLimits = .standard, to path: String, generator: String,
                         progress: (@Sendable (GenerationProgress) -> Void)? = nil) throws -> SuiteSummary {
        let writer = try GoldenFileWriter(path: path, generator: generator, reference: Self.reference)
        defer { writer.close() }
        var summary = SuiteSummary()
        let handlers = Self.caseHandlers(progress, recipes.map { (try? Self.problem(of: $0, limits: limits), backward) })
        for (index, recipe) in recipes.enumerated() {
            let (golden, redraws) = try validCase(recipe, seed: SeededGenerator.derive(seed, index), backward: backward, limits: limits,
                                                  progress: handlers[index])
            try writer.write(golden)
            summary.validCases += 1
            summary.redraws += redraws
            summary.tags.formUnion(golden.tags)
        }
        return summary
    }

    /// The validated problem of a recipe.
    static func problem(of recipe: CaseRecipe, limits: ResourceLimits = .standard) throws -> DeformConvProblem {
        let descriptor = try ProblemDescriptor(parsing: recipe.descriptor)
        return try DeformConvProblem(validating: descriptor.geometry.arguments(dtype: recipe.dtype, bias: recipe.bias), limits: limits)
    }

    /// One handler per case of a generation (each case's problem, nil for an error case, and whether it
    /// has a backward) that reports the case's own progress as part of the whole; nils without `progress`.
    static func caseHandlers(_ progress: (@Sendable (GenerationProgress) -> Void)?,
                             _ cases: [(problem: DeformConvProblem?, backward: Bool)]) -> [(@Sendable (GenerationProgress) -> Void)?] {
        let works = cases.map { GenerationProgress(name: "", problem: $0.problem, backward: $0.backward).work }
        let work = works.reduce(0, +)
        var before = 0.0
        return works.indices.map { index in
            defer { before += works[index] }
            return GenerationProgress.placing(progress, at: index, of: cases.count, after: before, of: work)
        }
    }

    /// SPEC section 3's size condition of exact cases: every abs magnitude below 2^18.
    static let exactLimit = 262_144.0

    /// What every golden file of this generator says in its `reference` attribute.
    public static let reference = "dcn reference kernel: float64 evaluation of SPEC section 1"

    /// One error case: the base case broken by the recipe, checked to raise exactly the recipe's code.
    public func errorCase(_ recipe: ErrorRecipe, seed caseSeed: UInt64) throws -> GoldenCase {
        var rng = SeededGenerator(seed: caseSeed)
        var golden = Self.errorBase(&rng)
        recipe.breakCase(&golden, &rng)
        golden.name = recipe.name
        golden.description = recipe.description
        golden.seed = caseSeed
        golden.tags = ["error"]
        golden.expect = .error(recipe.code)
        do {
            let problem = try DeformConvProblem(validating: golden.arguments)
            // A backward error case (SPEC section 7): the forward is valid, gy is not.
            if let gy = golden.gy { try problem.validateGradient(gy.spec) }
            throw SuiteError(message: "error case '\(recipe.name)' is accepted by validation; it should raise \(recipe.code.rawValue)")
        } catch let error as DeformConvError where error.code != recipe.code {
            throw SuiteError(message: "error case '\(recipe.name)' raises \(error.code.rawValue) (\(error.message)), not \(recipe.code.rawValue)")
        } catch is DeformConvError {
            return golden
        }
    }

    /// `ic4ih5oc2kh3` in float32 with a bias: the valid call every error recipe breaks.
    static func errorBase(_ rng: inout SeededGenerator) -> GoldenCase {
        var geometry = ConvGeometry()
        (geometry.channels, geometry.height, geometry.width, geometry.outputChannels) = (4, 5, 5, 2)
        (geometry.kernelHeight, geometry.kernelWidth) = (3, 3)
        return GoldenCase(
            name: "base", tags: [], description: "", parameters: GoldenCase.parameters(of: geometry),
            x: randomTensor(shape: [1, 4, 5, 5], dtype: .float32, &rng),
            weight: randomTensor(shape: [2, 4, 3, 3], dtype: .float32, &rng),
            offsets: randomTensor(shape: [1, 27, 3, 3], dtype: .float32, &rng),
            bias: randomTensor(shape: [2], dtype: .float32, &rng),
            expect: .ok)
    }

    /// Uniform values in [−1, 1) stored as `dtype` (integers in −8…8 for integer types).
    static func randomTensor(shape: [Int], dtype: DataType, _ rng: inout SeededGenerator) -> StoredTensor {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in rng.uniform(-1, 1) }
        let data: TensorData = switch dtype {
        case .float16: .float16(values.map(Float16.init))
        case .float64: .float64(values)
        case .integer: .int32(values.map { Int32(($0 * 8).rounded()) })
        default: .float32(values.map(Float.init))
        }
        return StoredTensor(shape: shape, data: data)
    }

    /// Inputs for a recipe, already rounded to the case's dtype (so the reference sees the stored numbers).
    package static func draw(_ recipe: CaseRecipe, _ p: DeformConvProblem, _ rng: inout SeededGenerator) -> DeformConvInputs<Double> {
        let rounded: (Double) -> Double = p.dtype == .float16 ? { Double(Float16($0)) } : { Double(Float($0)) }
        func values(_ count: Int, _ draw: (inout SeededGenerator) -> Double) -> [Double] {
            (0..<count).map { _ in rounded(draw(&rng)) }
        }
        let x: [Double], weight: [Double], bias: [Double]?
        switch recipe.values {
        case .uniform:
            x = values(p.xCount) { $0.uniform(-1, 1) }
            weight = values(p.weightCount) { $0.uniform(-1, 1) }
            bias = p.hasBias ? values(p.outputChannels) { $0.uniform(-1, 1) } : nil
        case .exact:
            x = values(p.xCount) { Double($0.integer(-8, 8)) }
            weight = values(p.weightCount) { Double($0.integer(-4, 4)) }
            bias = p.hasBias ? values(p.outputChannels) { Double($0.integer(-4096, 4096)) / 64 } : nil
        case .ones:
            x = Array(repeating: 1, count: p.xCount)
            weight = Array(repeating: 1, count: p.weightCount)
            bias = p.hasBias ? Array(repeating: 1, count: p.outputChannels) : nil
        }
        let offsets = drawOffsets(recipe, p, &rng).map(rounded)
        return DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: bias)
    }

    /// The index of the random stream gy is drawn from, apart from the forward inputs' streams.
    static let gradientStream = 1 << 20

    /// gy (N, Co, Ho, Wo) in the case's dtype: small integers (|gy| ≤ 4) for exact cases, so that every
    /// gradient is exact in float32 (SPEC section 7), else uniform in [−1, 1).
    static func drawGradient(_ recipe: CaseRecipe, _ p: DeformConvProblem, _ rng: inout SeededGenerator) -> [Double] {
        let rounded: (Double) -> Double = p.dtype == .float16 ? { Double(Float16($0)) } : { Double(Float($0)) }
        return (0..<p.outputCount).map { _ in
            recipe.values == .exact ? Double(rng.integer(-4, 4)) : rounded(rng.uniform(-1, 1))
        }
    }

    /// Offsets tensor (N, 3K, Ho, Wo): the dx block, the dy block, then the masks.
    static func drawOffsets(_ recipe: CaseRecipe, _ p: DeformConvProblem, _ rng: inout SeededGenerator) -> [Double] {
        let g = p.geometry
        let taps = p.offsetTaps
        var offsets: [Double] = []
        offsets.reserveCapacity(p.offsetsCount)
        for _ in 0..<g.batch {
            for channel in 0..<(3 * taps) {
                let (block, k) = (channel / taps, channel % taps)
                let (i, j) = (k / g.kernelWidth % g.kernelHeight, k % g.kernelWidth)
                for oh in 0..<p.outputHeight {
                    for ow in 0..<p.outputWidth {
                        switch block {
                        case 0:
                            let base = ow * g.strideWidth - g.padLeft + j * g.dilationWidth
                            offsets.append(drawOffset(recipe, base: base, size: g.width, &rng))
                        case 1:
                            let base = oh * g.strideHeight - g.padTop + i * g.dilationHeight
                            offsets.append(drawOffset(recipe, base: base, size: g.height, &rng))
                        default:
                            offsets.append(drawMask(recipe.masks, &rng))
                        }
                    }
                }
            }
        }
        return offsets
    }

    static func drawOffset(_ recipe: CaseRecipe, base: Int, size: Int, _ rng: inout SeededGenerator) -> Double {
        switch recipe.offsets {
        case .mixed:
            var single = recipe
            single.offsets = rng.pick([CaseRecipe.Offsets.uniform, .integer, .nearInteger, .large, .boundary])
            return drawOffset(single, base: base, size: size, &rng)
        case .uniform: return rng.uniform(-2, 2)
        case .integer: return Double(rng.integer(-2, 2))
        case .quarter: return Double(rng.integer(-8, 8)) / 4
        case .ones: return 1
        case .zero: return 0
        case .nearInteger:
            let k = rng.integer(-2, 2)
            let ulp = Double(Float(max(abs(base + k), 1)).ulp)
            return Double(k) + rng.pick([-1, -0.5, 0.5, 1]) * ulp
        case .large: return rng.uniform(-Double(size + 2), Double(size + 2))
        case .boundary:
            // Land exactly on the edges of the zero-outside rule, and on either side of them.
            let edges: [Double] = [-1, -0.75, -0.5, 0, 0.25, Double(size) - 1, Double(size) - 0.5, Double(size)]
            let target = rng.integer(0, 9) < 8
                ? rng.pick(edges)
                : (recipe.values == .exact ? Double(rng.integer(-6, 4 * size + 2)) / 4 : rng.uniform(-1.5, Double(size) + 0.5))
            return target - Double(base)
        }
    }

    static func drawMask(_ style: CaseRecipe.Masks, _ rng: inout SeededGenerator) -> Double {
        switch style {
        case .unit: rng.uniform(0, 1)
        case .signed: rng.uniform(-1, 1)
        case .someZero: rng.integer(0, 9) < 4 ? 0 : rng.uniform(0, 1)
        case .allZero: 0
        case .quarter: Double(rng.integer(-8, 8)) / 4
        case .ones: 1
        }
    }
}

