import DeformConv
import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// How half-precision accumulation loses accuracy as the reduction grows (the
/// `dcn study fp16` report): fp16acc, float32 accumulation on float16 inputs, and
/// blocked half accumulation, against the float64 reference.
public struct FP16Study: Sendable {
    /// C/groups at a 3×3 kernel: R = 9·C from 9 to 4608.
    public var channels = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    public var problemsPerPoint = 3
    public var blockSizes = [16, 64, 256]
    public var seed: UInt64 = SuiteGenerator.defaultSeed

    public init() {}

    /// The inputs every point draws, in words for the report.
    public static let distribution = """
        float16 inputs: x and weight uniform in [−1, 1), offsets uniform in [−2, 2), masks uniform in [0, 1), \
        no bias, each value rounded to float16; shape mb1 ic C ih8 oc8 kh3 ph1 pw1 (512 outputs per problem)
        """

    /// One algorithm at one reduction length.
    public struct Point: Codable, Sendable {
        public var algorithm: String
        public var reduction: Int
        public var elements: Int
        /// Root mean square and maximum of |y_algorithm − y| / rms(y): the error relative to the scale of
        /// the problem's exact outputs (dividing by each |y| would explode where y crosses zero).
        public var rmsRelative: Double
        public var maxRelative: Double
        /// Largest error/bound under SPEC section 3 with the algorithm's units; infinite bound when γ is.
        public var worstRatio: Double
        public var boundIsInfinite: Bool
    }

    public struct Result: Codable, Sendable {
        public var distribution: String
        public var seed: UInt64
        public var unitRoundoff: Double
        public var algorithms: [String]
        public var points: [Point]
    }

    /// One accumulation scheme run on a float16 problem, with the units of its bound.
    struct Algorithm {
        var name: String
        var accumulationUnitRoundoff: Double
        var samplingUnitRoundoff: Double
        var run: (DeformConvProblem, DeformConvInputs<Float16>) -> [Float16]
    }

    var algorithms: [Algorithm] {
        [
            Algorithm(name: "fp16acc", accumulationUnitRoundoff: UnitRoundoff.float16, samplingUnitRoundoff: UnitRoundoff.float16) {
                FP16AccKernel().run($0, $1)
            },
            Algorithm(name: "simd on float16 inputs", accumulationUnitRoundoff: UnitRoundoff.float32, samplingUnitRoundoff: UnitRoundoff.float32) {
                SimdKernel().run($0, $1)
            },
        ] + blockSizes.map { block in
            Algorithm(name: "blocked half, b = \(block)", accumulationUnitRoundoff: UnitRoundoff.float16,
                      samplingUnitRoundoff: UnitRoundoff.float16) { Self.blockedHalf($0, $1, block: block) }
        }
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> Result {
        let algorithms = self.algorithms
        var points: [Point] = []
        for (index, c) in channels.enumerated() {
            let descriptor = try ProblemDescriptor(parsing: "ic\(c)ih8oc8kh3ph1pw1")
            let problem = try DeformConvProblem(validating: descriptor.geometry.arguments(dtype: .float16))
            progress("R = \(problem.reductionLength)")
            var squares = [Double](repeating: 0, count: algorithms.count)
            var maxima = [Double](repeating: 0, count: algorithms.count)
            var ratios = [Double](repeating: 0, count: algorithms.count)
            var infinite = [Bool](repeating: false, count: algorithms.count)
            var elements = 0
            for draw in 0..<problemsPerPoint {
                var rng = SeededGenerator(seed: SeededGenerator.derive(seed, index * 100 + draw))
                let recipe = CaseRecipe("study", "\(descriptor)", dtype: .float16, "")
                let exact = SuiteGenerator.draw(recipe, problem, &rng)
                let reference = ReferenceKernel().evaluate(problem, exact)
                let inputs = exact.map { Float16($0) }
                let scale = (reference.y.reduce(0) { $0 + $1 * $1 } / Double(reference.y.count)).squareRoot()
                elements += reference.y.count
                for (a, algorithm) in algorithms.enumerated() {
                    let y = algorithm.run(problem, inputs)
                    let tolerance = Tolerance(accumulationUnitRoundoff: algorithm.accumulationUnitRoundoff,
                                              samplingUnitRoundoff: algorithm.samplingUnitRoundoff, problem: problem)
                    for i in y.indices {
                        let error = abs(Double(y[i]) - reference.y[i])
                        let relative = error / scale
                        squares[a] += relative * relative
                        maxima[a] = max(maxima[a], relative)
                        let bound = tolerance.bound(y: reference.y[i], yAbs: reference.yAbs[i], yPos: reference.yPos[i],
                                                    yTiny: reference.yTiny[i]).total
                        infinite[a] = infinite[a] || bound.isInfinite
                        if error > 0 { ratios[a] = max(ratios[a], error / bound) }
                    }
                }
            }
            for (a, algorithm) in algorithms.enumerated() {
                points.append(Point(algorithm: algorithm.name, reduction: problem.reductionLength, elements: elements,
                                    rmsRelative: (squares[a] / Double(elements)).squareRoot(), maxRelative: maxima[a],
                                    worstRatio: ratios[a], boundIsInfinite: infinite[a]))
            }
        }
        return Result(distribution: Self.distribution, seed: seed, unitRoundoff: UnitRoundoff.float16,
                      algorithms: algorithms.map(\.name), points: points)
    }

    /// Blocked half accumulation: samples rounded to half, blocks of `block` products
    /// accumulated in half (acc ← fl16(acc + w·s)), block sums added in float32, the
    /// result rounded to half once. Scalar, in the order of the formula.
    static func blockedHalf(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, block: Int) -> [Float16] {
        let wide = inputs.map(Float.init)
        let samples = NaiveKernel.samples(p, wide)
        var y = [Float16](repeating: 0, count: p.outputCount)
        let (plane, rows) = (p.outputHeight * p.outputWidth, p.reductionLength)
        for n in 0..<p.batch {
            for o in 0..<p.outputChannels {
                let group = o / p.outputChannelsPerGroup
                for pixel in 0..<plane {
                    var total = wide.bias?[o] ?? 0
                    var partial: Float16 = 0
                    for row in 0..<rows {
                        let s = Float16(samples[((n * p.groups + group) * rows + row) * plane + pixel])
                        partial = Float16(Float(partial) + wide.weight[o * rows + row] * Float(s))
                        if (row + 1) % block == 0 || row == rows - 1 {
                            total += Float(partial)
                            partial = 0
                        }
                    }
                    y[(n * p.outputChannels + o) * plane + pixel] = Float16(total)
                }
            }
        }
        return y
    }
}

extension FP16Study.Result {
    func points(_ algorithm: String) -> [FP16Study.Point] { points.filter { $0.algorithm == algorithm } }

