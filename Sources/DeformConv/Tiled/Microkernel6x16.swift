/// C[6×16] += A[6×k] · B[k×16]: the register-blocked FMA core of the AVX2 Float32 kernels.
///
/// `weights(i)` gives A's six values for k = i: six rows read in place (`microkernel6x16InPlace`)
/// or a column-major A (`microkernel6x16ColumnMajor`); `b` is a packed panel block, k rows of 16
/// values; `c` six rows of 16 accumulators with row stride `ldc`. Twelve ymm accumulators, two ymm
/// loads and six broadcasts per k: the classic Haswell shape (BLIS's haswell sgemm kernel is 6×16).
/// Inlined into each kernel, so the closure vanishes; the kernels themselves stay out of line:
/// inlined into its caller, LLVM fell back to 128-bit registers and a fifth of the speed. One FMA
/// chain over k per element, from C's value, or from +0 without reading C where not `accumulating`
/// (the same bits as from a C cleared to +0, without the clearing pass).
@inline(__always)
func microkernel6x16Body(_ k: Int, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulating: Bool,
                         _ weights: (Int) -> (Float, Float, Float, Float, Float, Float)) {
    typealias V = SIMD8<Float>
    let c0 = UnsafeMutableRawPointer(c), c1 = UnsafeMutableRawPointer(c + ldc), c2 = UnsafeMutableRawPointer(c + 2 * ldc)
    let c3 = UnsafeMutableRawPointer(c + 3 * ldc), c4 = UnsafeMutableRawPointer(c + 4 * ldc), c5 = UnsafeMutableRawPointer(c + 5 * ldc)
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    if accumulating {
        c00 = c0.loadUnaligned(as: V.self); c01 = c0.loadUnaligned(fromByteOffset: 32, as: V.self)
        c10 = c1.loadUnaligned(as: V.self); c11 = c1.loadUnaligned(fromByteOffset: 32, as: V.self)
        c20 = c2.loadUnaligned(as: V.self); c21 = c2.loadUnaligned(fromByteOffset: 32, as: V.self)
        c30 = c3.loadUnaligned(as: V.self); c31 = c3.loadUnaligned(fromByteOffset: 32, as: V.self)
        c40 = c4.loadUnaligned(as: V.self); c41 = c4.loadUnaligned(fromByteOffset: 32, as: V.self)
        c50 = c5.loadUnaligned(as: V.self); c51 = c5.loadUnaligned(fromByteOffset: 32, as: V.self)
    }
    var pb = UnsafeRawPointer(b)
    for i in 0..<k {
        let b0 = pb.loadUnaligned(as: V.self), b1 = pb.loadUnaligned(fromByteOffset: 32, as: V.self)
        let a = weights(i)
        var w = V(repeating: a.0)
        c00.addProduct(w, b0); c01.addProduct(w, b1)
        w = V(repeating: a.1)
        c10.addProduct(w, b0); c11.addProduct(w, b1)
        w = V(repeating: a.2)
        c20.addProduct(w, b0); c21.addProduct(w, b1)
        w = V(repeating: a.3)
        c30.addProduct(w, b0); c31.addProduct(w, b1)
        w = V(repeating: a.4)
        c40.addProduct(w, b0); c41.addProduct(w, b1)
        w = V(repeating: a.5)
        c50.addProduct(w, b0); c51.addProduct(w, b1)
        pb += 64
    }
    c0.storeBytes(of: c00, as: V.self); c0.storeBytes(of: c01, toByteOffset: 32, as: V.self)
    c1.storeBytes(of: c10, as: V.self); c1.storeBytes(of: c11, toByteOffset: 32, as: V.self)
    c2.storeBytes(of: c20, as: V.self); c2.storeBytes(of: c21, toByteOffset: 32, as: V.self)
    c3.storeBytes(of: c30, as: V.self); c3.storeBytes(of: c31, toByteOffset: 32, as: V.self)
    c4.storeBytes(of: c40, as: V.self); c4.storeBytes(of: c41, toByteOffset: 32, as: V.self)
    c5.storeBytes(of: c50, as: V.self); c5.storeBytes(of: c51, toByteOffset: 32, as: V.self)
}
