import Foundation

/// The exact output of a problem in Float64, with the magnitudes SPEC section 3
/// builds its error bound from.
public struct ReferenceOutput: Sendable {
    /// y, NCHW (N, Co, Ho, Wo).
    public var y: [Double]
    /// y_abs = |bias| + Σ |w|·|m|·Σ_corners a·|v|: what cancellation in the sum can cost.
    public var yAbs: [Double]
    /// y_pos = Σ |w|·|m|·(|py|·|∂B/∂py| + |px|·|∂B/∂px|): what rounding the sampling position can cost.
    public var yPos: [Double]
    /// y_tiny = R + 1 + Σ |w|·(1 + |m| + |B|) + Σ |m·B| over the taps inside the window: how many
    /// roundings into the subnormal range a half-precision kernel can make, each weighted by what
    /// multiplies it (SPEC section 3, gradual underflow).
    public var yTiny: [Double]
}

/// The golden implementation: SPEC section 1's formulas evaluated in Float64.
///
/// Products of Float32 or Float16 inputs are exact in Float64 and the sampling
/// position base + offset is too, so the only rounding is in the bilinear weights
/// and the sums, far below the Float32 tolerances it is used to check.
public struct ReferenceKernel: UniformPrecisionKernel {
    public let name = "reference"
    public let summary = "float64 evaluation of the formulas; generates golden vectors"
    public let unitRoundoff = UnitRoundoff.float64
    /// Threads `evaluate` and `evaluateBackward` share their work among; the results do not depend on it.
    public let threads: Int

    /// Problems with less work run on the calling thread (ReferenceWork); tests lower it to share small ones.
    let minimumUnitsToShare: Int

    /// `threads` defaults to the number of active cores.
    public init(threads: Int? = nil) {
        self.init(threads: threads, minimumUnitsToShare: ReferenceWork.minimumUnitsToShare)
    }

    init(threads: Int?, minimumUnitsToShare: Int) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.minimumUnitsToShare = minimumUnitsToShare
    }

    public func with(threads: Int) -> any DeformConvKernel {
        ReferenceKernel(threads: threads, minimumUnitsToShare: minimumUnitsToShare)
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        evaluate(problem, inputs.map(Double.init)).y.map(Float.init)
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        evaluate(problem, inputs.map(Double.init)).y.map(Float16.init)
    }

    /// y, y_abs, y_pos and y_tiny of a problem on inputs given (or widened to) Float64.
    ///
    /// The same bits on any number of threads: each output element is summed by one thread, in
    /// SPEC section 1's order (ReferenceForward). `progress`, when given, hears how many of the
    /// y elements are done (total: `p.outputCount`), never from two threads at once
    /// (`ReferenceProgress`). Memory beyond the four outputs: 5·(C/groups)·kh·kw·16 doubles per
    /// thread (737 KB for r50-c3).
    public func evaluate(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Double>,
                         progress: ReferenceProgress? = nil) -> ReferenceOutput {
        ReferenceForward(p: p).run(inputs, work(total: Self.progressTotals(p).forward, progress))
    }

    /// The `total` that `evaluate` and `evaluateBackward` report to their progress hooks for a
    /// problem: its output elements, and twice its samples N·C·kh·kw·Ho·Wo.
    public static func progressTotals(_ p: DeformConvProblem) -> (forward: Int, backward: Int) {
        (p.outputCount, 2 * p.batch * p.channels * p.kernelHeight * p.kernelWidth * p.outputHeight * p.outputWidth)
    }

    /// `total` units of work shared by the kernel's threads.
    func work(total: Int, _ progress: ReferenceProgress?) -> ReferenceWork {
        ReferenceWork(threads: threads, total: total, minimumUnitsToShare: minimumUnitsToShare, progress: progress)
    }
}
