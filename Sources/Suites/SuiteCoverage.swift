import DeformConv

/// What a suite's valid cases cover, after the ONNX backend tests' coverage report: for each
/// parameter the distinct values and how many cases have each, and for the sampling positions
/// (base + offset, SPEC section 1) the classes they fall in.
///
/// Built case by case (`add`) from a case's problem and its offsets' values, and summed over
/// files and shards (`add(_ other:)`); the order of the adds does not change the result.
public struct SuiteCoverage: Codable, Sendable, Equatable {
    /// One value of a parameter, as the reports print it ("3×3", "(0, 2, 1, 0)", "float16").
    public struct Value: Codable, Sendable, Equatable {
        public var value: String
        public var cases: Int
    }

    public struct Parameter: Codable, Sendable, Equatable {
        public var name: String
        public var values: [Value]
    }

    /// Where one coordinate p of a sampling position lies in its dimension of size S, with its offset d.
    /// The classes overlap: −1 is both integer-valued and boundary, for instance.
    public enum PositionClass: String, Codable, Sendable, CaseIterable {
        /// p an integer inside the image, 0 ≤ p ≤ S − 1: an exact grid sample (SPEC section 7's derivative conventions differ here).
        case integer
        /// Within 2⁻¹⁰ of an integer, not one: rounding on the way can move the sample across a cell edge.
        case nearInteger = "near-integer"
        /// −1 ≤ p < 0 or S − 1 < p < S: some bilinear corners inside, some outside.
        case boundary
        /// p < −1 or p ≥ S: every corner outside, the sample is 0.
        case outside
        /// |d| ≥ S: an offset of at least the image's size.
        case large

        public var label: String { self == .nearInteger ? "near-integer" : rawValue }
    }

    public struct Positions: Codable, Sendable, Equatable {
        public var positionClass: PositionClass
        /// Cases with at least one coordinate in the class.
        public var cases: Int
        /// Coordinates (y and x of every sample, counted apart) in the class.
        public var coordinates: Int
    }

    /// The parameters, in the order the reports show them.
    public static let parameterNames = ["kernel size", "strides", "paddings", "dilations", "groups", "deformable groups", "dtype", "batch"]
    static let nearIntegerDistance = 1.0 / 1024

    /// Valid cases counted.
    public var cases = 0
    public var parameters: [Parameter] = Self.parameterNames.map { Parameter(name: $0, values: []) }
    public var positions: [Positions] = PositionClass.allCases.map { Positions(positionClass: $0, cases: 0, coordinates: 0) }
    /// Every coordinate of every sampling position counted.
    public var coordinates = 0

    public init() {}

    /// The values of `name`'s parameter (empty for an unknown name).
    public func values(of name: String) -> [Value] { parameters.first { $0.name == name }?.values ?? [] }

    /// The count of a position class.
    public func positions(_ positionClass: PositionClass) -> Positions {
        positions.first { $0.positionClass == positionClass } ?? Positions(positionClass: positionClass, cases: 0, coordinates: 0)
    }

    /// One valid case: its parameters, and the positions its offsets (the golden file's, widened) make.
    public mutating func add(_ problem: DeformConvProblem, offsets: [Double]) {
        let g = problem.geometry
        let values = ["\(g.kernelHeight)×\(g.kernelWidth)", "\(g.strideHeight)×\(g.strideWidth)",
                      "(\(g.padTop), \(g.padBottom), \(g.padLeft), \(g.padRight))", "\(g.dilationHeight)×\(g.dilationWidth)",
                      "\(g.groups)", "\(g.deformableGroups)", "\(problem.dtype)", "\(g.batch)"]
        var other = SuiteCoverage()
        other.cases = 1
        other.parameters = zip(Self.parameterNames, values).map { Parameter(name: $0, values: [Value(value: $1, cases: 1)]) }
        var counts = [PositionClass: Int]()
        let taps = problem.offsetTaps, plane = problem.outputHeight * problem.outputWidth
        if offsets.count == problem.offsetsCount {
            for n in 0..<g.batch {
                for k in 0..<taps {
                    let (i, j) = ((k % (g.kernelHeight * g.kernelWidth)) / g.kernelWidth, k % g.kernelWidth)
                    for ho in 0..<problem.outputHeight {
                        for wo in 0..<problem.outputWidth {
                            let at = n * 3 * taps * plane + ho * problem.outputWidth + wo
                            let dx = offsets[at + k * plane], dy = offsets[at + (taps + k) * plane]
                            let y = Double(ho * g.strideHeight - g.padTop + i * g.dilationHeight)
                            let x = Double(wo * g.strideWidth - g.padLeft + j * g.dilationWidth)
                            for positionClass in Self.classes(y + dy, offset: dy, size: g.height) + Self.classes(x + dx, offset: dx, size: g.width) {
                                counts[positionClass, default: 0] += 1
                            }
                            other.coordinates += 2
                        }
                    }
                }
            }
        }
        other.positions = PositionClass.allCases.map {
            Positions(positionClass: $0, cases: (counts[$0] ?? 0) > 0 ? 1 : 0, coordinates: counts[$0] ?? 0)
        }
        add(other)
    }

    /// The classes of a coordinate `p` with offset `d` in a dimension of `size`.
    public static func classes(_ p: Double, offset d: Double, size: Int) -> [PositionClass] {
        let s = Double(size)
        var found: [PositionClass] = []
        let distance = abs(p - p.rounded())
        if distance == 0 && p >= 0 && p <= s - 1 { found.append(.integer) }
        if distance > 0 && distance <= nearIntegerDistance { found.append(.nearInteger) }
        if (p >= -1 && p < 0) || (p > s - 1 && p < s) { found.append(.boundary) }
        if p < -1 || p >= s { found.append(.outside) }
        if abs(d) >= s { found.append(.large) }
        return found
    }

    /// Another count of other cases (another file's, another shard's).
    public mutating func add(_ other: SuiteCoverage) {
        cases += other.cases
        coordinates += other.coordinates
        for parameter in other.parameters {
            guard let p = parameters.firstIndex(where: { $0.name == parameter.name }) else {
                parameters.append(parameter)
                continue
            }
            for value in parameter.values {
                if let v = parameters[p].values.firstIndex(where: { $0.value == value.value }) {
                    parameters[p].values[v].cases += value.cases
                } else {
                    parameters[p].values.append(value)
                }
            }
            // Numbers in numeric order ("2" before "10"), then the rest as text.
            parameters[p].values.sort { ($0.value.count, $0.value) < ($1.value.count, $1.value) }
        }
        for count in other.positions {
            if let c = positions.firstIndex(where: { $0.positionClass == count.positionClass }) {
                positions[c].cases += count.cases
                positions[c].coordinates += count.coordinates
            }
        }
    }

    /// The sum of several coverages; nil when there is none.
    public static func sum(_ parts: [SuiteCoverage?]) -> SuiteCoverage? {
        let present = parts.compactMap { $0 }
        guard var total = present.first else { return nil }
        for part in present.dropFirst() { total.add(part) }
        return total
    }
}
