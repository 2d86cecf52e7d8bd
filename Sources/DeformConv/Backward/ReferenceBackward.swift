/// SPEC section 7's backward formulas evaluated in Float64 for one problem and gy, with
/// every gradient element's abs, pos, jump and L, on any number of threads with the same bits.
///
/// Each gradient element adds its terms in the order of one walk over the samples in
/// (n, c, i, j, ho, wo) order, as SPEC writes the sums; for each sample the column gradient
/// t = Σ_o gy·w is formed in o order, then scattered into gx and the offsets gradient and
/// reduced into gweight. That order is kept by two passes whose work items own disjoint
/// elements:
/// - pass 1, one item per channel c (all images, in order): gx of the channel's planes (its
///   samples in (i, j, ho, wo) order) and gweight[·, c', i, j] (its samples in (n, ho, wo) order);
/// - pass 2, one item per (n, offset tap): the offsets gradient at that tap (its samples in c
///   order, C/dg of them per element).
/// Both passes need t, so pass 2 forms it again rather than keep 2·N·C·kh·kw·Ho·Wo doubles
/// (75 MB for r50-c3): it costs about a quarter of the backward's time.
///
/// t and gweight's sums are vectorised (over pixels and over output channels), lane by lane
/// the scalar operations: Float64 has no fused multiply-add here.
struct ReferenceBackward {
    typealias Lanes = SIMD8<Double>

    let p: DeformConvProblem
    let inputs: DeformConvInputs<Double>
    let samplingUnitRoundoff: Double
    /// Which one-sided derivative the offsets gradient takes at integer positions.
    let convention: DerivativeConvention
    /// gy as [n][ho][wo][o].
    let gyByPixel: [Double]
    /// gy as [n][block of 8 pixels][o][pixel in the block], for t's sums over vectors of pixels: read in
    /// gy's own layout they would be Ho·Wo doubles apart, 32 KB for r50-c3, and all fall in one set of
    /// the L1 cache (the first version spent a third of the backward there).
    let gyByBlock: [Double]
    /// weight as [c'][i][j][o].
    let weightByTap: [Double]

    init(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Double>, gy: [Double], samplingUnitRoundoff: Double,
         convention: DerivativeConvention) {
        precondition(inputs.matches(p), "inputs do not match the problem's shapes")
        precondition(gy.count == p.outputCount, "gy does not match the output's shape")
        self.p = p
        self.inputs = inputs
        self.samplingUnitRoundoff = samplingUnitRoundoff
        self.convention = convention
        let (co, pixels, taps) = (p.outputChannels, p.outputHeight * p.outputWidth, p.reductionLength)
        var gyByPixel = [Double](repeating: 0, count: p.outputCount)
        for n in 0..<p.batch {
            for o in 0..<co {
                for pixel in 0..<pixels {
                    gyByPixel[(n * pixels + pixel) * co + o] = gy[(n * co + o) * pixels + pixel]
                }
            }
        }
        var weightByTap = [Double](repeating: 0, count: p.weightCount)
        for o in 0..<co {
            for tap in 0..<taps {
                weightByTap[tap * co + o] = inputs.weight[o * taps + tap]
            }
        }
        // Zero past the last pixel, so that the last block loads whole vectors.
        let blocks = (pixels + Lanes.scalarCount - 1) / Lanes.scalarCount
        var gyByBlock = [Double](repeating: 0, count: p.batch * blocks * co * Lanes.scalarCount)
        for n in 0..<p.batch {
            for o in 0..<co {
                for pixel in 0..<pixels {
                    let (block, lane) = pixel.quotientAndRemainder(dividingBy: Lanes.scalarCount)
                    gyByBlock[((n * blocks + block) * co + o) * Lanes.scalarCount + lane] = gy[(n * co + o) * pixels + pixel]
                }
            }
        }
        self.gyByPixel = gyByPixel
        self.gyByBlock = gyByBlock
        self.weightByTap = weightByTap
    }

