/// Packs one sliver of weights for the microkernels: `lanes` rows of `rows` weights
/// each (`source[lane]`, nil for a lane past the group's last output channel) become
/// k-major groups of `lanes` values, `destination[row · lanes + lane]`, with zeros
/// in the nil lanes.
///
/// The packing is a transpose. Done element by element its strided stores cost as
/// much as a fifth of a call on shapes with few pixels and many weights (r50-c5);
/// here each 8×8 block is loaded as eight vectors, transposed in registers (the
/// unpack / shuffle / 128-bit swap ladder of a classic AVX transpose) and stored as
/// contiguous pieces of eight, four, two and one.
func packWeightSliver(_ source: [UnsafePointer<Float>?], lanes: Int, rows: Int,
                      into destination: UnsafeMutablePointer<Float>) {
    typealias V = SIMD8<Float>
    let fullRows = rows - rows % 8
    for firstLane in stride(from: 0, to: lanes, by: 8) {
        let width = min(8, lanes - firstLane)
        let sources = (0..<8).map { i in i < width ? source[firstLane + i].map(UnsafeRawPointer.init) : nil }
        for firstRow in stride(from: 0, to: fullRows, by: 8) {
            @inline(__always) func load(_ i: Int) -> V {
                sources[i]?.loadUnaligned(fromByteOffset: 4 * firstRow, as: V.self) ?? V()
            }
            let t = transposed(load(0), load(1), load(2), load(3), load(4), load(5), load(6), load(7))
            let row0 = UnsafeMutableRawPointer(destination + firstRow * lanes + firstLane), step = 4 * lanes
            store(t.0, width, row0)
            store(t.1, width, row0 + step)
            store(t.2, width, row0 + 2 * step)
            store(t.3, width, row0 + 3 * step)
            store(t.4, width, row0 + 4 * step)
            store(t.5, width, row0 + 5 * step)
            store(t.6, width, row0 + 6 * step)
            store(t.7, width, row0 + 7 * step)
        }
        for row in fullRows..<rows {
            for i in 0..<width {
                destination[row * lanes + firstLane + i] = sources[i]?.load(fromByteOffset: 4 * row, as: Float.self) ?? 0
            }
        }
    }
}

/// The first `count` (1 to 8) lanes of `v`, stored without touching the memory after them.
@inline(__always)
private func store(_ v: SIMD8<Float>, _ count: Int, _ destination: UnsafeMutableRawPointer) {
    if count == 8 { return destination.storeBytes(of: v, as: SIMD8<Float>.self) }
    var offset = 0
    var rest = v
    if count & 4 != 0 {
        destination.storeBytes(of: rest.lowHalf, as: SIMD4<Float>.self)
        rest = SIMD8(lowHalf: rest.highHalf, highHalf: .zero)
        offset = 16
    }
    if count & 2 != 0 {
        destination.storeBytes(of: rest.lowHalf.lowHalf, toByteOffset: offset, as: SIMD2<Float>.self)
        rest = SIMD8(lowHalf: SIMD4(lowHalf: rest.lowHalf.highHalf, highHalf: .zero), highHalf: .zero)
        offset += 8
    }
    if count & 1 != 0 {
        destination.storeBytes(of: rest[0], toByteOffset: offset, as: Float.self)
    }
}

/// The columns of the 8×8 matrix whose rows are r0…r7.
@inline(__always)
private func transposed(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
                        _ r4: SIMD8<Float>, _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>)
    -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    typealias V = SIMD8<Float>
    // Interleave pairs of rows (unpcklps / unpckhps).
    @inline(__always) func low(_ a: V, _ b: V) -> V { V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
    @inline(__always) func high(_ a: V, _ b: V) -> V { V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
    // Pairs of pairs (shufps 0x44 / 0xEE).
    @inline(__always) func even(_ a: V, _ b: V) -> V { V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
    @inline(__always) func odd(_ a: V, _ b: V) -> V { V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
    let a0 = low(r0, r1), a1 = high(r0, r1), a2 = low(r2, r3), a3 = high(r2, r3)
    let a4 = low(r4, r5), a5 = high(r4, r5), a6 = low(r6, r7), a7 = high(r6, r7)
    let b0 = even(a0, a2), b1 = odd(a0, a2), b2 = even(a1, a3), b3 = odd(a1, a3)
    let b4 = even(a4, a6), b5 = odd(a4, a6), b6 = even(a5, a7), b7 = odd(a5, a7)
    // Swap 128-bit halves (vperm2f128).
    return (V(lowHalf: b0.lowHalf, highHalf: b4.lowHalf), V(lowHalf: b1.lowHalf, highHalf: b5.lowHalf),
            V(lowHalf: b2.lowHalf, highHalf: b6.lowHalf), V(lowHalf: b3.lowHalf, highHalf: b7.lowHalf),
            V(lowHalf: b0.highHalf, highHalf: b4.highHalf), V(lowHalf: b1.highHalf, highHalf: b5.highHalf),
            V(lowHalf: b2.highHalf, highHalf: b6.highHalf), V(lowHalf: b3.highHalf, highHalf: b7.highHalf))
}
