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

/// The FMA peak loop of `MachinePeak` on 512-bit registers: `iterations` rounds of 12
/// independent `acc = acc·a + b` on SIMD16<Float>. Only call it on a CPU with AVX-512F.
@inline(never)
public func fmaLoopAVX512(iterations: Int, seed: Float) -> Float {
    let a = SIMD16<Float>(repeating: 0.999_999)
    let b = SIMD16<Float>(repeating: 1e-7)
    var c0 = SIMD16<Float>(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3
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

/// C[14×32] += A[14×k] · B[k×32] on 512-bit registers: two zmm columns per row, so each
/// broadcast weight feeds two FMAs and each k needs 16 loads for 28 FMAs (the 12×16 kernel
/// needs 13 for 12). Used with panels of 32-pixel blocks; same FMA sequence per output
/// element as the other microkernels. Only call it on a CPU with AVX-512F.
@inline(never)
public func microkernel14x32AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    typealias V = SIMD16<Float>
    let stride = 4 * ldc
    let r0 = UnsafeMutableRawPointer(c)
    let r1 = r0 + stride
    let r2 = r1 + stride
    let r3 = r2 + stride
    let r4 = r3 + stride
    let r5 = r4 + stride
    let r6 = r5 + stride
    let r7 = r6 + stride
    let r8 = r7 + stride
    let r9 = r8 + stride
    let r10 = r9 + stride
    let r11 = r10 + stride
    let r12 = r11 + stride
    let r13 = r12 + stride
    var c0a = r0.loadUnaligned(as: V.self), c0b = r0.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c1a = r1.loadUnaligned(as: V.self), c1b = r1.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c2a = r2.loadUnaligned(as: V.self), c2b = r2.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c3a = r3.loadUnaligned(as: V.self), c3b = r3.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c4a = r4.loadUnaligned(as: V.self), c4b = r4.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c5a = r5.loadUnaligned(as: V.self), c5b = r5.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c6a = r6.loadUnaligned(as: V.self), c6b = r6.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c7a = r7.loadUnaligned(as: V.self), c7b = r7.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c8a = r8.loadUnaligned(as: V.self), c8b = r8.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c9a = r9.loadUnaligned(as: V.self), c9b = r9.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c10a = r10.loadUnaligned(as: V.self), c10b = r10.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c11a = r11.loadUnaligned(as: V.self), c11b = r11.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c12a = r12.loadUnaligned(as: V.self), c12b = r12.loadUnaligned(fromByteOffset: 64, as: V.self)
    var c13a = r13.loadUnaligned(as: V.self), c13b = r13.loadUnaligned(fromByteOffset: 64, as: V.self)
    var pa = a, pb = UnsafeRawPointer(b)
    for _ in 0..<k {
        let s0 = pb.loadUnaligned(as: V.self), s1 = pb.loadUnaligned(fromByteOffset: 64, as: V.self)
        let w0 = V(repeating: pa[0])
        c0a.addProduct(w0, s0); c0b.addProduct(w0, s1)
        let w1 = V(repeating: pa[1])
        c1a.addProduct(w1, s0); c1b.addProduct(w1, s1)
        let w2 = V(repeating: pa[2])
        c2a.addProduct(w2, s0); c2b.addProduct(w2, s1)
        let w3 = V(repeating: pa[3])
        c3a.addProduct(w3, s0); c3b.addProduct(w3, s1)
        let w4 = V(repeating: pa[4])
        c4a.addProduct(w4, s0); c4b.addProduct(w4, s1)
        let w5 = V(repeating: pa[5])
        c5a.addProduct(w5, s0); c5b.addProduct(w5, s1)
        let w6 = V(repeating: pa[6])
        c6a.addProduct(w6, s0); c6b.addProduct(w6, s1)
        let w7 = V(repeating: pa[7])
        c7a.addProduct(w7, s0); c7b.addProduct(w7, s1)
        let w8 = V(repeating: pa[8])
        c8a.addProduct(w8, s0); c8b.addProduct(w8, s1)
        let w9 = V(repeating: pa[9])
        c9a.addProduct(w9, s0); c9b.addProduct(w9, s1)
        let w10 = V(repeating: pa[10])
        c10a.addProduct(w10, s0); c10b.addProduct(w10, s1)
        let w11 = V(repeating: pa[11])
        c11a.addProduct(w11, s0); c11b.addProduct(w11, s1)
        let w12 = V(repeating: pa[12])
        c12a.addProduct(w12, s0); c12b.addProduct(w12, s1)
        let w13 = V(repeating: pa[13])
        c13a.addProduct(w13, s0); c13b.addProduct(w13, s1)
        pa += 14
        pb += 128
    }
    r0.storeBytes(of: c0a, as: V.self); r0.storeBytes(of: c0b, toByteOffset: 64, as: V.self)
    r1.storeBytes(of: c1a, as: V.self); r1.storeBytes(of: c1b, toByteOffset: 64, as: V.self)
    r2.storeBytes(of: c2a, as: V.self); r2.storeBytes(of: c2b, toByteOffset: 64, as: V.self)
    r3.storeBytes(of: c3a, as: V.self); r3.storeBytes(of: c3b, toByteOffset: 64, as: V.self)
    r4.storeBytes(of: c4a, as: V.self); r4.storeBytes(of: c4b, toByteOffset: 64, as: V.self)
    r5.storeBytes(of: c5a, as: V.self); r5.storeBytes(of: c5b, toByteOffset: 64, as: V.self)
    r6.storeBytes(of: c6a, as: V.self); r6.storeBytes(of: c6b, toByteOffset: 64, as: V.self)
    r7.storeBytes(of: c7a, as: V.self); r7.storeBytes(of: c7b, toByteOffset: 64, as: V.self)
    r8.storeBytes(of: c8a, as: V.self); r8.storeBytes(of: c8b, toByteOffset: 64, as: V.self)
    r9.storeBytes(of: c9a, as: V.self); r9.storeBytes(of: c9b, toByteOffset: 64, as: V.self)
    r10.storeBytes(of: c10a, as: V.self); r10.storeBytes(of: c10b, toByteOffset: 64, as: V.self)
    r11.storeBytes(of: c11a, as: V.self); r11.storeBytes(of: c11b, toByteOffset: 64, as: V.self)
    r12.storeBytes(of: c12a, as: V.self); r12.storeBytes(of: c12b, toByteOffset: 64, as: V.self)
    r13.storeBytes(of: c13a, as: V.self); r13.storeBytes(of: c13b, toByteOffset: 64, as: V.self)
}