    /// The gradients; `work` counts 2·N·C·kh·kw·Ho·Wo units: each pass visits every sample once.
    func run(_ work: ReferenceWork) -> ReferenceGradients {
        var gx = ReferenceGradient(count: p.xCount, reductionLength: p.outputChannelsPerGroup)
        var goffsets = ReferenceGradient(count: p.offsetsCount, reductionLength: p.outputChannelsPerGroup + p.channelsPerDeformableGroup)
        var integerPositions = [Bool](repeating: false, count: p.offsetsCount)
        // gweight's value, abs and pos as [c'][i][j][o], transposed back at the end.
        var gweightByTap = ReferenceGradient(count: p.weightCount, reductionLength: 0)
        gx.withPointers { gx in
            gweightByTap.withPointers { gweight in
                let kernelTaps = p.kernelHeight * p.kernelWidth, pixels = p.outputHeight * p.outputWidth
                work.share(p.channels) { nextItem in
                    let t = ColumnGradient(count: kernelTaps * pixels)
                    let samples = UnsafeMutablePointer<WeightSample>.allocate(capacity: kernelTaps * pixels)
                    defer { t.deallocate(); samples.deallocate() }
                    while let c = nextItem() {
                        for n in 0..<p.batch {
                            columnGradient(n: n, c: c, taps: 0..<kernelTaps, into: t)
                            inputGradient(n: n, c: c, t, gx, samples)
                            weightGradient(n: n, c: c, samples, gweight)
                            work.finished(kernelTaps * pixels)
                        }
                    }
                }
            }
        }
        goffsets.withPointers { goffsets in
            integerPositions.withUnsafeMutableBufferPointer { integer in
                let integer = SharedPointer(integer.baseAddress!)
                let kernelTaps = p.kernelHeight * p.kernelWidth, pixels = p.outputHeight * p.outputWidth
                work.share(p.batch * p.offsetTaps) { nextItem in
                    let t = ColumnGradient(count: pixels)
                    defer { t.deallocate() }
                    while let item = nextItem() {
                        let (n, k) = item.quotientAndRemainder(dividingBy: p.offsetTaps)
                        let (dg, tap) = k.quotientAndRemainder(dividingBy: kernelTaps)
                        for c in (dg * p.channelsPerDeformableGroup)..<((dg + 1) * p.channelsPerDeformableGroup) {
                            columnGradient(n: n, c: c, taps: tap..<(tap + 1), into: t)
                            offsetsGradient(n: n, c: c, tap: tap, t, goffsets, integer)
                        }
                        work.finished(p.channelsPerDeformableGroup * pixels)
                    }
                }
            }
        }
        return ReferenceGradients(gx: gx, gweight: gweight(gweightByTap), goffsets: goffsets, gbias: gbias(),
                                  integerPositions: integerPositions)
    }

    /// t and its abs Σ_o |gy|·|w| for the samples (n, c, tap, ·) of `taps`, as [tap − taps.lowerBound][pixel],
    /// vectorised over pixels.
    private func columnGradient(n: Int, c: Int, taps: Range<Int>, into t: ColumnGradient) {
        let (co, pixels, kernelTaps) = (p.outputChannels, p.outputHeight * p.outputWidth, p.kernelHeight * p.kernelWidth)
        let group = c / p.channelsPerGroup
        let cg = c - group * p.channelsPerGroup
        let outputs = (group * p.outputChannelsPerGroup)..<((group + 1) * p.outputChannelsPerGroup)
        let blocks = (pixels + Lanes.scalarCount - 1) / Lanes.scalarCount
        gyByBlock.withUnsafeBufferPointer { gy in
            weightByTap.withUnsafeBufferPointer { weight in
                for block in 0..<blocks {
                    let first = block * Lanes.scalarCount
                    let lanes = min(Lanes.scalarCount, pixels - first)
                    let gyBlock = gy.baseAddress! + (n * blocks + block) * co * Lanes.scalarCount
                    for tap in taps {
                        let weightRow = (cg * kernelTaps + tap) * co
                        var sum = Lanes(repeating: 0), sumAbs = Lanes(repeating: 0)
                        for o in outputs {
                            let w = weight[weightRow + o]
                            let g = Lanes.load(gyBlock + o * Lanes.scalarCount, Lanes.scalarCount)
                            sum += g * w
                            sumAbs += g.absolute * Swift.abs(w)
                        }
                        let at = (tap - taps.lowerBound) * pixels + first
                        sum.store(to: t.value + at, lanes)
                        sumAbs.store(to: t.abs + at, lanes)
                    }
                }
            }
        }
    }

