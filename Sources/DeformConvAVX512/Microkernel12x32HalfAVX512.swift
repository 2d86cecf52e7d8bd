/// C[12×32] ← fl16(C + A·B), one k at a time, on 512-bit registers: the AVX-512 twin of
/// DeformConv's 6×16 `fp16acc` microkernel, with the same sequence of roundings per output
/// element, acc ← fl16(fl32(acc + w·s)), so the results are bit-identical.
///
/// The rounding is written as a lane-by-lane conversion because LLVM turns that loop into
/// one vcvtps2ph zmm and one vcvtph2ps zmm, where the standard library's SIMD16<Float16>
/// conversion became a call. Each rounding costs about two cycles of conversion
/// throughput; with 24 accumulators in flight that, not the FMAs, sets the speed.
///
/// A is read in place like `microkernel14x32AVX512`'s: row i starts at
/// `a + min(i, rows − 1) · lda`. Only call it on a CPU with AVX-512F.
@inline(never)
public func microkernel12x32RoundingToHalfAVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int,
                                                 _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    typealias V = SIMD16<Float>
    @inline(__always) func update(_ acc: inout V, _ w: V, _ s: V) {
        acc.addProduct(w, s)
        var half = SIMD16<Float16>()
        for lane in 0..<16 { half[lane] = Float16(acc[lane]) }
        for lane in 0..<16 { acc[lane] = Float(half[lane]) }
    }
    let stride = 4 * ldc
    let last = rows - 1
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
    let a0 = a
    let a1 = a + min(1, last) * lda
    let a2 = a + min(2, last) * lda
    let a3 = a + min(3, last) * lda
    let a4 = a + min(4, last) * lda
    let a5 = a + min(5, last) * lda
    let a6 = a + min(6, last) * lda
    let a7 = a + min(7, last) * lda
    let a8 = a + min(8, last) * lda
    let a9 = a + min(9, last) * lda
    let a10 = a + min(10, last) * lda
    let a11 = a + min(11, last) * lda
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
    var pb = UnsafeRawPointer(b)
    for i in 0..<k {
        let s0 = pb.loadUnaligned(as: V.self), s1 = pb.loadUnaligned(fromByteOffset: 64, as: V.self)
        let w0 = V(repeating: a0[i])
        update(&c0a, w0, s0); update(&c0b, w0, s1)
        let w1 = V(repeating: a1[i])
        update(&c1a, w1, s0); update(&c1b, w1, s1)
        let w2 = V(repeating: a2[i])
        update(&c2a, w2, s0); update(&c2b, w2, s1)
        let w3 = V(repeating: a3[i])
        update(&c3a, w3, s0); update(&c3b, w3, s1)
        let w4 = V(repeating: a4[i])
        update(&c4a, w4, s0); update(&c4b, w4, s1)
        let w5 = V(repeating: a5[i])
        update(&c5a, w5, s0); update(&c5b, w5, s1)
        let w6 = V(repeating: a6[i])
        update(&c6a, w6, s0); update(&c6b, w6, s1)
        let w7 = V(repeating: a7[i])
        update(&c7a, w7, s0); update(&c7b, w7, s1)
        let w8 = V(repeating: a8[i])
        update(&c8a, w8, s0); update(&c8b, w8, s1)
        let w9 = V(repeating: a9[i])
        update(&c9a, w9, s0); update(&c9b, w9, s1)
        let w10 = V(repeating: a10[i])
        update(&c10a, w10, s0); update(&c10b, w10, s1)
        let w11 = V(repeating: a11[i])
        update(&c11a, w11, s0); update(&c11b, w11, s1)
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
}
