import DeformConv
import Formats

/// SPEC section 3: how far a kernel's output may be from the exact result.
///
/// For each element,
///
///     |y_kernel − y| ≤ γ_{R+8}(u_acc)·y_abs + 8·u_s·y_abs + 2·u_s·y_pos + 2·η·y_tiny + ½·ulp_out(y)
///
/// with γ_n(u) = n·u/(1 − n·u) (Higham, ch. 3), R = (C/groups)·kh·kw + 1, and η half the
/// smallest subnormal of the kernel's working precision (the gradual-underflow term).
/// Exact cases hold a kernel with Float32 (or finer) arithmetic to a bound of zero.
public struct Tolerance: Sendable {
    public var accumulationUnitRoundoff: Double
    public var samplingUnitRoundoff: Double
    /// R, the bias counted.
    public var reductionLength: Int
    /// The case's dtype: the output is rounded to it once.
    public var outputType: DataType
    /// When the golden `y` is stored narrower than float64, its own rounding (½ ulp of that type) is added.
    public var storedType: DataType?
    /// An exact case (SPEC section 3): the bound is zero for a kernel at least as precise as Float32.
    public var exact: Bool

    public init(kernel: any DeformConvKernel, problem: DeformConvProblem, storedType: DataType? = nil, exact: Bool = false) {
        self.init(accumulationUnitRoundoff: kernel.accumulationUnitRoundoff, samplingUnitRoundoff: kernel.samplingUnitRoundoff,
                  problem: problem, storedType: storedType, exact: exact)
    }

    /// The bound for an algorithm that is not a registered kernel, given its units.
    public init(accumulationUnitRoundoff: Double, samplingUnitRoundoff: Double, problem: DeformConvProblem,
                storedType: DataType? = nil, exact: Bool = false) {
        self.accumulationUnitRoundoff = accumulationUnitRoundoff
        self.samplingUnitRoundoff = samplingUnitRoundoff
        reductionLength = problem.reductionLength + 1
        outputType = problem.dtype
        self.storedType = storedType == .float64 ? nil : storedType
        self.exact = exact
    }

    /// γ_n(u) = n·u / (1 − n·u); infinite once n·u ≥ 1, where no rigorous bound exists.
    public static func gamma(_ n: Int, _ u: Double) -> Double {
        let nu = Double(n) * u
        return nu < 1 ? nu / (1 - nu) : .infinity
    }

    /// The unit in the last place of `type` in the binade of |y| (subnormal spacing below the normal range).
    public static func ulp(of y: Double, in type: DataType) -> Double {
        let (mantissaBits, minExponent): (Int, Int) = switch type {
        case .float16: (10, -14)
        case .float64: (52, -1022)
        default: (23, -126)
        }
        let magnitude = abs(y)
        guard magnitude.isFinite else { return .infinity }
        let exponent = magnitude == 0 ? minExponent : max(Int(magnitude.exponent), minExponent)
        return Double(sign: .plus, exponent: exponent - mantissaBits, significand: 1)
    }

    /// η: half the smallest subnormal of the working precision, the coarser of u_acc's and u_s's
    /// (2⁻²⁵ for half, 2⁻¹⁵⁰ for single, 2⁻¹⁰⁷⁵ for double, which rounds to 0 in Float64: the term vanishes there). A unit coarser than half's (bfloat16's
    /// 2⁻⁸, say) is given half's η: bfloat16 has single's exponent range, so that is the larger, safe side.
    public var underflowUnit: Double {
        Self.underflowUnit(accumulation: accumulationUnitRoundoff, sampling: samplingUnitRoundoff)
    }

    public static func underflowUnit(accumulation: Double, sampling: Double) -> Double {
        let u = max(accumulation, sampling)
        return if u >= UnitRoundoff.float16 {
            0.5 * Double(Float16.leastNonzeroMagnitude)
        } else if u >= UnitRoundoff.float32 {
            0.5 * Double(Float.leastNonzeroMagnitude)
        } else {
            0.5 * Double.leastNonzeroMagnitude
        }
    }

    /// The allowed absolute error for one element, and the same bound without the underflow term
    /// 2·η·y_tiny, so that a report can tell the elements that term decides.
    public func bound(y: Double, yAbs: Double, yPos: Double, yTiny: Double) -> (total: Double, withoutUnderflow: Double) {
        let isExactForKernel = exact && outputType == .float32
            && accumulationUnitRoundoff <= UnitRoundoff.float32 && samplingUnitRoundoff <= UnitRoundoff.float32
        if isExactForKernel { return (0, 0) }
        let us = samplingUnitRoundoff
        var bound = Self.gamma(reductionLength + 8, accumulationUnitRoundoff) * yAbs + 8 * us * yAbs + 2 * us * yPos
        bound += 0.5 * Self.ulp(of: y, in: outputType)
        if let storedType { bound += 0.5 * Self.ulp(of: y, in: storedType) }
        return (bound + 2 * underflowUnit * yTiny, bound)
    }
}

