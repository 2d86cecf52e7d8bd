import DeformConvAVX512

/// The floating-point peak of one core, measured by a loop of independent fused
/// multiply-adds on the widest vectors the kernels use: the ceiling that `dcn bench`
/// compares kernels to.
///
/// It lives with the kernels because it must be measured on the same instructions:
/// vfmadd…ps on zmm registers where the CPU has AVX-512F (the tiled kernels then use
/// their AVX-512 microkernel), on ymm otherwise.
public enum MachinePeak {
    /// 512 when the kernels run their AVX-512 microkernel on this CPU, else 256.
    public static var vectorBits: Int { CPUFeatures.hasAVX512F ? 512 : 256 }

    /// Floating-point operations `fmaLoop(iterations:seed:)` performs per iteration:
    /// 12 accumulators × (vectorBits / 32) lanes × 2 (a multiply and an add).
    public static var flopsPerIteration: Int { 12 * (vectorBits / 32) * 2 }

    /// `iterations` rounds of 12 independent `acc = acc·a + b` on SIMD8<Float>.
    ///
    /// Twelve accumulators cover the FMA latency (4–5 cycles) times the two FMA
    /// ports of Haswell/Zen with room to spare, so the loop is throughput-bound.
    /// With a slightly below 1 the accumulators converge to b/(1−a) and stay
    /// normal (denormals would be slow) and finite for any iteration count. The
    /// result depends on every accumulator, so nothing can be optimised away.
    public static func fmaLoop(iterations: Int, seed: Float) -> Float {
        vectorBits == 512 ? fmaLoopAVX512(iterations: iterations, seed: seed) : fmaLoopAVX2(iterations: iterations, seed: seed)
    }

    @inline(never)
    static func fmaLoopAVX2(iterations: Int, seed: Float) -> Float {
        let a = SIMD8<Float>(repeating: 0.999_999)
        let b = SIMD8<Float>(repeating: 1e-7)
        var c0 = SIMD8<Float>(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3
        var c4 = c0 + 4, c5 = c0 + 5, c6 = c0 + 6, c7 = c0 + 7
        var c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
        for _ in 0..<iterations {
            c0 = b.addingProduct(c0, a); c1 = b.addingProduct(c1, a); c2 = b.addingProduct(c2, a)
            c3 = b.addingProduct(c3, a); c4 = b.addingProduct(c4, a); c5 = b.addingProduct(c5, a)
            c6 = b.addingProduct(c6, a); c7 = b.addingProduct(c7, a); c8 = b.addingProduct(c8, a)
            c9 = b.addingProduct(c9, a); c10 = b.addingProduct(c10, a); c11 = b.addingProduct(c11, a)
        }
        let sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
        return sum.sum()
    }
}
