/// destination[j · destinationStride + i] = source[i · sourceStride + j] for i < rows, j < columns
/// (with `adding`, += instead of =): eight by eight in registers, the edges one by one. The
/// channels-last paths' copies: x's windows, T by pixel and gx's windows added back in the
/// backward, y from the transposed accumulators in the forward.
func transpose(_ source: UnsafePointer<Float>, _ sourceStride: Int, into destination: UnsafeMutablePointer<Float>,
               _ destinationStride: Int, rows: Int, columns: Int, adding: Bool = false) {
    typealias V = SIMD8<Float>
    let (fullRows, fullColumns) = (rows / 8 * 8, columns / 8 * 8)
    // One loop per form, so that the stores do not branch on `adding`.
    @inline(__always) func run(adding: Bool) {
        @inline(__always) func load(_ i: Int, _ j: Int) -> V { UnsafeRawPointer(source + i * sourceStride + j).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ j: Int, _ i: Int) {
            let target = UnsafeMutableRawPointer(destination + j * destinationStride + i)
            target.storeBytes(of: adding ? target.loadUnaligned(as: V.self) + v : v, as: V.self)
        }
        @inline(__always) func block(_ i: Int, _ j: Int) {
            let (r0, r1, r2, r3) = (load(i, j), load(i + 1, j), load(i + 2, j), load(i + 3, j))
            let (r4, r5, r6, r7) = (load(i + 4, j), load(i + 5, j), load(i + 6, j), load(i + 7, j))
            // unpcklps/unpckhps, shufps, then the 128-bit halves.
            @inline(__always) func low(_ a: V, _ b: V) -> V { V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
            @inline(__always) func high(_ a: V, _ b: V) -> V { V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
            @inline(__always) func even(_ a: V, _ b: V) -> V { V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
            @inline(__always) func odd(_ a: V, _ b: V) -> V { V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
            @inline(__always) func lowHalves(_ a: V, _ b: V) -> V { V(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]) }
            @inline(__always) func highHalves(_ a: V, _ b: V) -> V { V(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]) }
            let (t0, t1, t2, t3) = (low(r0, r1), high(r0, r1), low(r2, r3), high(r2, r3))
            let (t4, t5, t6, t7) = (low(r4, r5), high(r4, r5), low(r6, r7), high(r6, r7))
            let (u0, u1, u2, u3) = (even(t0, t2), odd(t0, t2), even(t1, t3), odd(t1, t3))
            let (u4, u5, u6, u7) = (even(t4, t6), odd(t4, t6), even(t5, t7), odd(t5, t7))
            store(lowHalves(u0, u4), j, i); store(lowHalves(u1, u5), j + 1, i)
            store(lowHalves(u2, u6), j + 2, i); store(lowHalves(u3, u7), j + 3, i)
            store(highHalves(u0, u4), j + 4, i); store(highHalves(u1, u5), j + 5, i)
            store(highHalves(u2, u6), j + 6, i); store(highHalves(u3, u7), j + 7, i)
        }
        // The side with the longer stride (the channel planes of x or gx, 16 KiB apart on a 64×64 image)
        // is walked line by line: with gx's planes innermost, 32 of them fell into one L1 set and each line
        // was fetched twice, for its two halves (the backward's gx window, simd r50-c3).
        if destinationStride > sourceStride {
            for j in stride(from: 0, to: fullColumns, by: 8) {
                for i in stride(from: 0, to: fullRows, by: 8) { block(i, j) }
            }
        } else {
            for i in stride(from: 0, to: fullRows, by: 8) {
                for j in stride(from: 0, to: fullColumns, by: 8) { block(i, j) }
            }
        }
        for i in 0..<rows {
            let edge = i < fullRows ? fullColumns : 0
            for j in edge..<columns {
                let value = source[i * sourceStride + j]
                destination[j * destinationStride + i] = adding ? destination[j * destinationStride + i] + value : value
            }
        }
    }
    if adding { run(adding: true) } else { run(adding: false) }
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