    /// Least-squares slope of log(RMS error) against log(R): 0.5 is √R growth, 1 is linear.
    func growthExponent(_ algorithm: String) -> Double {
        let xs = points(algorithm).map { log(Double($0.reduction)) }, ys = points(algorithm).map { log($0.rmsRelative) }
        let (mx, my) = (xs.reduce(0, +) / Double(xs.count), ys.reduce(0, +) / Double(ys.count))
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        return sxx > 0 ? sxy / sxx : 0
    }

    public func markdown(command: String) -> String {
        let u = unitRoundoff
        let reductions = Array(Set(points.map(\.reduction))).sorted()
        func value(_ algorithm: String, _ r: Int) -> FP16Study.Point? { points.first { $0.algorithm == algorithm && $0.reduction == r } }
        func e(_ x: Double) -> String { String(format: "%.2e", x) }
        var out = "# Float16 accumulation: how the error grows with the reduction length\n\n"
        out += """
            `\(command)` (seed \(seed)). Inputs: \(distribution). \
            The error of an output is measured against the float64 reference on the same float16 inputs and divided by \
            the RMS of the problem's exact outputs (the scale of y; dividing by each |y| would explode where y crosses zero); \
            u = 2⁻¹¹.\n\n
            """
        out += "![RMS error against R](fp16-study-rms.svg)\n\n![Maximum error against R](fp16-study-max.svg)\n\n"
        out += "## Findings\n\n" + findings() + "\n\n"
        out += "## RMS error / rms(y)\n\n| R | " + algorithms.joined(separator: " | ") + " | √R·u | R·u |\n"
        out += "|---:|" + String(repeating: "---:|", count: algorithms.count + 2) + "\n"
        for r in reductions {
            out += "| \(r) | " + algorithms.map { value($0, r).map { e($0.rmsRelative) } ?? "–" }.joined(separator: " | ")
            out += " | \(e(Double(r).squareRoot() * u)) | \(e(Double(r) * u)) |\n"
        }
        out += "\n## Maximum error / rms(y)\n\n| R | " + algorithms.joined(separator: " | ") + " |\n"
        out += "|---:|" + String(repeating: "---:|", count: algorithms.count) + "\n"
        for r in reductions {
            out += "| \(r) | " + algorithms.map { value($0, r).map { e($0.maxRelative) } ?? "–" }.joined(separator: " | ") + " |\n"
        }
        out += "\n## The rigorous bound (SPEC section 3) with each algorithm's units\n\n"
        out += """
            Worst error/bound; ≤ 1 passes. fp16acc and blocked half are held to u_acc = u_s = 2⁻¹¹, simd to 2⁻²⁴ \
            plus the final rounding to float16. "no bound" marks R where γ_{R+9}(2⁻¹¹) is infinite \
            (R·u ≥ 1): there the rule cannot fail, so it says nothing.\n\n
            """
        out += "| R | " + algorithms.joined(separator: " | ") + " |\n|---:|" + String(repeating: "---|", count: algorithms.count) + "\n"
        for r in reductions {
            out += "| \(r) | " + algorithms.map { name in
                guard let p = value(name, r) else { return "–" }
                if p.boundIsInfinite { return "no bound" }
                return "\(String(format: "%.3g", p.worstRatio)) \(p.worstRatio <= 1 ? "pass" : "**fail**")"
            }.joined(separator: " | ") + " |\n"
        }
        return out
    }

