/// How a run of `count` rows is cut into slivers for a microkernel of `rows` rows: `count`
/// rounded up to whole slivers, which are balanced (sizes differing by at most one) where
/// every sliver then gets at least the entry's `shortestExactRows`, so that no FMA is spent on
/// rows past the run; otherwise `rows` each with a short last one (computed as `rows` into room
/// the caller provides, or through a scratch tile).
///
/// For 128 output channels and the 14-row kernel that is 8 slivers of 13 and 2 of 12 instead of
/// 9 of 14 and one of 2 (which the kernel computes as 14): 128 rows of FMAs instead of 140.
struct SliverPartition: Sendable {
    let count: Int
    let slivers: Int
    let rows: Int
    let balanced: Bool

    /// `count` cut into the fewest parts of at most `size`, balanced: the macro-kernels' channel
    /// blocks (the forward's reduction blocks, the backward's blocks of a segment).
    init(_ count: Int, partsOfAtMost size: Int) {
        self.count = count
        rows = size
        slivers = (count + size - 1) / size
        balanced = true
    }

    init(_ count: Int, _ microkernel: MicrokernelConfiguration) {
        self.count = count
        rows = microkernel.rows
        slivers = (count + rows - 1) / rows
        if let shortest = microkernel.shortestExactRows { balanced = count >= shortest * slivers } else { balanced = false }
    }

    /// The first row of sliver `sliver`, for `sliver` in 0...slivers (the last is `count`).
    /// Balanced: the first count mod slivers slivers get one row more than the others.
    @inline(__always)
    func start(_ sliver: Int) -> Int {
        guard balanced else { return min(sliver * rows, count) }
        let (base, extra) = count.quotientAndRemainder(dividingBy: slivers)
        return sliver * base + min(sliver, extra)
    }
}
