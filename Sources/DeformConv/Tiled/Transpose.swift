import DeformConvIntrinsics

/// destination[j · destinationStride + i] = source[i · sourceStride + j] for i < rows, j < columns
/// (with `adding`, += instead of =): eight by eight in registers, the edges one by one. The
/// channels-last paths' copies: x's windows, T by pixel and gx's windows added back in the
/// backward, y from the transposed accumulators in the forward, and the tap's samples into the
/// panel of the forward's window sampling. In C with intrinsics (`dcn_transpose_f32`): written with
/// SIMD8 initialisers, LLVM lowered each output row to element broadcasts and blends, 2.8 times
/// slower (32×32 blocks into rows 288 floats apart on Zen 4: 0.22 ns an element against 0.08).
@inline(__always)
func transpose(_ source: UnsafePointer<Float>, _ sourceStride: Int, into destination: UnsafeMutablePointer<Float>,
               _ destinationStride: Int, rows: Int, columns: Int, adding: Bool = false) {
    dcn_transpose_f32(source, sourceStride, destination, destinationStride, rows, columns, adding ? 1 : 0)
}

/// Lane p of the result is the sum of r_p's eight lanes, ((l0 + l2) + (l1 + l3)) + ((l4 + l6) + (l5 + l7)):
/// eight horizontal sums as three rounds of in-lane shuffles and adds, as the transpose's ladder.
@inline(__always)
func laneSums(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
              _ r4: SIMD8<Float>, _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>) -> SIMD8<Float> {
    typealias V = SIMD8<Float>
    // unpcklps + unpckhps: [a0+a2, b0+b2, a1+a3, b1+b3 | a4+a6, b4+b6, a5+a7, b5+b7].
    @inline(__always) func pairs(_ a: V, _ b: V) -> V {
        V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) + V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
    }
    // shufps 0x44 + 0xEE: [a0+a2, a1+a3, b0+b2, b1+b3 | …] of the pairs, four rows' half sums per 128 bits.
    @inline(__always) func quads(_ a: V, _ b: V) -> V {
        V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) + V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
    }
    let low = quads(pairs(r0, r1), pairs(r2, r3)), high = quads(pairs(r4, r5), pairs(r6, r7))
    // vperm2f128: the halves of rows 0–3 and of rows 4–7.
    return V(lowHalf: low.lowHalf, highHalf: high.lowHalf) + V(lowHalf: low.highHalf, highHalf: high.highHalf)
}
