import DeformConv
import XCTest

// Helpers for the backward tests, written from SPEC section 7 without calling the code
// under test: the independent evaluation below differentiates each output element's
// terms corner by corner (the chain rule of y), where the reference forms t per sample.

/// A bug planted in the independent evaluation, to show that the checks catch it.
enum PlantedFault: CaseIterable {
    case none
    /// gx never receives the (y0 + 1, x0 + 1) corner.
    case droppedCorner
    /// At integer positions the position derivatives come from the left cell.
    case leftDerivative
    /// gx and the position gradients lose their factor m.
    case missingMask
}

/// The independent Float64 gradients, with abs and, for gx, the number of samples per element.
struct SpecGradients {
    var values: DeformConvGradients<Double>
    var abs: DeformConvGradients<Double>
    /// How many samples have each x element as a corner of their cell.
    var gxSamples: [Int]
}

/// ∂L/∂inputs for L = Σ gy·y, differentiating every term w·m·Σ_corners ω·v of every y element.
func specBackward(_ d: TestData, gy: [Double], fault: PlantedFault = .none) -> SpecGradients {
    let s = d.shape
    var values = DeformConvGradients<Double>(gx: .init(repeating: 0, count: s.xCount), gweight: .init(repeating: 0, count: s.weightCount),
                                             goffsets: .init(repeating: 0, count: s.offsetsCount), gbias: s.bias ? .init(repeating: 0, count: s.co) : nil)
    var abs = values
    var gxSamples = [Int](repeating: 0, count: s.xCount)
    for n in 0..<s.n {
        for o in 0..<s.co {
            let group = o / s.copg
            let firstOfGroup = o % s.copg == 0
            for oh in 0..<s.ho {
                for ow in 0..<s.wo {
                    let dL = gy[s.outputIndex(n, o, oh, ow)]
                    values.gbias?[o] += dL
                    abs.gbias?[o] += Swift.abs(dL)
                    for cg in 0..<s.cpg {
                        let c = group * s.cpg + cg
                        for i in 0..<s.kh {
                            for j in 0..<s.kw {
                                let k = (c / s.cpdg * s.kh + i) * s.kw + j
                                let xAt = s.offsetsIndex(n, k, oh, ow), yAt = s.offsetsIndex(n, s.taps + k, oh, ow)
                                let mAt = s.offsetsIndex(n, 2 * s.taps + k, oh, ow)
                                let m = d.offsets[mAt]
                                let py = Double(oh * s.sh - s.pt + i * s.dh) + d.offsets[yAt]
                                let px = Double(ow * s.sw - s.pl + j * s.dw) + d.offsets[xAt]
                                guard py >= -1, py < Double(s.h), px >= -1, px < Double(s.w) else { continue }
                                let w = d.weight[s.weightIndex(o, cg, i, j)]
                                let y0 = Int(py.rounded(.down)), x0 = Int(px.rounded(.down))
                                let ly = py - Double(y0), lx = px - Double(x0)
                                func v(_ a: Int, _ b: Int) -> Double { a >= 0 && a < s.h && b >= 0 && b < s.w ? d.x[s.xIndex(n, c, a, b)] : 0 }
                                // y's term w·m·Σ ω_ab·v_ab, ω_ab = (a ? ly : 1−ly)·(b ? lx : 1−lx).
                                let corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
                                func omega(_ a: Int, _ b: Int, _ ly: Double, _ lx: Double) -> Double { (a == 1 ? ly : 1 - ly) * (b == 1 ? lx : 1 - lx) }
                                // ∂ω_ab/∂ly = ±(b ? lx : 1−lx), ∂ω_ab/∂lx = ±(a ? ly : 1−ly), over the cell at (cy, cx).
                                func dOmega(_ a: Int, _ b: Int, _ ly: Double, _ lx: Double) -> (dy: Double, dx: Double) {
                                    ((a == 1 ? 1 : -1) * (b == 1 ? lx : 1 - lx), (b == 1 ? 1 : -1) * (a == 1 ? ly : 1 - ly))
                                }
                                let leftY = fault == .leftDerivative && ly == 0, leftX = fault == .leftDerivative && lx == 0
                                var dBdy = 0.0, dBdx = 0.0, dyAbs = 0.0, dxAbs = 0.0
                                for (a, b) in corners {
                                    let rowCell = leftY ? y0 - 1 : y0, colCell = leftX ? x0 - 1 : x0
                                    let dyCorner = dOmega(a, b, leftY ? 1 : ly, lx).dy, dxCorner = dOmega(a, b, ly, leftX ? 1 : lx).dx
                                    dBdy += dyCorner * v(rowCell + a, x0 + b)
                                    dBdx += dxCorner * v(y0 + a, colCell + b)
                                    dyAbs += Swift.abs(dyCorner) * Swift.abs(v(y0 + a, x0 + b))
                                    dxAbs += Swift.abs(dxCorner) * Swift.abs(v(y0 + a, x0 + b))
                                }
                                let positionFactor = fault == .missingMask ? 1 : m
                                values.goffsets[yAt] += dL * w * positionFactor * dBdy
                                values.goffsets[xAt] += dL * w * positionFactor * dBdx
                                abs.goffsets[yAt] += Swift.abs(dL * w * m) * dyAbs
                                abs.goffsets[xAt] += Swift.abs(dL * w * m) * dxAbs
                                // On the lines p = −1 only the position derivatives are nonzero.
                                guard py > -1, px > -1 else { continue }
                                var bilinear = 0.0, bilinearAbs = 0.0
                                for (a, b) in corners {
                                    let weight = omega(a, b, ly, lx)
                                    bilinear += weight * v(y0 + a, x0 + b)
                                    bilinearAbs += weight * Swift.abs(v(y0 + a, x0 + b))
                                    guard y0 + a >= 0, y0 + a < s.h, x0 + b >= 0, x0 + b < s.w else { continue }
                                    if firstOfGroup { gxSamples[s.xIndex(n, c, y0 + a, x0 + b)] += 1 }
                                    if fault == .droppedCorner && a == 1 && b == 1 { continue }
                                    values.gx[s.xIndex(n, c, y0 + a, x0 + b)] += dL * w * positionFactor * weight
                                    abs.gx[s.xIndex(n, c, y0 + a, x0 + b)] += Swift.abs(dL * w * m) * weight
                                }
                                values.gweight[s.weightIndex(o, cg, i, j)] += dL * m * bilinear
                                abs.gweight[s.weightIndex(o, cg, i, j)] += Swift.abs(dL * m) * bilinearAbs
                                values.goffsets[mAt] += dL * w * bilinear
                                abs.goffsets[mAt] += Swift.abs(dL * w) * bilinearAbs
                            }
                        }
                    }
                }
            }
        }
    }
    return SpecGradients(values: values, abs: abs, gxSamples: gxSamples)
}