/// Where one output element is, and how it compared.
public struct ElementReport: Codable, Sendable, Equatable {
    public var n: Int
    public var o: Int
    public var ho: Int
    public var wo: Int
    public var expected: Double
    public var got: Double
    public var bound: Double
    public var ratio: Double
}

/// Accuracy of one kernel output against the golden `y`, element by element.
public struct AccuracyStats: Codable, Sendable, Equatable {
    /// Largest error/bound: ≤ 1 passes. Infinite when an exact case differs; NaN when the output has a NaN.
    public var worstRatio: Double = 0
    public var maxAbsError: Double = 0
    /// Largest |error|/|y| over the elements with y ≠ 0.
    public var maxRelError: Double = 0
    public var rmsRelError: Double = 0
    /// max |y| over the output: the scale that errors relative to the whole output are measured against.
    public var maxAbsExpected: Double = 0
    public var elements: Int = 0
    public var failedElements: Int = 0
    /// The worst elements over the bound (at most `AccuracyStats.keptFailures`), worst first.
    public var failures: [ElementReport] = []
    /// The element with the largest ratio, passing or not.
    public var worst: ElementReport?
    /// For Float16 outputs: how many elements are off by 0, ≤½, ≤1, ≤2 and >2 ulps of Float16.
    public var ulpHistogram: [String: Int]?
    /// Elements within the bound only because of its gradual-underflow term 2·η·y_tiny (SPEC section 3);
    /// optional so that reports written before the term still decode.
    public var passedByUnderflowTerm: Int?

    public static let keptFailures = 10
    public static let ulpBuckets: [(String, Double)] = [("0", 0), ("<=0.5", 0.5), ("<=1", 1), ("<=2", 2), (">2", .infinity)]

    public var passed: Bool { failedElements == 0 && !worstRatio.isNaN }

    /// Compares `got` with `expected` under `tolerance`; the arrays are NCHW of `shape`.
    public init(got: [Double], expected: [Double], yAbs: [Double], yPos: [Double], yTiny: [Double], shape: [Int], tolerance: Tolerance) {
        precondition(got.count == expected.count && yAbs.count == expected.count && yPos.count == expected.count
                     && yTiny.count == expected.count)
        elements = got.count
        var underflowDecided = 0
        var relSquares = 0.0, relCount = 0
        var histogram = tolerance.outputType == .float16 ? Dictionary(uniqueKeysWithValues: Self.ulpBuckets.map { ($0.0, 0) }) : nil
        func report(_ index: Int, _ bound: Double, _ ratio: Double) -> ElementReport {
            let (c, h, w) = (shape[1], shape[2], shape[3])
            return ElementReport(n: index / (c * h * w), o: index / (h * w) % c, ho: index / w % h, wo: index % w,
                                 expected: expected[index], got: got[index], bound: bound, ratio: ratio)
        }
        for index in got.indices {
            let error = abs(got[index] - expected[index])
            maxAbsExpected = max(maxAbsExpected, abs(expected[index]))
            let (bound, withoutUnderflow) = tolerance.bound(y: expected[index], yAbs: yAbs[index], yPos: yPos[index], yTiny: yTiny[index])
            let ratio = error == 0 ? 0 : error / bound
            if error <= bound && error > withoutUnderflow { underflowDecided += 1 }
            maxAbsError = error.isNaN ? .nan : max(maxAbsError, error)
            if expected[index] != 0 {
                let relative = error / abs(expected[index])
                maxRelError = relative.isNaN ? .nan : max(maxRelError, relative)
                relSquares += relative * relative
                relCount += 1
            }
            if histogram != nil {
                let ulps = error / Tolerance.ulp(of: expected[index], in: .float16)
                let bucket = Self.ulpBuckets.first { ulps <= $0.1 }?.0 ?? ">2"
                histogram![bucket, default: 0] += 1
            }
            if worst == nil || Self.isWorse(ratio, than: worst!.ratio) {
                worst = report(index, bound, ratio)
            }
            if !(ratio <= 1) {
                failedElements += 1
                failures.append(report(index, bound, ratio))
                if failures.count > 4 * Self.keptFailures { trimFailures() }
            }
        }
        trimFailures()
        worstRatio = worst?.ratio ?? 0
        rmsRelError = relCount > 0 ? (relSquares / Double(relCount)).squareRoot() : 0
        ulpHistogram = histogram
        passedByUnderflowTerm = underflowDecided
    }

    /// NaN ranks worst of all, then larger ratios.
    public static func isWorse(_ a: Double, than b: Double) -> Bool { a.isNaN ? !b.isNaN : a > b }

    private mutating func trimFailures() {
        failures.sort { Self.isWorse($0.ratio, than: $1.ratio) }
        if failures.count > Self.keptFailures { failures.removeLast(failures.count - Self.keptFailures) }
    }
}