    /// gx of plane (n, c): the samples' bilinear corners (value, abs and L) and the 4×4 cells a
    /// rounded position may reach (pos), in (i, j, ho, wo) order; and what each sample gives gweight.
    private func inputGradient(n: Int, c: Int, _ t: ColumnGradient, _ gx: GradientPointers,
                               _ samples: UnsafeMutablePointer<WeightSample>) {
        let g = p.geometry
        let (kernelTaps, pixels) = (p.kernelHeight * p.kernelWidth, p.outputHeight * p.outputWidth)
        inputs.x.withUnsafeBufferPointer { x in
            inputs.offsets.withUnsafeBufferPointer { offsets in
                for tap in 0..<kernelTaps {
                    for pixel in 0..<pixels {
                        let at = tap * pixels + pixel
                        guard let s = BackwardSample(p, x.baseAddress!, offsets.baseAddress!, n: n, c: c, tap: tap, pixel: pixel,
                                                     unitRoundoff: samplingUnitRoundoff, convention: convention),
                              s.inWindow else {
                            samples[at] = WeightSample(inWindow: false, value: 0, abs: 0, pos: 0)
                            continue
                        }
                        let magnitudes = s.cellMagnitudes(gxCells: true)
                        let mt = s.m * t.value[at], mtAbs = Swift.abs(s.m) * t.abs[at]
                        let weights = s.weights
                        for a in 0..<2 {
                            for b in 0..<2 where (0..<g.height).contains(s.y0 + a) && (0..<g.width).contains(s.x0 + b) {
                                let index = (s.plane + s.y0 + a) * g.width + s.x0 + b
                                gx.value[index] += mt * weights[a * 2 + b]
                                gx.abs[index] += mtAbs * weights[a * 2 + b]
                                gx.reductionLength[index] += 1
                            }
                        }
                        for a in -1...2 {
                            for b in -1...2 where (0..<g.height).contains(s.y0 + a) && (0..<g.width).contains(s.x0 + b) {
                                gx.pos[(s.plane + s.y0 + a) * g.width + s.x0 + b] += mtAbs * magnitudes.gxPos[(a + 1) * 4 + b + 1]
                            }
                        }
                        let bilinear = s.bilinear(weights)
                        samples[at] = WeightSample(inWindow: true, value: s.m * bilinear.value, abs: Swift.abs(s.m) * bilinear.abs,
                                                   pos: Swift.abs(s.m) * magnitudes.samplePos)
                    }
                }
            }
        }
    }

    /// gweight[o, c', i, j] += gy[n, o, ho, wo]·(m·B) (and its abs and pos) over the channel's samples
    /// inside B's window, pixel by pixel, vectorised over o. Each element's terms come in (n, ho, wo)
    /// order whatever the loop over the taps inside the loop over pixels.
    private func weightGradient(n: Int, c: Int, _ samples: UnsafePointer<WeightSample>, _ gweight: GradientPointers) {
        let (co, pixels, kernelTaps) = (p.outputChannels, p.outputHeight * p.outputWidth, p.kernelHeight * p.kernelWidth)
        let group = c / p.channelsPerGroup
        let cg = c - group * p.channelsPerGroup
        let (firstOutput, cog) = (group * p.outputChannelsPerGroup, p.outputChannelsPerGroup)
        gyByPixel.withUnsafeBufferPointer { gyByPixel in
            for pixel in 0..<pixels {
                let gyRow = gyByPixel.baseAddress! + (n * pixels + pixel) * co + firstOutput
                for tap in 0..<kernelTaps {
                    let s = samples[tap * pixels + pixel]
                    guard s.inWindow else { continue }
                    let row = (cg * kernelTaps + tap) * co + firstOutput
                    for first in stride(from: 0, to: cog, by: Lanes.scalarCount) {
                        let lanes = min(Lanes.scalarCount, cog - first)
                        let g = Lanes.load(gyRow + first, lanes), gAbs = g.absolute
                        (Lanes.load(gweight.value + row + first, lanes) + g * s.value).store(to: gweight.value + row + first, lanes)
                        (Lanes.load(gweight.abs + row + first, lanes) + gAbs * s.abs).store(to: gweight.abs + row + first, lanes)
                        (Lanes.load(gweight.pos + row + first, lanes) + gAbs * s.pos).store(to: gweight.pos + row + first, lanes)
                    }
                }
            }
        }
    }

