import DeformConv
import Formats
import Scoring

/// One fuzz problem: a valid call with its golden output, or a call that breaks
/// exactly one rule of SPEC section 2. Everything follows from (seed, index).
public struct FuzzProblem: Sendable {
    public enum Kind: Sendable {
        case valid
        /// The code the one broken rule must give, and what was broken.
        case violation(ErrorCode, String)
    }

    public var index: Int
    /// The problem's own seed: `SeededGenerator.derive(run seed, index)`.
    public var seed: UInt64
    public var kind: Kind
    /// The geometry the problem started from, in canonical descriptor form (SPEC section 5).
    public var descriptor: String
    /// dtype, bias and the drawing styles, e.g. "float16 bias values=uniform offsets=boundary masks=signed".
    public var styles: String
    /// The case as a golden file stores it (y and its magnitudes from the reference for valid problems).
    public var golden: GoldenCase

    /// One line that identifies the problem for a person.
    public var summary: String {
        switch kind {
        case .valid: "valid \(descriptor) \(styles)"
        case let .violation(code, what): "\(code.rawValue) violation of \(descriptor) \(styles): \(what)"
        }
    }
}

/// Draws fuzz problems. Valid problems reuse the suite generator's drawing code
/// (`SuiteGenerator.validCase` with a `CaseRecipe` of random styles), so every
/// offset and mask style of the suite (integer and boundary positions, zero and
/// negative masks, exact data) is fuzzed too.
public struct FuzzProblemGenerator: Sendable {
    public var seed: UInt64
    /// Share of problems that break a rule of SPEC section 2.
    public var violationFraction: Double
    /// Largest multiply-adds (N·Co·Ho·Wo·R) of a valid problem, so that a long run stays quick.
    public var maxMultiplyAdds: Int

    /// Only problems of this dtype (the draw is otherwise unchanged); nil for both.
    public var dtype: DataType?

    /// Valid problems carry gy and the exact gradients, and violations may break the backward's rule
    /// too (`dcn fuzz --pass backward|both`); without it the draw is exactly as before.
    public var backward = false

    public init(seed: UInt64, violationFraction: Double = 0.2, maxMultiplyAdds: Int = 60_000) {
        self.seed = seed
        self.violationFraction = violationFraction
        self.maxMultiplyAdds = maxMultiplyAdds
    }

    public func problem(_ index: Int) throws -> FuzzProblem {
        let problemSeed = SeededGenerator.derive(seed, index)
        var rng = SeededGenerator(seed: problemSeed)
        let geometry = drawGeometry(&rng)
        let drawn: DataType = rng.integer(0, 9) < 3 ? .float16 : .float32
        let dtype = self.dtype ?? drawn
        let bias = rng.integer(0, 1) == 1
        let descriptor = ProblemDescriptor(geometry: geometry).description
        if rng.uniform(0, 1) < violationFraction {
            var golden = Self.base(geometry, dtype: dtype, bias: bias, &rng)
            let codes = backward ? ErrorCode.allCases : ErrorCode.forwardCases
            let code = codes[rng.integer(0, codes.count - 1)]
            let what = FuzzViolations.break(&golden, code, geometry, &rng)
            golden.name = "fuzz-\(index)-\(code.rawValue)"
            golden.tags = ["error"]
            golden.expect = .error(code)
            golden.seed = problemSeed
            golden.description = "dcn fuzz problem \(index) (seed \(problemSeed)): \(code.rawValue): \(what)"
            return FuzzProblem(index: index, seed: problemSeed, kind: .violation(code, what), descriptor: descriptor,
                               styles: "\(dtype)\(bias ? " bias" : "")", golden: golden)
        }
        let recipe = drawRecipe(descriptor, geometry, dtype: dtype, bias: bias, index: index, &rng)
        var golden = try SuiteGenerator().validCase(recipe, seed: SeededGenerator.derive(problemSeed, 1), allowWeak: true,
                                                    backward: backward).0
        golden.description = "dcn fuzz problem \(index) (seed \(problemSeed)): \(descriptor)"
        let styles = "\(dtype)\(bias ? " bias" : "") values=\(recipe.values) offsets=\(recipe.offsets) masks=\(recipe.masks)"
        return FuzzProblem(index: index, seed: problemSeed, kind: .valid, descriptor: descriptor, styles: styles, golden: golden)
    }

