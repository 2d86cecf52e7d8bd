import DeformConv
import Formats
import Scoring

/// How a valid case's inputs are drawn. Each style exists to test something
/// specific (SPEC section 3 and the conformance-gate issue).
public struct CaseRecipe: Sendable {
    /// Offsets (dx, dy) per (tap, output pixel).
    public enum Offsets: Sendable {
        /// Uniform in [−2, 2).
        case uniform
        /// Integers in −2…2: sampling lands on grid points, one corner weight is 1.
        case integer
        /// Positions placed exactly on −1, 0, H−1 and H (and halfway points, and a few random ones):
        /// the edges of the zero-outside rule.
        case boundary
        /// Uniform over ±(H + 2): many taps fall outside the image.
        case large
        /// Multiples of ¼ in [−2, 2] (exact cases).
        case quarter
        /// All ones (the MindSpore documentation example).
        case ones
        /// All zero: every position is base, an integer; with padding, −1 and H − 1 too (the cell edges
        /// and the −1 boundary of the backward, SPEC section 7).
        case zero
        /// Integers in −2…2 moved by up to one float32 ulp of the position, either way: a kernel's
        /// rounded position may land on the integer, where the derivative jumps (the jump term).
        case nearInteger
        /// Each offset drawn from one of uniform, integer, near-integer, large and boundary, chosen
        /// per element: one user-shape case that exercises all of them.
        case mixed
    }

    public enum Masks: Sendable {
        /// Uniform in [0, 1).
        case unit
        /// Uniform in [−1, 1): negative masks, no sigmoid applied.
        case signed
        /// 40% exactly zero, the rest uniform in [0, 1).
        case someZero
        /// All zero: the output is the bias.
        case allZero
        /// Multiples of ¼ in [−2, 2] (exact cases).
        case quarter
        case ones
    }

    public enum Values: Sendable {
        /// x, weight and bias uniform in [−1, 1).
        case uniform
        /// Small integers (|x| ≤ 8, |weight| ≤ 4) and bias a multiple of 1/64 (|bias| ≤ 64): every
        /// intermediate is exact in Float32 (SPEC section 3, exact cases).
        case exact
        case ones
    }

    public var name: String
    public var descriptor: String
    public var dtype: DataType
    public var bias: Bool
    public var values: Values
    public var offsets: Offsets
    public var masks: Masks
    /// Tags the recipe asserts (e.g. basic); the rest are derived from the geometry and styles.
    public var tags: [String]
    public var description: String

    public init(_ name: String, _ descriptor: String, dtype: DataType = .float32, bias: Bool = false,
                values: Values = .uniform, offsets: Offsets = .uniform, masks: Masks = .unit,
                tags: [String] = [], _ description: String) {
        self.name = name
        self.descriptor = descriptor
        self.dtype = dtype
        self.bias = bias
        self.values = values
        self.offsets = offsets
        self.masks = masks
        self.tags = tags
        self.description = description
    }

    /// Every tag of SPEC section 4 that this case exercises, derived from what it is, not declared.
    public func tags(for problem: DeformConvProblem) -> [String] {
        var tags = Set(self.tags).union(Self.problemTags(problem))
        switch offsets {
        case .boundary: tags.insert("boundary")
        case .integer: tags.insert("integer_offsets")
        case .large: tags.insert("large_offsets")
        case .mixed: tags.formUnion(["boundary", "integer_offsets", "large_offsets"])
        default: break
        }
        switch masks {
        case .someZero, .allZero: tags.insert("zero_mask")
        case .signed: tags.insert("negative_mask")
        default: break
        }
        if values == .exact { tags.insert("exact") }
        return GoldenSchema.tags.filter(tags.contains)
    }

    /// The tags that follow from the problem alone (geometry, dtype, bias), whatever its data.
    public static func problemTags(_ problem: DeformConvProblem) -> Set<String> {
        let g = problem.geometry
        var tags = Set<String>()
        tags.insert(problem.hasBias ? "bias" : "no_bias")
        tags.insert(problem.dtype == .float16 ? "float16" : "float32")
        if g.batch > 1 { tags.insert("batch") }
        if g.groups > 1 { tags.insert("groups") }
        if g.deformableGroups > 1 { tags.insert("deformable_groups") }
        if g.padTop + g.padBottom + g.padLeft + g.padRight > 0 { tags.insert("padding") }
        if g.padTop != g.padBottom || g.padLeft != g.padRight { tags.insert("asymmetric_padding") }
        if g.strideHeight > 1 || g.strideWidth > 1 { tags.insert("stride") }
        if g.dilationHeight > 1 || g.dilationWidth > 1 { tags.insert("dilation") }
        if g.kernelHeight == 1 && g.kernelWidth == 1 { tags.insert("kernel_1x1") }
        if g.kernelHeight != g.kernelWidth || g.height != g.width { tags.insert("non_square") }
        if problem.reductionLength >= 1000 { tags.insert("wide_reduction") }
        return tags
    }

    /// Weak outputs (every tap outside or masked) are allowed only where the case is about them.
    public var allowsWeak: Bool {
        if case .allZero = masks { return true }
        if case .someZero = masks { return true }
        if case .boundary = offsets { return true }
        return false
    }
}

extension CaseRecipe.Values: Equatable {}
