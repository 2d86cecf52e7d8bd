/// C[6×16] ← fl16(C + A·B), one k at a time: the `fp16acc` microkernel.
///
/// Same blocking as `microkernel6x16Body`, but after every update each accumulator is
/// rounded to Float16 (F16C vcvtps2ph/vcvtph2ps on ymm), so that the sequence of
/// roundings is exactly acc ← fl16(fl32(acc + w·s)). The operands are Float16
/// values held in Float, so w·s is exact in Float32 and the FMA rounds only the sum.
@inline(never)
func microkernel6x16RoundingToHalf(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    typealias V = SIMD8<Float>
    @inline(__always) func update(_ acc: inout V, _ w: V, _ s: V) {
        acc.addProduct(w, s)
        acc = roundedToHalf(acc)
    }
    let c0 = UnsafeMutableRawPointer(c), c1 = UnsafeMutableRawPointer(c + ldc), c2 = UnsafeMutableRawPointer(c + 2 * ldc)
    let c3 = UnsafeMutableRawPointer(c + 3 * ldc), c4 = UnsafeMutableRawPointer(c + 4 * ldc), c5 = UnsafeMutableRawPointer(c + 5 * ldc)
    var c00 = c0.loadUnaligned(as: V.self), c01 = c0.loadUnaligned(fromByteOffset: 32, as: V.self)
    var c10 = c1.loadUnaligned(as: V.self), c11 = c1.loadUnaligned(fromByteOffset: 32, as: V.self)
    var c20 = c2.loadUnaligned(as: V.self), c21 = c2.loadUnaligned(fromByteOffset: 32, as: V.self)
    var c30 = c3.loadUnaligned(as: V.self), c31 = c3.loadUnaligned(fromByteOffset: 32, as: V.self)
    var c40 = c4.loadUnaligned(as: V.self), c41 = c4.loadUnaligned(fromByteOffset: 32, as: V.self)
    var c50 = c5.loadUnaligned(as: V.self), c51 = c5.loadUnaligned(fromByteOffset: 32, as: V.self)
    var pa = a, pb = UnsafeRawPointer(b)
    for _ in 0..<k {
        let b0 = pb.loadUnaligned(as: V.self), b1 = pb.loadUnaligned(fromByteOffset: 32, as: V.self)
        var w = V(repeating: pa[0])
        update(&c00, w, b0); update(&c01, w, b1)
        w = V(repeating: pa[1])
        update(&c10, w, b0); update(&c11, w, b1)
        w = V(repeating: pa[2])
        update(&c20, w, b0); update(&c21, w, b1)
        w = V(repeating: pa[3])
        update(&c30, w, b0); update(&c31, w, b1)
        w = V(repeating: pa[4])
        update(&c40, w, b0); update(&c41, w, b1)
        w = V(repeating: pa[5])
        update(&c50, w, b0); update(&c51, w, b1)
        pa += 6
        pb += 64
    }
    c0.storeBytes(of: c00, as: V.self); c0.storeBytes(of: c01, toByteOffset: 32, as: V.self)
    c1.storeBytes(of: c10, as: V.self); c1.storeBytes(of: c11, toByteOffset: 32, as: V.self)
    c2.storeBytes(of: c20, as: V.self); c2.storeBytes(of: c21, toByteOffset: 32, as: V.self)
    c3.storeBytes(of: c30, as: V.self); c3.storeBytes(of: c31, toByteOffset: 32, as: V.self)
    c4.storeBytes(of: c40, as: V.self); c4.storeBytes(of: c41, toByteOffset: 32, as: V.self)
    c5.storeBytes(of: c50, as: V.self); c5.storeBytes(of: c51, toByteOffset: 32, as: V.self)
}

/// `v` rounded to Float16 and back, lane by lane. Written as a loop over the lanes on
/// purpose: LLVM turns it into one vcvtps2ph ymm and one vcvtph2ps ymm, whereas
/// `SIMD8<Float>(SIMD8<Float16>(v))` inside the microkernel's loop was split into
/// 128-bit halves with accumulators spilled to the stack: fp16acc ran at 19 GFLOP/s
/// on r50-c3 instead of 30.
@inline(__always)
func roundedToHalf(_ v: SIMD8<Float>) -> SIMD8<Float> {
    var half = SIMD8<Float16>()
    for lane in 0..<8 { half[lane] = Float16(v[lane]) }
    var rounded = SIMD8<Float>()
    for lane in 0..<8 { rounded[lane] = Float(half[lane]) }
    return rounded
}
