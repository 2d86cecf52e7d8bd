/// C[6×16] += A[6×k] · B[k×16] with A read where it is: row i of A starts at
/// `a + min(i, rows − 1) · lda` and is contiguous in k, so a weight tensor (or, in the
/// backward, the transposed weights and gy's rows) needs no packed sliver. Rows past `rows`
/// repeat the last one; all six rows of C are stored, so the caller gives them room.
///
/// The AVX2 counterpart of the in-place AVX-512 kernels, for tiles that are not whole
/// 32-pixel blocks and for CPUs without AVX-512F, forward and backward: `microkernel6x16Body`,
/// so the same FMA sequence per element and the same bits.
@inline(never)
func microkernel6x16InPlace(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    let last = rows - 1
    let a0 = a, a1 = a + min(1, last) * lda, a2 = a + min(2, last) * lda
    let a3 = a + min(3, last) * lda, a4 = a + min(4, last) * lda, a5 = a + min(5, last) * lda
    microkernel6x16Body(k, b, c, ldc, accumulating) { i in (a0[i], a1[i], a2[i], a3[i], a4[i], a5[i]) }
}

/// C[6×16] += A[6×k] · B[k×16] with A column-major: the values of step i at `a + i · lda`,
/// row j at `+ min(j, rows − 1)` (a weight tensor read as Wᵀ in the backward). The AVX2
/// counterpart of `microkernel14x32ColumnMajorAVX512`; `microkernel6x16Body`, same bits.
@inline(never)
func microkernel6x16ColumnMajor(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ rows: Int, _ b: UnsafePointer<Float>,
                                _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool) {
    let last = rows - 1
    let (o1, o2, o3, o4, o5) = (min(1, last), min(2, last), min(3, last), min(4, last), min(5, last))
    microkernel6x16Body(k, b, c, ldc, accumulating) { i in
        let w = a + i * lda
        return (w[0], w[o1], w[o2], w[o3], w[o4], w[o5])
    }
}
