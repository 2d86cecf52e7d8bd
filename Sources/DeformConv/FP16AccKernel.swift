/// Accumulates in Float16, as some accelerators do: a faithful emulation.
///
/// The rounding sequence, fixed and documented:
/// 1. x, weight, masks and bias are rounded to Float16 (Float16 problems already are).
///    The dx, dy offsets are not: the sampling position is computed in Float32 from the
///    offsets as given. Rounding a Float32 offset to half first would move the position by
///    up to |offset|·2⁻¹¹, an input perturbation that SPEC section 3's position term
///    (2·u_s·|p|·|∂B/∂p|) does not cover when a large offset brings p near 0, and that the
///    fuzzer found beyond the bound;
/// 2. each sample s = m·B is computed in Float32 from those values (the position,
///    the bilinear weights with the mask folded in, the four products summed as
///    (t00 + t01) + (t10 + t11)) and rounded to Float16;
/// 3. the accumulator starts at the bias rounded to Float16 (or 0), and for each
///    (channel, tap) in order, channel-major, taps row by row,
///    acc ← Float16(Float32(acc + w·s)): w·s is exact in Float32, the sum is rounded
///    to Float32 and then to Float16 (in rare ties this double rounding differs
///    from rounding the exact sum once);
/// 4. the output is the final accumulator (exact in either output type).
///
/// Vectorised like `simd`, with every accumulator update rounded through F16C.
public struct FP16AccKernel: UniformPrecisionKernel {
    public let name = "fp16acc"
    public let summary = "float16 accumulation: samples and every accumulator update rounded to half (vcvtps2ph: 12×32 AVX-512 or 6×16 F16C)"
    public let unitRoundoff = UnitRoundoff.float16
    public var tiling: Tiling

    public init(tiling: Tiling = .standard) {
        self.tiling = tiling
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        let half = { (value: Float) in Float(Float16(value)) }
        var halves = DeformConvInputs(x: Self.roundedToHalf(inputs.x), weight: Self.roundedToHalf(inputs.weight),
                                      offsets: inputs.offsets, bias: inputs.bias?.map(half))
        let plane = problem.outputHeight * problem.outputWidth
        for index in halves.offsets.indices where index / plane % (3 * problem.offsetTaps) >= 2 * problem.offsetTaps {
            halves.offsets[index] = half(halves.offsets[index])
        }
        return TiledConvolution(problem, tiling: tiling, accumulation: .float16).run(halves, threads: 1)
    }

    /// `values` rounded to Float16, eight at a time through F16C: on r50-c5 a lane-by-lane map
    /// of the 2.4 million weights took 6% of the call on AVX2.
    static func roundedToHalf(_ values: [Float]) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { rounded, initialized in
            values.withUnsafeBufferPointer { source in
                let whole = source.count - source.count % 8
                let from = UnsafeRawPointer(source.baseAddress), to = UnsafeMutableRawPointer(rounded.baseAddress)
                for i in stride(from: 0, to: whole, by: 8) {
                    to!.storeBytes(of: DeformConv.roundedToHalf(from!.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)),
                                   toByteOffset: 4 * i, as: SIMD8<Float>.self)
                }
                for i in whole..<source.count { rounded[i] = Float(Float16(source[i])) }
            }
            initialized = values.count
        }
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        TiledConvolution(problem, tiling: tiling, accumulation: .float16).run(inputs.map(Float.init), threads: 1).map(Float16.init)
    }
}