// MARK: - The SPEC section 7 bound

/// A kernel's working precision for the bound: u_acc, u_s, η, and the dtype of its output.
struct GradientPrecision: Sendable {
    var accumulation: Double
    var sampling: Double
    var eta: Double
    var halfOutput: Bool

    /// ulp_out: the unit in the last place of the output's dtype at |g|.
    func ulp(_ g: Double) -> Double { halfOutput ? Double(Float16(g.magnitude).ulp) : Double(Float(g.magnitude).ulp) }

    /// A Float32 kernel (naive) on a float32 case.
    static let float32 = GradientPrecision(accumulation: 0x1p-24, sampling: 0x1p-24, eta: 0x1p-150, halfOutput: false)
    /// A Float32 kernel on a float16 case: the gradients are rounded to half at the end.
    static let float32ToHalf = GradientPrecision(accumulation: 0x1p-24, sampling: 0x1p-24, eta: 0x1p-150, halfOutput: true)
}

/// One gradient element outside its bound, named as the report would name it.
struct GradientFailure: CustomStringConvertible {
    var tensor: String
    var index: Int
    var expected: Double
    var got: Double
    var bound: Double

    var description: String { "\(tensor)[\(index)]: expected \(expected), got \(got), bound \(bound)" }
}

/// What comparing a kernel's gradients with the reference found.
struct GradientComparison {
    /// Every element outside its bound.
    var failures: [GradientFailure] = []
    /// The largest error/bound over the elements with a nonzero bound.
    var worstRatio = 0.0
    var checked = 0

    var failed: [String] { failures.map(\.description) }
}