    /// Small shapes with every feature: batch, groups, offset groups, non-square and 1×1
    /// kernels, strides, asymmetric padding, dilation; output channels and pixels past the
    /// tiled kernels' 6×16 blocks now and then.
    func drawGeometry(_ rng: inout SeededGenerator) -> ConvGeometry {
        while true {
            var g = ConvGeometry()
            g.batch = rng.integer(0, 9) < 8 ? 1 : rng.integer(2, 3)
            g.groups = rng.pick([1, 1, 1, 1, 2, 2, 3, 4])
            let perGroup = rng.integer(0, 9) < 8 ? rng.integer(1, 4) : rng.integer(5, 40)
            g.channels = g.groups * perGroup
            let divisors = (1...min(g.channels, 6)).filter { g.channels % $0 == 0 }
            g.deformableGroups = rng.integer(0, 1) == 0 ? 1 : rng.pick(divisors)
            g.outputChannels = g.groups * (rng.integer(0, 9) < 8 ? rng.integer(1, 4) : rng.integer(5, 20))
            g.kernelHeight = rng.pick([1, 1, 2, 3, 3, 3, 4, 5])
            g.kernelWidth = rng.integer(0, 9) < 6 ? g.kernelHeight : rng.integer(1, 5)
            g.strideHeight = rng.pick([1, 1, 1, 2, 3])
            g.strideWidth = rng.integer(0, 9) < 6 ? g.strideHeight : rng.integer(1, 3)
            g.dilationHeight = rng.pick([1, 1, 1, 2, 3])
            g.dilationWidth = rng.integer(0, 9) < 6 ? g.dilationHeight : rng.integer(1, 3)
            (g.padTop, g.padBottom, g.padLeft, g.padRight) = (rng.integer(0, 2), rng.integer(0, 2), rng.integer(0, 2), rng.integer(0, 2))
            if rng.integer(0, 1) == 0 { (g.padBottom, g.padRight) = (g.padTop, g.padLeft) }
            g.height = rng.integer(0, 9) < 8 ? rng.integer(1, 9) : rng.integer(10, 16)
            g.width = rng.integer(0, 9) < 5 ? g.height : rng.integer(1, 12)
            // Grow the image until the window fits: every problem here is valid.
            let extentH = g.dilationHeight * (g.kernelHeight - 1) + 1, extentW = g.dilationWidth * (g.kernelWidth - 1) + 1
            g.height = max(g.height, extentH - g.padTop - g.padBottom)
            g.width = max(g.width, extentW - g.padLeft - g.padRight)
            g.height = max(g.height, 1)
            g.width = max(g.width, 1)
            let work = g.batch * g.outputChannels * g.outputHeight * g.outputWidth * (g.channels / g.groups) * g.kernelHeight * g.kernelWidth
            if work <= maxMultiplyAdds { return g }
        }
    }

