/// One gradient tensor of the Float64 reference, flat in its input's NCHW order, with
/// the per-element magnitudes SPEC section 7 builds its error bound from.
public struct ReferenceGradient: Sendable {
    /// The gradient itself.
    public var value: [Double]
    /// abs: the element's sum with every factor replaced by its magnitude; bounds cancellation.
    public var abs: [Double]
    /// pos: the sensitivity to rounding the sampling positions.
    public var pos: [Double]
    /// jump: what a rounded position in the neighbouring cell can change (offsets gradient only; 0 elsewhere).
    public var jump: [Double]
    /// L: Co/groups for the column gradient t plus the number of terms of the element's outer sum.
    public var reductionLength: [Int]

    /// Zeros, to accumulate into, with one L for every element.
    init(count: Int, reductionLength: Int) {
        value = .init(repeating: 0, count: count)
        abs = .init(repeating: 0, count: count)
        pos = .init(repeating: 0, count: count)
        jump = .init(repeating: 0, count: count)
        self.reductionLength = .init(repeating: reductionLength, count: count)
    }
}

/// The exact gradients of a problem for one gy, in Float64, with their magnitudes.
public struct ReferenceGradients: Sendable {
    /// ∂L/∂x, shape (N, C, H, W).
    public var gx: ReferenceGradient
    /// ∂L/∂weight, shape (Co, C/groups, kh, kw).
    public var gweight: ReferenceGradient
    /// ∂L/∂offsets in the offsets layout (x-offset, y-offset, mask blocks).
    public var goffsets: ReferenceGradient
    /// ∂L/∂bias; nil when the problem has no bias.
    public var gbias: ReferenceGradient?
    /// Per element of goffsets, whether the derivative conventions of SPEC section 7 can differ
    /// there: an x-offset element whose px is an integer, a y-offset element whose py is (−1
    /// included); false in the mask block. A kernel's offsets gradient that fails only at these
    /// may follow another convention. Empty when not known.
    public var integerPositions: [Bool]

    public init(gx: ReferenceGradient, gweight: ReferenceGradient, goffsets: ReferenceGradient, gbias: ReferenceGradient?,
                integerPositions: [Bool] = []) {
        precondition(integerPositions.isEmpty || integerPositions.count == goffsets.value.count,
                     "integer positions are per offsets-gradient element")
        self.gx = gx
        self.gweight = gweight
        self.goffsets = goffsets
        self.gbias = gbias
        self.integerPositions = integerPositions
    }

    /// The four gradients without their magnitudes.
    public var values: DeformConvGradients<Double> {
        DeformConvGradients(gx: gx.value, gweight: gweight.value, goffsets: goffsets.value, gbias: gbias?.value)
    }
}