    /// The offsets gradient's terms of channel c at one tap, for every pixel: the mask block inside
    /// B's window, the derivatives of the convention on the grid, pos and jump.
    private func offsetsGradient(n: Int, c: Int, tap: Int, _ t: ColumnGradient, _ goffsets: GradientPointers,
                                 _ integerPositions: SharedPointer<Bool>) {
        let pixels = p.outputHeight * p.outputWidth
        inputs.x.withUnsafeBufferPointer { x in
            inputs.offsets.withUnsafeBufferPointer { offsets in
                for pixel in 0..<pixels {
                    guard let s = BackwardSample(p, x.baseAddress!, offsets.baseAddress!, n: n, c: c, tap: tap, pixel: pixel,
                                                 unitRoundoff: samplingUnitRoundoff, convention: convention) else { continue }
                    // Where the conventions can differ: ∂B/∂py is continuous in px and ∂B/∂px in py, so
                    // only the axis' own position matters.
                    if s.py == s.py.rounded(.down) { integerPositions.pointer[s.yIndex] = true }
                    if s.px == s.px.rounded(.down) { integerPositions.pointer[s.xIndex] = true }
                    let (m, t, tAbs) = (s.m, t.value[pixel], t.abs[pixel])
                    let magnitudes = s.cellMagnitudes(gxCells: false)
                    if s.inWindow {
                        let bilinear = s.bilinear(s.weights)
                        goffsets.value[s.maskIndex] += t * bilinear.value
                        goffsets.abs[s.maskIndex] += tAbs * bilinear.abs
                        goffsets.pos[s.maskIndex] += tAbs * magnitudes.samplePos
                    }
                    let mtAbs = Swift.abs(m) * tAbs
                    if s.onGrid {
                        func derivative(_ position: Double, origin: Int, _ index: Int, _ d: (Int) -> (value: Double, abs: Double)) {
                            func add(_ cell: Int, _ weight: Double) {
                                let d = d(cell)
                                goffsets.value[index] += m * t * (weight * d.value)
                                goffsets.abs[index] += mtAbs * (weight * d.abs)
                            }
                            // Away from integers every convention takes the own cell, with weight 1; asking it
                            // would allocate its list of cells for every sample (5% of the backward's time).
                            guard position == position.rounded(.down) else { return add(origin, 1) }
                            for (cell, weight) in convention.cells(at: position, origin: origin) { add(cell, weight) }
                        }
                        derivative(s.py, origin: s.y0, s.yIndex, s.dBdy)
                        derivative(s.px, origin: s.x0, s.xIndex, s.dBdx)
                    }
                    // ∂⁺B/∂py is constant in py within a cell and varies in px by (v11 − v01) − (v10 − v00),
                    // whose magnitude is the four corners' sum; likewise for ∂⁺B/∂px.
                    if magnitudes.cornerSum > 0 {
                        goffsets.pos[s.yIndex] += mtAbs * magnitudes.cornerSum * s.apx
                        goffsets.pos[s.xIndex] += mtAbs * magnitudes.cornerSum * s.apy
                    }
                    // jump: near an integer Y a rounded position may use the derivative of the other cell.
                    if let y = s.rows.nearInteger, s.py != Double(y) {
                        let change = Swift.abs(s.dBdy(y - 1).value - s.dBdy(y).value)
                        if change > 0 { goffsets.jump[s.yIndex] += mtAbs * change }
                    }
                    if let x = s.cols.nearInteger, s.px != Double(x) {
                        let change = Swift.abs(s.dBdx(x - 1).value - s.dBdx(x).value)
                        if change > 0 { goffsets.jump[s.xIndex] += mtAbs * change }
                    }
                }
            }
        }
    }