    func drawRecipe(_ descriptor: String, _ g: ConvGeometry, dtype: DataType, bias: Bool, index: Int,
                    _ rng: inout SeededGenerator) -> CaseRecipe {
        let reduction = (g.channels / g.groups) * g.kernelHeight * g.kernelWidth
        let exact = dtype == .float32 && reduction < 4096 && rng.integer(0, 3) == 0
        let values: CaseRecipe.Values = exact ? .exact : (rng.integer(0, 29) == 0 ? .ones : .uniform)
        let offsets: CaseRecipe.Offsets = exact
            ? rng.pick([.quarter, .integer, .boundary])
            : rng.pick([.uniform, .uniform, .integer, .boundary, .boundary, .large, .quarter, .ones])
        let masks: CaseRecipe.Masks = exact
            ? (rng.integer(0, 19) == 0 ? .allZero : rng.pick([.quarter, .quarter, .ones]))
            : (rng.integer(0, 19) == 0 ? .allZero : rng.pick([.unit, .signed, .signed, .someZero, .quarter, .ones]))
        return CaseRecipe("fuzz-\(index)", descriptor, dtype: dtype, bias: bias, values: values, offsets: offsets,
                          masks: masks, "dcn fuzz problem \(index)")
    }

    /// A valid call of `g` with random data: what each violation breaks.
    static func base(_ g: ConvGeometry, dtype: DataType, bias: Bool, _ rng: inout SeededGenerator) -> GoldenCase {
        let arguments = g.arguments(dtype: dtype, bias: bias)
        return GoldenCase(
            name: "base", tags: [], description: "", parameters: GoldenCase.parameters(of: g),
            x: SuiteGenerator.randomTensor(shape: arguments.x.shape, dtype: dtype, &rng),
            weight: SuiteGenerator.randomTensor(shape: arguments.weight.shape, dtype: dtype, &rng),
            offsets: SuiteGenerator.randomTensor(shape: arguments.offsets.shape, dtype: dtype, &rng),
            bias: arguments.bias.map { SuiteGenerator.randomTensor(shape: $0.shape, dtype: dtype, &rng) },
            expect: .ok)
    }
}

