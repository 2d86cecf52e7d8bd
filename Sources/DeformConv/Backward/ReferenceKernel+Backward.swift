/// The reference's backward pass: SPEC section 7 in Float64, the golden gradients.
extension ReferenceKernel {
    public var passes: Set<KernelPass> { [.forward, .backward] }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        evaluateBackward(problem, inputs.map(Double.init), gy: gy.map(Double.init)).values.map(Float.init)
    }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        evaluateBackward(problem, inputs.map(Double.init), gy: gy.map(Double.init)).values.map(Float16.init)
    }

    /// gx, gweight, goffsets and gbias of a problem for gy = ∂L/∂y (shape (N, Co, Ho, Wo)),
    /// on inputs given (or widened to) Float64, each with SPEC section 7's abs, pos, jump and L.
    ///
    /// The values do not depend on `samplingUnitRoundoff`, but pos and jump do: they look at
    /// the neighbouring cell wherever a position lies within δ = 2·u_s·(|p| + 1) of an
    /// integer, u_s being the sampling unit roundoff of the kernel the gradients will check
    /// (2⁻²⁴ for a Float32 kernel). The default, Float64's, is the reference's own.
    ///
    /// Conventions (SPEC section 7): the position derivatives are taken from the right, with
    /// v zero outside the image, so a sample at exactly py = −1 (or px = −1) has an offsets
    /// gradient from row (column) 0. A sample outside B's window (py ≤ −1, py ≥ H, px ≤ −1 or
    /// px ≥ W) adds nothing to gx, gweight or the mask gradient, whatever its mask.
    /// L is Co/groups plus, for gx, the number of samples whose cell has the element as a
    /// corner; C/dg for the offsets gradient; N·Ho·Wo alone for gweight and gbias.
    ///
    /// `convention` chooses another derivative at integer positions (`DerivativeConvention`), to
    /// tell which one a kernel that fails the contract there follows; it changes the offsets
    /// gradient's x- and y-offset blocks only, and `integerPositions` says where it can.
    ///
    /// The same bits on any number of threads (`threads`): every element adds its terms in
    /// SPEC section 7's order (ReferenceBackward). `progress`, when given, hears how many samples
    /// (n, c, i, j, ho, wo) are done, each counted twice (total: 2·N·C·kh·kw·Ho·Wo), never from
    /// two threads at once (`ReferenceProgress`, `progressTotals`).
    ///
    /// Cost O(N·C·kh·kw·Ho·Wo·Co/groups); memory beyond the gradients with their magnitudes:
    /// two reordered copies of gy, one of weight, gweight with its magnitudes once more (in the
    /// order it is summed), and per thread 6·kh·kw·Ho·Wo doubles; for r50-c3 14 MB measured
    /// (peak resident size) beside 31 MB of gradients.
    public func evaluateBackward(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Double>, gy: [Double],
                                 samplingUnitRoundoff: Double = UnitRoundoff.float64,
                                 convention: DerivativeConvention = .fromTheRight,
                                 progress: ReferenceProgress? = nil) -> ReferenceGradients {
        let evaluation = ReferenceBackward(p, inputs, gy: gy, samplingUnitRoundoff: samplingUnitRoundoff, convention: convention)
        return evaluation.run(work(total: Self.progressTotals(p).backward, progress))
    }
}
