/// C[14×32] += A[14×k] · B[k×32] on 512-bit registers: two zmm columns per row, so each
/// broadcast weight feeds two FMAs and each k needs 16 loads for 28 FMAs (a 12×16 kernel
/// needs 13 for 12). Used with panels of 32-pixel blocks; same FMA sequence per output
/// element as the 6×16 AVX2 microkernel. Only call it on a CPU with AVX-512F.
///
/// A is read where it is, the weight tensor itself: row i starts at `a + min(i, rows − 1) · lda`,
/// and rows past the last output channel repeat it (their accumulators are never stored).
/// Packing slivers took a tenth of simd's and a fifth of threaded's time on r50-c5, and a copy
/// of the weights; the 14 row pointers cost a few reloads from the stack per k, which the load
/// ports absorb.
@inline(never)
public func microkernel14x32AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    inPlaceBody(14, k, a, lda, rows, b, c, ldc, accumulating)
}

/// The 14×32 kernel without its last row: C[13×32] += A · B, same operations per element. For
/// slivers of 13 output channels (`MicrokernelConfiguration.multiply` picks it by the live rows).
@inline(never)
public func microkernel13x32AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    inPlaceBody(13, k, a, lda, rows, b, c, ldc, accumulating)
}

/// The 14×32 kernel without its last two rows: C[12×32] += A · B, same operations per element.
@inline(never)
public func microkernel12x32AVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    inPlaceBody(12, k, a, lda, rows, b, c, ldc, accumulating)
}

/// C[14×32] += A[14×k] · B[k×32] with A column-major: the values of step i are contiguous at
/// `a + i · lda`, as in a weight tensor [o][row] read as Wᵀ (the backward's T = Wᵀ·gy, whose A
/// row r is column r of the weights): no transposed copy of the weights. Rows past `rows` repeat
/// the last one, so nothing past the live rows is read. Same operations per element as the
/// row-pointer kernels.
@inline(never)
public func microkernel14x32ColumnMajorAVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    columnMajorBody(14, k, a, lda, rows, b, c, ldc, accumulating)
}

/// The column-major kernel without its last row (slivers of 13).
@inline(never)
public func microkernel13x32ColumnMajorAVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    columnMajorBody(13, k, a, lda, rows, b, c, ldc, accumulating)
}

/// The column-major kernel without its last two rows (slivers of 12).
@inline(never)
public func microkernel12x32ColumnMajorAVX512(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    columnMajorBody(12, k, a, lda, rows, b, c, ldc, accumulating)
}

typealias Step = (Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float, Float)

/// The column-major kernels' A: row j of step i at `a + i · lda + min(j, rows − 1)`. With every row
/// live (nearly every call) the offsets are constants instead of 13 registers, which spilled: T on
/// r50-c5's shapes (k = 512, 21 slivers of a block, eight 32-pixel column blocks), 108.4–108.9 against
/// 107.5–107.6 GFLOP/s, three alternations.
@inline(__always)
func columnMajorBody(_ height: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    if rows >= height {
        // Rows past `height` are not read (the body drops them), so their offsets need no clamping.
        microkernelBody(height, k, b, c, ldc, accumulating) { i in
            let w = a + i * lda
            return (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[min(12, height - 1)], w[min(13, height - 1)])
        }
        return
    }
    let last = rows - 1
    let (o1, o2, o3, o4, o5, o6) = (min(1, last), min(2, last), min(3, last), min(4, last), min(5, last), min(6, last))
    let (o7, o8, o9, o10, o11, o12, o13) = (min(7, last), min(8, last), min(9, last), min(10, last), min(11, last), min(12, last), min(13, last))
    microkernelBody(height, k, b, c, ldc, accumulating) { i in
        let w = a + i * lda
        return (w[0], w[o1], w[o2], w[o3], w[o4], w[o5], w[o6], w[o7], w[o8], w[o9], w[o10], w[o11], w[o12], w[o13])
    }
}

/// The row-pointer kernels' A: row i at `a + min(i, rows − 1) · lda`.
@inline(__always)
func inPlaceBody(_ height: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                 _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    let last = rows - 1
    let a0 = a, a1 = a + min(1, last) * lda, a2 = a + min(2, last) * lda, a3 = a + min(3, last) * lda
    let a4 = a + min(4, last) * lda, a5 = a + min(5, last) * lda, a6 = a + min(6, last) * lda
    let a7 = a + min(7, last) * lda, a8 = a + min(8, last) * lda, a9 = a + min(9, last) * lda
    let a10 = a + min(10, last) * lda, a11 = a + min(11, last) * lda, a12 = a + min(12, last) * lda
    let a13 = a + min(13, last) * lda
    microkernelBody(height, k, b, c, ldc, accumulating) { i in
        (a0[i], a1[i], a2[i], a3[i], a4[i], a5[i], a6[i], a7[i], a8[i], a9[i], a10[i], a11[i], a12[i], a13[i])
    }
}

