import DeformConv
import Formats

/// SPEC section 7's bound for one gradient element:
///
///     |g_kernel − g| ≤ γ_{L+8}(u_acc)·abs + 8·u_s·abs + 2·u_s·pos + jump + 2·η·(L + 2 + abs) + ½·ulp_out(g)
///
/// An exact backward case holds a kernel with float32 (or finer) arithmetic to a bound of zero.
public struct GradientTolerance: Sendable {
    public var accumulationUnitRoundoff: Double
    public var samplingUnitRoundoff: Double
    /// The case's dtype: each gradient is rounded to it once.
    public var outputType: DataType
    public var exact: Bool

    public init(accumulationUnitRoundoff: Double, samplingUnitRoundoff: Double, outputType: DataType, exact: Bool) {
        self.accumulationUnitRoundoff = accumulationUnitRoundoff
        self.samplingUnitRoundoff = samplingUnitRoundoff
        self.outputType = outputType
        self.exact = exact
    }

    public func bound(g: Double, abs: Double, pos: Double, jump: Double, length: Int) -> Double {
        let isExactForKernel = exact && outputType == .float32
            && accumulationUnitRoundoff <= UnitRoundoff.float32 && samplingUnitRoundoff <= UnitRoundoff.float32
        if isExactForKernel { return 0 }
        let (ua, us) = (accumulationUnitRoundoff, samplingUnitRoundoff)
        return Tolerance.gamma(length + 8, ua) * abs + 8 * us * abs + 2 * us * pos + jump
            + 2 * Tolerance.underflowUnit(accumulation: ua, sampling: us) * (Double(length) + 2 + abs) + 0.5 * Tolerance.ulp(of: g, in: outputType)
    }
}

/// One gradient element, where it is and how it compared.
public struct GradientElement: Codable, Sendable, Equatable {
    /// gx, gweight, x_offset, y_offset, mask or gbias.
    public var tensor: String
    /// Its index in the tensor's own shape (for the offsets blocks: n, tap k, ho, wo).
    public var index: [Int]
    public var expected: Double
    public var got: Double
    public var bound: Double
    public var ratio: Double
}

/// How one gradient tensor compared with the exact one, element by element (SPEC section 7).
public struct GradientStats: Codable, Sendable, Equatable {
    public var tensor: String
    public var elements = 0
    public var failedElements = 0
    /// Largest error/bound: ≤ 1 passes; NaN when the gradient has a NaN.
    public var worstRatio = 0.0
    public var maxAbsError = 0.0
    /// The element with the largest ratio, passing or not, and the worst ones over the bound.
    public var worst: GradientElement?
    public var failures: [GradientElement] = []
    /// Of the failed elements, those at an integer position (`ReferenceGradients.integerPositions`),
    /// where another derivative convention may explain them; x_offset and y_offset only, else nil.
    public var failedAtIntegerPositions: Int?

    public var passed: Bool { failedElements == 0 && !worstRatio.isNaN }

    /// The six tensors SPEC section 7 reports, in its order.
    public static let tensorNames = ["gx", "gweight", "x_offset", "y_offset", "mask", "gbias"]

    /// Whether every failed element is at an integer position (and some failed): what SPEC
    /// section 7's conventions can explain.
    public var failsOnlyAtIntegerPositions: Bool {
        !passed && failedAtIntegerPositions == failedElements
    }

    /// Compares `got` with `expected` over `range` of the flat arrays; `index` turns a flat index into the tensor's own.
    /// With `integerPositions` (per flat index) it counts the failures at integer positions.
    init(tensor: String, got: [Double], expected: ReferenceGradient, values: [Double], range: Range<Int>,
         tolerance: GradientTolerance, integerPositions: [Bool]? = nil, index: (Int) -> [Int]) {
        self.tensor = tensor
        elements = range.count
        if integerPositions != nil { failedAtIntegerPositions = 0 }
        for i in range {
            let error = Swift.abs(got[i] - values[i])
            let bound = tolerance.bound(g: values[i], abs: expected.abs[i], pos: expected.pos[i], jump: expected.jump[i],
                                        length: expected.reductionLength[i])
            let ratio = error == 0 ? 0 : error / bound
            maxAbsError = error.isNaN ? .nan : max(maxAbsError, error)
            let isWorst = worst == nil || AccuracyStats.isWorse(ratio, than: worst!.ratio)
            let failed = !(ratio <= 1)
            guard isWorst || failed else { continue }
            let element = GradientElement(tensor: tensor, index: index(i), expected: values[i], got: got[i], bound: bound, ratio: ratio)
            if isWorst { worst = element }
            if failed {
                failedElements += 1
                if integerPositions?[i] == true { failedAtIntegerPositions! += 1 }
                failures.append(element)
                if failures.count > 4 * AccuracyStats.keptFailures { keepWorstFailures() }
            }
        }
        keepWorstFailures()
        worstRatio = worst?.ratio ?? 0
    }

