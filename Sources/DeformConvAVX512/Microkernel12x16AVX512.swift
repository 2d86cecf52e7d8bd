/// C[12×16] += A[12×k] · B[k×16] on 512-bit registers: the AVX-512 twin of
/// DeformConv's 6×16 AVX2 microkernel.
///
/// This module alone is compiled for skylake-avx512 (AVX-512F), so nothing in it may run
/// before the caller has checked that the CPU has AVX-512F. `a` is a packed sliver,
/// k groups of 12 weights; `b` a packed panel block, k rows of 16 samples (one zmm);
/// `c` twelve rows of 16 accumulators with row stride `ldc`. Each output element gets
/// exactly the FMA sequence the AVX2 kernel gives it, so the results are bit-identical.
@inline(never)
public func microkernel12x16AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    typealias V = SIMD16<Float>
    let stride = 4 * ldc
    let r0 = UnsafeMutableRawPointer(c), r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride
    let r4 = r3 + stride, r5 = r4 + stride, r6 = r5 + stride, r7 = r6 + stride
    let r8 = r7 + stride, r9 = r8 + stride, r10 = r9 + stride, r11 = r10 + stride
    var c0 = r0.loadUnaligned(as: V.self), c1 = r1.loadUnaligned(as: V.self)
    var c2 = r2.loadUnaligned(as: V.self), c3 = r3.loadUnaligned(as: V.self)
    var c4 = r4.loadUnaligned(as: V.self), c5 = r5.loadUnaligned(as: V.self)
    var c6 = r6.loadUnaligned(as: V.self), c7 = r7.loadUnaligned(as: V.self)
    var c8 = r8.loadUnaligned(as: V.self), c9 = r9.loadUnaligned(as: V.self)
    var c10 = r10.loadUnaligned(as: V.self), c11 = r11.loadUnaligned(as: V.self)
    var pa = a, pb = UnsafeRawPointer(b)
    for _ in 0..<k {
        let s = pb.loadUnaligned(as: V.self)
        c0.addProduct(V(repeating: pa[0]), s)
        c1.addProduct(V(repeating: pa[1]), s)
        c2.addProduct(V(repeating: pa[2]), s)
        c3.addProduct(V(repeating: pa[3]), s)
        c4.addProduct(V(repeating: pa[4]), s)
        c5.addProduct(V(repeating: pa[5]), s)
        c6.addProduct(V(repeating: pa[6]), s)
        c7.addProduct(V(repeating: pa[7]), s)
        c8.addProduct(V(repeating: pa[8]), s)
        c9.addProduct(V(repeating: pa[9]), s)
        c10.addProduct(V(repeating: pa[10]), s)
        c11.addProduct(V(repeating: pa[11]), s)
        pa += 12
        pb += 64
    }
    r0.storeBytes(of: c0, as: V.self); r1.storeBytes(of: c1, as: V.self)
    r2.storeBytes(of: c2, as: V.self); r3.storeBytes(of: c3, as: V.self)
    r4.storeBytes(of: c4, as: V.self); r5.storeBytes(of: c5, as: V.self)
    r6.storeBytes(of: c6, as: V.self); r7.storeBytes(of: c7, as: V.self)
    r8.storeBytes(of: c8, as: V.self); r9.storeBytes(of: c9, as: V.self)
    r10.storeBytes(of: c10, as: V.self); r11.storeBytes(of: c11, as: V.self)
}