/// Breaks one rule of SPEC section 2 in a valid call, leaving every other rule intact
/// where the table allows it (a rule further down may follow from the break, which
/// precedence makes irrelevant), so the expected code is exactly the broken row's.
enum FuzzViolations {
    /// Breaks the rule of `code` in `c` (a valid call of `g`) and says how.
    static func `break`(_ c: inout GoldenCase, _ code: ErrorCode, _ g: ConvGeometry, _ rng: inout SeededGenerator) -> String {
        let dtype = c.x.data.dtype
        func tensor(_ shape: [Int], _ type: DataType? = nil) -> StoredTensor {
            SuiteGenerator.randomTensor(shape: shape, dtype: type ?? dtype, &rng)
        }
        let lists: [String: [Int]] = [
            "kernel_size": [g.kernelHeight, g.kernelWidth], "strides": [1, 1, g.strideHeight, g.strideWidth],
            "padding": [g.padTop, g.padBottom, g.padLeft, g.padRight], "dilations": [1, 1, g.dilationHeight, g.dilationWidth],
        ]
        let (n, ch, co) = (g.batch, g.channels, g.outputChannels)
        switch code {
        case .paramType:
            let target = rng.pick(["kernel_size", "strides", "padding", "dilations", "groups", "deformable_groups", "modulated"])
            let value: ParameterValue
            if target == "modulated" {
                value = rng.pick([.integer(2), .integer(-1), .string("true"), .floats([1])])
            } else {
                let values = lists[target] ?? [target == "groups" ? g.groups : g.deformableGroups]
                value = rng.pick([.floats(values.map(Double.init)), .string(values.map(String.init).joined(separator: ",")), .boolean(true)])
            }
            c.parameters[target] = value
            return "\(target) stored as \(value)"
        case .dtypeUnsupported:
            let type = rng.pick([DataType.float64, .integer(bits: 32, signed: true)])
            let all = rng.integer(0, 1) == 0
            c.x = tensor(c.x.shape, type)
            if all {
                c.weight = tensor(c.weight.shape, type)
                c.offsets = tensor(c.offsets.shape, type)
                c.bias = c.bias.map { tensor($0.shape, type) }
            }
            return all ? "every tensor \(type)" : "x \(type)"
        case .dtypeMismatch:
            let other = rng.pick([DataType.float16, .float32, .float64, .integer(bits: 32, signed: true)].filter { $0 != dtype })
            let targets = ["weight", "offsets"] + (c.bias == nil ? [] : ["bias"])
            let target = rng.pick(targets)
            switch target {
            case "weight": c.weight = tensor(c.weight.shape, other)
            case "offsets": c.offsets = tensor(c.offsets.shape, other)
            default: c.bias = tensor(c.bias!.shape, other)
            }
            return "\(target) \(other), x \(dtype)"
        case .paramLength:
            let target = rng.pick(["kernel_size", "strides", "padding", "dilations"])
            let values = lists[target]!
            let length = rng.pick((0...6).filter { $0 != values.count })
            let changed = length <= values.count ? Array(values.prefix(length)) : values + Array(repeating: 1, count: length - values.count)
            c.parameters[target] = .integers(changed)
            return "\(target) with \(length) elements"
        case .paramNC:
            let target = rng.pick(["strides", "dilations"])
            var values = lists[target]!
            let position = rng.integer(0, 1)
            values[position] = rng.pick([0, 2, 3, -1])
            c.parameters[target] = .integers(values)
            return "\(target)[\(position)] = \(values[position])"
        case .modulatedFalse:
            let value: ParameterValue = rng.pick([.boolean(false), .integer(0)])
            c.parameters["modulated"] = value
            return "modulated \(value)"
        case .paramRange:
            let bad = rng.pick([0, -1, -3])
            switch rng.integer(0, 5) {
            case 0:
                let axis = rng.integer(0, 1)
                var values = lists["kernel_size"]!
                values[axis] = bad
                c.parameters["kernel_size"] = .integers(values)
                return "kernel_size[\(axis)] = \(bad)"
            case 1, 2:
                let target = rng.pick(["strides", "dilations"])
                var values = lists[target]!
                let axis = rng.integer(2, 3)
                values[axis] = bad
                c.parameters[target] = .integers(values)
                return "\(target)[\(axis)] = \(bad)"
            case 3:
                let target = rng.pick(["groups", "deformable_groups"])
                c.parameters[target] = .integer(bad)
                return "\(target) = \(bad)"
            default:
                var values = lists["padding"]!
                let side = rng.integer(0, 3)
                values[side] = min(bad, -1)
                c.parameters["padding"] = .integers(values)
                return "padding[\(side)] = \(values[side])"
            }
        case .rank:
            let target = rng.pick(["x", "weight", "offsets", "bias"])
            if target == "bias" {
                let shape = rng.pick([[], [co, 1], [1, co]])
                c.bias = tensor(shape)
                return "bias of shape \(shape)"
            }
            let original = target == "x" ? c.x.shape : target == "weight" ? c.weight.shape : c.offsets.shape
            let rank = rng.pick([0, 1, 2, 3, 5, 6])
            let shape = rank <= 4 ? Array(original.suffix(rank)) : original + Array(repeating: 1, count: rank - 4)
            switch target {
            case "x": c.x = tensor(shape)
            case "weight": c.weight = tensor(shape)
            default: c.offsets = tensor(shape)
            }
            return "\(target) of shape \(shape)"
        case .groups:
            switch rng.integer(0, 2) {
            case 0:
                let groups = rng.pick((2...(ch + 1)).filter { ch % $0 != 0 })
                c.parameters["groups"] = .integer(groups)
                return "groups \(groups) with C = \(ch)"
            case 1 where g.groups > 1:
                c.weight = tensor([co + 1] + c.weight.shape.dropFirst())
                c.bias = c.bias.map { _ in tensor([co + 1]) }
                return "Co = \(co + 1) with groups \(g.groups)"
            default:
                let dim1 = ch / g.groups + (ch / g.groups > 1 && rng.integer(0, 1) == 0 ? -1 : 1)
                c.weight = tensor([co, dim1, g.kernelHeight, g.kernelWidth])
                return "weight dim 1 = \(dim1), C/groups = \(ch / g.groups)"
            }
        case .deformableGroups:
            let groups = rng.pick((2...(ch + 1)).filter { ch % $0 != 0 })
            c.parameters["deformable_groups"] = .integer(groups)
            c.offsets = tensor([n, 3 * groups * g.kernelHeight * g.kernelWidth, g.outputHeight, g.outputWidth])
            return "deformable_groups \(groups) with C = \(ch)"
        case .weightShape:
            let axis = rng.integer(2, 3)
            var shape = c.weight.shape
            shape[axis] += shape[axis] > 1 && rng.integer(0, 1) == 0 ? -1 : rng.integer(1, 2)
            c.weight = tensor(shape)
            return "weight of shape \(shape) with kernel_size (\(g.kernelHeight), \(g.kernelWidth))"
        case .emptyOutput:
            let extent = g.dilationHeight * (g.kernelHeight - 1) + 1
            let small = extent - g.padTop - g.padBottom - 1
            switch rng.integer(0, 4) {
            case 0:
                c.x = tensor([0, ch, g.height, g.width])
                c.offsets = tensor([0] + c.offsets.shape.dropFirst())
                return "N = 0"
            case 1:
                c.x = tensor([n, ch, 0, g.width])
                return "H = 0"
            case 2:
                c.weight = tensor([0] + c.weight.shape.dropFirst())
                c.bias = c.bias.map { _ in tensor([0]) }
                return "Co = 0"
            case 3 where small >= 1:
                c.x = tensor([n, ch, small, g.width])
                return "H = \(small): the \(extent)-tall window does not fit with padding \(g.padTop)+\(g.padBottom)"
            default:
                c.x = tensor([n, ch, g.height, 0])
                return "W = 0"
            }
        case .offsetsShape:
            var shape = c.offsets.shape
            if rng.integer(0, 4) == 0 {
                shape[1] = 2 * shape[1] / 3
                c.offsets = tensor(shape)
                return "offsets of shape \(shape): no mask channels (DCNv1 layout)"
            }
            let axis = rng.integer(0, 3)
            shape[axis] += shape[axis] > 0 && rng.integer(0, 1) == 0 ? -1 : rng.integer(1, 2)
            c.offsets = tensor(shape)
            return "offsets of shape \(shape), expected [\(n), \(3 * g.deformableGroups * g.kernelHeight * g.kernelWidth), \(g.outputHeight), \(g.outputWidth)]"
        case .biasShape:
            let length = rng.pick([0, co + 1, co + 2] + (co > 1 ? [co - 1] : []))
            c.bias = tensor([length])
            return "bias of \(length) elements, Co = \(co)"
        case .tooLarge:
            var big = g
            if rng.integer(0, 1) == 0 {
                big.height = rng.integer(1 << 15, 1 << 20)
                big.width = rng.integer(1 << 15, 1 << 20)
            } else {
                big.height = rng.integer(1 << 31, 1 << 33)
                big.width = rng.integer(1 << 31, 1 << 33)
            }
            c.x = StoredTensor(shape: [n, ch, big.height, big.width], data: .unwritten(dtype))
            c.offsets = StoredTensor(shape: [n, 3 * g.deformableGroups * g.kernelHeight * g.kernelWidth, big.outputHeight, big.outputWidth],
                                     data: .unwritten(dtype))
            return "a \(big.height)×\(big.width) input"
        case .gradShape:
            // The forward call stays valid; gy gets one dimension wrong (SPEC section 7).
            guard let output = try? DeformConvProblem(validating: c.arguments).outputShape else {
                preconditionFailure("the fuzz base case is a valid call")
            }
            var shape = output
            let axis = rng.integer(0, 3)
            shape[axis] += rng.integer(0, 1) == 0 || shape[axis] == 1 ? 1 : -1
            c.gy = tensor(shape)
            return "gy of shape \(shape), the output is \(output)"
        }
    }
}