    private mutating func keepWorstFailures() {
        failures.sort { AccuracyStats.isWorse($0.ratio, than: $1.ratio) }
        failures = Array(failures.prefix(AccuracyStats.keptFailures))
    }

    /// Every tensor of a backward result: gx, gweight, the three offsets blocks and gbias.
    public static func compare(_ got: DeformConvGradients<Double>, with values: DeformConvGradients<Double>,
                               magnitudes: ReferenceGradients, problem p: DeformConvProblem,
                               tolerance: GradientTolerance) -> [GradientStats] {
        let g = p.geometry
        func nchw(_ c: Int, _ h: Int, _ w: Int) -> (Int) -> [Int] {
            { i in [i / (c * h * w), i / (h * w) % c, i / w % h, i % w] }
        }
        var stats = [
            GradientStats(tensor: "gx", got: got.gx, expected: magnitudes.gx, values: values.gx, range: 0..<values.gx.count,
                          tolerance: tolerance, index: nchw(g.channels, g.height, g.width)),
            GradientStats(tensor: "gweight", got: got.gweight, expected: magnitudes.gweight, values: values.gweight,
                          range: 0..<values.gweight.count, tolerance: tolerance,
                          index: nchw(p.channelsPerGroup, g.kernelHeight, g.kernelWidth)),
        ]
        // The offsets gradient in its three blocks: x offsets, y offsets, masks (SPEC section 1's layout).
        // Integer positions matter to the x- and y-offset blocks only: B itself is continuous.
        let (taps, plane) = (p.offsetTaps, p.outputHeight * p.outputWidth)
        for (block, name) in ["x_offset", "y_offset", "mask"].enumerated() {
            let integerPositions = block < 2 && !magnitudes.integerPositions.isEmpty ? magnitudes.integerPositions : nil
            var merged = GradientStats(tensor: name, got: got.goffsets, expected: magnitudes.goffsets, values: values.goffsets,
                                       range: 0..<0, tolerance: tolerance, integerPositions: integerPositions, index: { _ in [] })
            for n in 0..<g.batch {
                let start = (n * 3 + block) * taps * plane
                let part = GradientStats(tensor: name, got: got.goffsets, expected: magnitudes.goffsets, values: values.goffsets,
                                         range: start..<(start + taps * plane), tolerance: tolerance,
                                         integerPositions: integerPositions) { i in
                    let within = i - start
                    return [n, within / plane, within / p.outputWidth % p.outputHeight, within % p.outputWidth]
                }
                merged.absorb(part)
            }
            stats.append(merged)
        }
        if let gbias = got.gbias, let expected = values.gbias, let bias = magnitudes.gbias {
            stats.append(GradientStats(tensor: "gbias", got: gbias, expected: bias, values: expected, range: 0..<expected.count,
                                       tolerance: tolerance, index: { [$0] }))
        }
        return stats
    }

    private mutating func absorb(_ other: GradientStats) {
        elements += other.elements
        failedElements += other.failedElements
        if let counted = other.failedAtIntegerPositions { failedAtIntegerPositions = (failedAtIntegerPositions ?? 0) + counted }
        maxAbsError = other.maxAbsError.isNaN ? .nan : max(maxAbsError, other.maxAbsError)
        if let w = other.worst, worst == nil || AccuracyStats.isWorse(w.ratio, than: worst!.ratio) { worst = w }
        failures += other.failures
        keepWorstFailures()
        worstRatio = worst?.ratio ?? 0
    }
}
