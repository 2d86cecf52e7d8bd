import Foundation

/// `simd`'s tiles spread over threads. Work is split over images, groups and
/// tiles of pixels, never over the reduction, so the result is bit-identical to
/// `simd` for any number of threads.
public struct ThreadedKernel: Float32Kernel {
    public let name = "threaded"
    public let summary = "float32 tiled as simd, tiles spread over all cores; bit-identical to simd"
    public let threads: Int
    public var tiling: Tiling

    /// `threads` defaults to the number of active cores.
    public init(threads: Int? = nil, tiling: Tiling = .standard) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.tiling = tiling
    }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        return TiledConvolution(problem, tiling: tiling).run(inputs, threads: threads)
    }

    public func with(threads: Int) -> any DeformConvKernel {
        ThreadedKernel(threads: threads, tiling: tiling)
    }

    public var bitIdenticalPeer: (any DeformConvKernel)? { SimdKernel(tiling: tiling) }
}

/// The backward on `threads` threads: each tile's channel blocks are shared out, and every gradient
/// element keeps the one owner and order `TiledBackward` gives it, so the bits equal simd's.
extension ThreadedKernel {
    public var passes: Set<KernelPass> { [.forward, .backward] }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        TiledBackward(problem, tiling: tiling).run(inputs, gy: gy, threads: threads)
    }
}