    public func findings() -> String {
        let u = unitRoundoff
        let reductions = Array(Set(points.map(\.reduction))).sorted()
        guard let small = reductions.first, let large = reductions.last else { return "" }
        func rms(_ a: String, _ r: Int) -> Double { points.first { $0.algorithm == a && $0.reduction == r }?.rmsRelative ?? .nan }
        func e(_ x: Double) -> String { String(format: "%.2e", x) }
        /// The growth in words, from the fitted exponent.
        func growth(_ exponent: Double) -> String {
            switch exponent {
            case ..<0.15: "it hardly grows with R"
            case ..<0.35: "it grows slower than √R"
            case ..<0.65: "it grows about like √R, as a random walk of rounding errors does"
            default: "it grows faster than √R"
            }
        }
        var text: [String] = []
        let fp16 = "fp16acc", simd = "simd on float16 inputs"
        let fp16Exponent = growthExponent(fp16), simdExponent = growthExponent(simd)
        text.append("fp16acc's RMS error goes from \(e(rms(fp16, small))) at R = \(small) to \(e(rms(fp16, large))) at R = \(large), "
            + "a fitted R^\(String(format: "%.2f", fp16Exponent)): \(growth(fp16Exponent)) (the √R·u line is at \(e(Double(large).squareRoot() * u)) "
            + "and R·u at \(e(Double(large) * u)) there).")
        text.append("simd on float16 inputs, accumulating in float32 and rounding once, goes from \(e(rms(simd, small))) to \(e(rms(simd, large))) "
            + "(R^\(String(format: "%.2f", simdExponent))): \(growth(simdExponent)), since its error is the final rounding to float16; "
            + "at R = \(large) it is \(String(format: "%.0f", rms(fp16, large) / rms(simd, large)))× more accurate than fp16acc.")
        let blocked = algorithms.filter { $0.hasPrefix("blocked") }
        if !blocked.isEmpty {
            let parts = blocked.map { "\($0.replacingOccurrences(of: "blocked half, ", with: "")): \(e(rms($0, large)))" }
            text.append("Blocked half accumulation at R = \(large) (\(parts.joined(separator: ", "))) sits between the two: "
                + "each block is a half-precision sum of b terms, so smaller blocks lose less, at the cost of more float32 additions.")
        }
        let failing = points.filter { !$0.boundIsInfinite && $0.worstRatio > 1 }
        let unbounded = points.filter { $0.algorithm == fp16 && $0.boundIsInfinite }.map(\.reduction)
        if failing.isEmpty {
            text.append("Every algorithm passes SPEC section 3's rigorous bound with its own units wherever the bound is finite"
                + (unbounded.isEmpty ? "." : "; for R ≥ \(unbounded.min()!) the half-precision bound is infinite (R·u ≥ 1), so passing there proves nothing: the plots, not the gate, show the cost."))
        } else {
            text.append("Failing the rigorous bound: " + failing.map { "\($0.algorithm) at R = \($0.reduction) (ratio \(String(format: "%.3g", $0.worstRatio)))" }.joined(separator: ", ") + ".")
        }
        return text.joined(separator: " ")
    }

    public func charts() -> (rms: String, max: String) {
        let u = unitRoundoff
        let reductions = Array(Set(points.map(\.reduction))).sorted()
        let guides = [
            SVG.Series(name: "√R·u", points: reductions.map { (Double($0), Double($0).squareRoot() * u) }, dashed: true),
            SVG.Series(name: "R·u", points: reductions.map { (Double($0), Double($0) * u) }, dashed: true),
        ]
        func series(_ metric: (FP16Study.Point) -> Double) -> [SVG.Series] {
            algorithms.map { name in SVG.Series(name: name, points: self.points(name).map { (Double($0.reduction), metric($0)) }) } + guides
        }
        let subtitle = "error / rms(y) against the float64 reference, float16 inputs, u = 2⁻¹¹"
        return (SVG.logLogChart(title: "RMS error of half-precision accumulation", subtitle: subtitle,
                                xLabel: "reduction length R = (C/groups)·kh·kw", yLabel: "RMS error / rms(y)", series: series(\.rmsRelative)),
                SVG.logLogChart(title: "Maximum error of half-precision accumulation", subtitle: subtitle,
                                xLabel: "reduction length R = (C/groups)·kh·kw", yLabel: "max error / rms(y)", series: series(\.maxRelative)))
    }
}