/// The kernels' common body; `height` (12, 13 or 14) is a constant at each call, so the rows past it
/// vanish, and `weights(i)` gives A's values of step i (inlined, so the reads of rows past `height` too).
/// Where not `accumulating` the FMA chains start from +0 without reading C: the same bits as from a C
/// cleared to +0, without the clearing pass (the backward's T and its first tile of gweight).
@inline(__always)
func microkernelBody(_ height: Int, _ k: Int, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                     _ accumulating: Bool, _ weights: (Int) -> Step) {
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
    var c0a = V(), c0b = V(), c1a = V(), c1b = V(), c2a = V(), c2b = V(), c3a = V(), c3b = V()
    var c4a = V(), c4b = V(), c5a = V(), c5b = V(), c6a = V(), c6b = V(), c7a = V(), c7b = V()
    var c8a = V(), c8b = V(), c9a = V(), c9b = V(), c10a = V(), c10b = V(), c11a = V(), c11b = V()
    var c12a = V(), c12b = V(), c13a = V(), c13b = V()
    if accumulating {
        c0a = r0.loadUnaligned(as: V.self); c0b = r0.loadUnaligned(fromByteOffset: 64, as: V.self)
        c1a = r1.loadUnaligned(as: V.self); c1b = r1.loadUnaligned(fromByteOffset: 64, as: V.self)
        c2a = r2.loadUnaligned(as: V.self); c2b = r2.loadUnaligned(fromByteOffset: 64, as: V.self)
        c3a = r3.loadUnaligned(as: V.self); c3b = r3.loadUnaligned(fromByteOffset: 64, as: V.self)
        c4a = r4.loadUnaligned(as: V.self); c4b = r4.loadUnaligned(fromByteOffset: 64, as: V.self)
        c5a = r5.loadUnaligned(as: V.self); c5b = r5.loadUnaligned(fromByteOffset: 64, as: V.self)
        c6a = r6.loadUnaligned(as: V.self); c6b = r6.loadUnaligned(fromByteOffset: 64, as: V.self)
        c7a = r7.loadUnaligned(as: V.self); c7b = r7.loadUnaligned(fromByteOffset: 64, as: V.self)
        c8a = r8.loadUnaligned(as: V.self); c8b = r8.loadUnaligned(fromByteOffset: 64, as: V.self)
        c9a = r9.loadUnaligned(as: V.self); c9b = r9.loadUnaligned(fromByteOffset: 64, as: V.self)
        c10a = r10.loadUnaligned(as: V.self); c10b = r10.loadUnaligned(fromByteOffset: 64, as: V.self)
        c11a = r11.loadUnaligned(as: V.self); c11b = r11.loadUnaligned(fromByteOffset: 64, as: V.self)
        if height > 12 { c12a = r12.loadUnaligned(as: V.self); c12b = r12.loadUnaligned(fromByteOffset: 64, as: V.self) }
        if height > 13 { c13a = r13.loadUnaligned(as: V.self); c13b = r13.loadUnaligned(fromByteOffset: 64, as: V.self) }
    }
    var pb = UnsafeRawPointer(b)
    for i in 0..<k {
        let s0 = pb.loadUnaligned(as: V.self), s1 = pb.loadUnaligned(fromByteOffset: 64, as: V.self)
        let a = weights(i)
        let w0 = V(repeating: a.0)
        c0a.addProduct(w0, s0); c0b.addProduct(w0, s1)
        let w1 = V(repeating: a.1)
        c1a.addProduct(w1, s0); c1b.addProduct(w1, s1)
        let w2 = V(repeating: a.2)
        c2a.addProduct(w2, s0); c2b.addProduct(w2, s1)
        let w3 = V(repeating: a.3)
        c3a.addProduct(w3, s0); c3b.addProduct(w3, s1)
        let w4 = V(repeating: a.4)
        c4a.addProduct(w4, s0); c4b.addProduct(w4, s1)
        let w5 = V(repeating: a.5)
        c5a.addProduct(w5, s0); c5b.addProduct(w5, s1)
        let w6 = V(repeating: a.6)
        c6a.addProduct(w6, s0); c6b.addProduct(w6, s1)
        let w7 = V(repeating: a.7)
        c7a.addProduct(w7, s0); c7b.addProduct(w7, s1)
        let w8 = V(repeating: a.8)
        c8a.addProduct(w8, s0); c8b.addProduct(w8, s1)
        let w9 = V(repeating: a.9)
        c9a.addProduct(w9, s0); c9b.addProduct(w9, s1)
        let w10 = V(repeating: a.10)
        c10a.addProduct(w10, s0); c10b.addProduct(w10, s1)
        let w11 = V(repeating: a.11)
        c11a.addProduct(w11, s0); c11b.addProduct(w11, s1)
        if height > 12 {
            let w12 = V(repeating: a.12)
            c12a.addProduct(w12, s0); c12b.addProduct(w12, s1)
        }
        if height > 13 {
            let w13 = V(repeating: a.13)
            c13a.addProduct(w13, s0); c13b.addProduct(w13, s1)
        }
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
    if height > 12 { r12.storeBytes(of: c12a, as: V.self); r12.storeBytes(of: c12b, toByteOffset: 64, as: V.self) }
    if height > 13 { r13.storeBytes(of: c13a, as: V.self); r13.storeBytes(of: c13b, toByteOffset: 64, as: V.self) }
}