    /// gweight in its own layout; L is the outer sum's N·Ho·Wo terms (gweight has no t).
    private func gweight(_ byTap: ReferenceGradient) -> ReferenceGradient {
        let (co, taps) = (p.outputChannels, p.reductionLength)
        var result = ReferenceGradient(count: p.weightCount, reductionLength: p.batch * p.outputHeight * p.outputWidth)
        for o in 0..<co {
            for tap in 0..<taps {
                result.value[o * taps + tap] = byTap.value[tap * co + o]
                result.abs[o * taps + tap] = byTap.abs[tap * co + o]
                result.pos[o * taps + tap] = byTap.pos[tap * co + o]
            }
        }
        return result
    }

    /// gbias[o] = Σ_{n, ho, wo} gy: no sampling, so no pos; L is N·Ho·Wo.
    private func gbias() -> ReferenceGradient? {
        guard p.hasBias else { return nil }
        let pixels = p.outputHeight * p.outputWidth
        var result = ReferenceGradient(count: p.outputChannels, reductionLength: p.batch * pixels)
        for n in 0..<p.batch {
            for pixel in 0..<pixels {
                for o in 0..<p.outputChannels {
                    let gy = gyByPixel[(n * pixels + pixel) * p.outputChannels + o]
                    result.value[o] += gy
                    result.abs[o] += Swift.abs(gy)
                }
            }
        }
        return result
    }
}

/// What one sample gives gweight: m·B, |m|·Σ a·|v| and |m|·pos, or nothing outside B's window.
private struct WeightSample {
    var inWindow: Bool
    var value: Double
    var abs: Double
    var pos: Double
}

/// A thread's t and its abs for a block of samples.
private struct ColumnGradient: @unchecked Sendable {
    let value: UnsafeMutablePointer<Double>
    let abs: UnsafeMutablePointer<Double>

    init(count: Int) {
        value = .allocate(capacity: count)
        abs = .allocate(capacity: count)
    }

    func deallocate() {
        value.deallocate()
        abs.deallocate()
    }
}

/// A pointer the threads write through at elements their work items own.
struct SharedPointer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>

    init(_ pointer: UnsafeMutablePointer<Element>) {
        self.pointer = pointer
    }
}

/// One gradient's arrays, written by the threads at elements their work items own.
struct GradientPointers: @unchecked Sendable {
    let value, abs, pos, jump: UnsafeMutablePointer<Double>
    let reductionLength: UnsafeMutablePointer<Int>
}

extension ReferenceGradient {
    mutating func withPointers<R>(_ body: (GradientPointers) -> R) -> R {
        value.withUnsafeMutableBufferPointer { value in
            abs.withUnsafeMutableBufferPointer { abs in
                pos.withUnsafeMutableBufferPointer { pos in
                    jump.withUnsafeMutableBufferPointer { jump in
                        reductionLength.withUnsafeMutableBufferPointer { length in
                            body(GradientPointers(value: value.baseAddress!, abs: abs.baseAddress!, pos: pos.baseAddress!,
                                                  jump: jump.baseAddress!, reductionLength: length.baseAddress!))
                        }
                    }
                }
            }
        }
    }
}

extension SIMD8<Double> {
    /// The first `count` lanes from `pointer`, the rest zero.
    @inline(__always)
    static func load(_ pointer: UnsafePointer<Double>, _ count: Int) -> Self {
        if count == scalarCount { return UnsafeRawPointer(pointer).loadUnaligned(as: Self.self) }
        var lanes = Self(repeating: 0)
        for lane in 0..<count { lanes[lane] = pointer[lane] }
        return lanes
    }

    /// Writes the first `count` lanes to `pointer`.
    @inline(__always)
    func store(to pointer: UnsafeMutablePointer<Double>, _ count: Int) {
        if count == Self.scalarCount { return UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self) }
        for lane in 0..<count { pointer[lane] = self[lane] }
    }

    /// Each lane's magnitude, as `Swift.abs` gives it: the sign bit cleared.
    @inline(__always)
    var absolute: Self {
        unsafeBitCast(unsafeBitCast(self, to: SIMD8<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: Self.self)
    }
}