/// Compares `got` with the reference element by element, each held to SPEC section 7's
/// |g_kernel − g| ≤ γ_{L+8}(u_acc)·abs + 8·u_s·abs + 2·u_s·pos + jump + 2·η·(L + 2 + abs) + ½·ulp_out(g),
/// or, on an exact case, to no difference at all. Offsets elements are named by their block.
func compareGradients(_ got: DeformConvGradients<Double>, _ reference: ReferenceGradients, _ s: TestShape,
                      precision: GradientPrecision, exact: Bool = false) -> GradientComparison {
    var result = GradientComparison()
    func check(_ name: (Int) -> String, _ values: [Double], _ r: ReferenceGradient) {
        XCTAssertEqual(values.count, r.value.count, "\(name(0)) has the wrong length")
        for index in r.value.indices where index < values.count {
            let l = Double(r.reductionLength[index])
            let u = precision.accumulation, us = precision.sampling
            let bound = exact ? 0 : gamma(l + 8, u) * r.abs[index] + 8 * us * r.abs[index] + 2 * us * r.pos[index] + r.jump[index]
                + 2 * precision.eta * (l + 2 + r.abs[index]) + 0.5 * precision.ulp(r.value[index])
            let error = abs(values[index] - r.value[index])
            // Written so that a NaN error fails.
            if !(error <= bound) {
                result.failures.append(GradientFailure(tensor: name(index), index: index, expected: r.value[index], got: values[index], bound: bound))
            }
            if bound > 0 { result.worstRatio = max(result.worstRatio, error / bound) }
            result.checked += 1
        }
    }
    check({ _ in "gx" }, got.gx, reference.gx)
    check({ _ in "gweight" }, got.gweight, reference.gweight)
    let block = s.taps * s.ho * s.wo
    check({ ["goffsets x-offset", "goffsets y-offset", "goffsets mask"][($0 / block) % 3] }, got.goffsets, reference.goffsets)
    if let gbias = reference.gbias {
        check({ _ in "gbias" }, got.gbias ?? [], gbias)
    } else {
        XCTAssertNil(got.gbias, "gbias given for a problem without bias")
    }
    return result
}

// MARK: - Test data

/// How the offsets of a backward case are drawn.
enum OffsetStyle {
    /// Float32 reals in ±range, with a quarter of the taps moved onto integer positions and
    /// some onto −1 and H − 1 (W − 1), where the conventions matter.
    case mixed(range: Double)
    /// Fractional parts in [0.1, 0.9] on both axes: no position near a cell edge.
    case awayFromEdges
    /// SPEC 7's exact cases: multiples of 1/4, a quarter on integers, some at −1 and H − 1.
    case exact
}

/// Inputs for a backward case; values from `value` (x, weight), masks from `mask`.
func backwardData(_ s: TestShape, _ rng: inout TestRNG, offsets style: OffsetStyle, half: Bool = false) -> TestData {
    func real(_ range: ClosedRange<Double>) -> Double { half ? rng.float16Value(range) : rng.float32Value(range) }
    func value() -> Double {
        if case .exact = style { return Double(rng.int(-4...4)) }
        return real(-1...1)
    }
    var x = (0..<s.xCount).map { _ in value() }
    if case .exact = style { x = x.map { $0 * 2 } }   // |x| ≤ 8, |weight| ≤ 4
    let weight = (0..<s.weightCount).map { _ in value() }
    let bias: [Double]? = s.bias ? (0..<s.co).map { _ in rng.dyadic(limit: 2, denominator: 64) } : nil
    let offsets = makeOffsets(s) { _, _, i, j, oh, ow in
        let baseY = Double(oh * s.sh - s.pt + i * s.dh), baseX = Double(ow * s.sw - s.pl + j * s.dw)
        func along(_ base: Double, _ size: Int) -> Double {
            switch style {
            case .awayFromEdges:
                return Double(rng.int(-2...1)) + real(0.1...0.9)
            case let .mixed(range):
                switch rng.int(0...7) {
                case 0, 1: return Double(rng.int(-2...2))
                case 2: return -1 - base
                case 3: return Double(size - 1) - base
                default: return real(-range...range)
                }
            case .exact:
                switch rng.int(0...7) {
                case 0, 1: return Double(rng.int(-2...2))
                case 2: return -1 - base
                case 3: return Double(size - 1) - base
                default: return rng.dyadic(limit: 2, denominator: 4)
                }
            }
        }
        let m: Double
        if case .exact = style { m = rng.dyadic(limit: 2, denominator: 4) } else { m = real(-1...2) }
        return (along(baseY, s.h), along(baseX, s.w), m)
    }
    return TestData(shape: s, x: x, weight: weight, offsets: offsets, bias: bias)
}

/// gy for a case: small integers on exact cases, reals exactly representable otherwise.
func backwardGy(_ s: TestShape, _ rng: inout TestRNG, exact: Bool = false, half: Bool = false) -> [Double] {
    (0..<s.outputCount).map { _ in exact ? Double(rng.int(-4...4)) : (half ? rng.float16Value(-1...1) : rng.float32Value(-1...1)) }
}

extension DeformConvGradients where Element: BinaryFloatingPoint {
    /// The gradients widened to Float64 for comparison with the reference.
    var double: DeformConvGradients<Double> { map { Double($0) } }
}

/// A kernel's backward on a test problem, float16 or float32 inputs as `half` says, widened to Float64.
func backwardGradients(_ kernel: any DeformConvKernel, _ p: DeformConvProblem, _ data: TestData, gy: [Double],
                       half: Bool) throws -> DeformConvGradients<Double> {
    try XCTUnwrap(half ? kernel.backward(p, data.half, gy: gy.map { Float16($0) })?.double
                       : kernel.backward(p, data.float, gy: gy.map { Float($0) })?.double)
}
