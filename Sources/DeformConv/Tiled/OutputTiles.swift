/// Each image's output plane (Ho·Wo pixels, row-major) cut into tiles of `pixels` consecutive
/// pixels, the last one short where the plane is not a multiple of the tile: the unit that the
/// tiled forwards (`TiledConvolution`, `ChannelsLastConvolution`) and the backward
/// (`TiledBackward`) plan, sample and multiply, every tap for all of a tile's pixels at once.
struct OutputTiles: Sendable {
    /// Pixels per tile (`Tiling.pixelsPerTile`): the width of a plan, a panel and an accumulator row.
    let pixels: Int
    /// Taps each pixel samples: kh·kw.
    let taps: Int
    /// Pixels per image: Ho·Wo.
    let plane: Int
    /// Tiles per image.
    let perImage: Int

    init(_ problem: DeformConvProblem, pixelsPerTile: Int) {
        pixels = pixelsPerTile
        taps = problem.kernelHeight * problem.kernelWidth
        plane = problem.outputHeight * problem.outputWidth
        perImage = (plane + pixels - 1) / pixels
    }

    /// Work item `item` of a call whose items run over (image, convolution group, tile), tiles
    /// innermost (`groups` 1 where an item serves every group): its image and group, the tile's
    /// first pixel in the plane, and how many of its pixels lie in the plane.
    @inline(__always)
    func item(_ item: Int, groups: Int) -> (n: Int, group: Int, firstPixel: Int, valid: Int) {
        let (image, tile) = item.quotientAndRemainder(dividingBy: perImage)
        let firstPixel = tile * pixels
        return (image / groups, image % groups, firstPixel, min(pixels, plane - firstPixel))
    }

    /// A plan for one tile: an entry per (offset group, tap), `coefficients` per entry and pixel
    /// (4 for the forwards, 13 for the backward).
    func plan(_ problem: DeformConvProblem, coefficients: Int) -> SamplingPlan {
        SamplingPlan(entries: problem.deformableGroups * taps, pixels: pixels, coefficients: coefficients,
                     height: problem.height, width: problem.width)
    }
}
