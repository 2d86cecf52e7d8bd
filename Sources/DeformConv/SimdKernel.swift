/// Tiled, vectorised Float32 kernel on one thread: a sampling plan per tile of
/// pixels, bilinear samples packed into a panel in cache, and an FMA microkernel
/// (14×32 on AVX-512 where the CPU has it, else 6×16 on AVX2, both reading the weights in
/// place; same bits either way); with at least 16 tiles per
/// group, channels-last sampling instead (`ChannelsLastConvolution`). See `TiledConvolution` and
/// `MicrokernelConfiguration.table`.
public struct SimdKernel: Float32Kernel {
    public let name = "simd"
    public let summary = "float32 tiled: sampling plan, packed panel, FMA microkernel (14×32 AVX-512 or 6×16 AVX2); one thread"
    public var tiling: Tiling

    public init(tiling: Tiling = .standard) {
        self.tiling = tiling
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        return TiledConvolution(problem, tiling: tiling).run(inputs, threads: 1)
    }
}

/// The backward (SPEC section 7) tiled the same way: see `TiledBackward` for the tiling and how
/// each gradient's summation order is fixed.
extension SimdKernel {
    public var passes: Set<KernelPass> { [.forward, .backward] }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        TiledBackward(problem, tiling: tiling).run(inputs, gy: gy, threads: 1)
    }
}
