import DeformConv
import Formats
import Scoring

/// An invalid call: a valid base case with one or more things broken on purpose.
public struct ErrorRecipe: Sendable {
    public var name: String
    public var code: ErrorCode
    public var description: String
    /// Breaks the base case (`ic4ih5oc2kh3`, float32, with bias; see `SuiteGenerator.errorBase`).
    public var breakCase: @Sendable (inout GoldenCase, inout SeededGenerator) -> Void

    public init(_ name: String, _ code: ErrorCode, _ description: String,
                _ breakCase: @escaping @Sendable (inout GoldenCase, inout SeededGenerator) -> Void) {
        self.name = name
        self.code = code
        self.description = description
        self.breakCase = breakCase
    }

    /// A recipe that sets one parameter attribute to `value`.
    public init(_ name: String, _ code: ErrorCode, _ description: String, setting parameter: String, to value: ParameterValue) {
        self.init(name, code, description) { c, _ in c.parameters[parameter] = value }
    }

    /// A recipe that gives one tensor new random data of another shape.
    public init(_ name: String, _ code: ErrorCode, _ description: String,
                reshaping tensor: WritableKeyPath<GoldenCase, StoredTensor> & Sendable, to shape: [Int]) {
        self.init(name, code, description) { c, rng in c[keyPath: tensor] = DefaultSuite.reshaped(c[keyPath: tensor], shape, &rng) }
    }

    /// A recipe that gives one tensor new random data of another dtype.
    public init(_ name: String, _ code: ErrorCode, _ description: String,
                retyping tensor: WritableKeyPath<GoldenCase, StoredTensor> & Sendable, to dtype: DataType) {
        self.init(name, code, description) { c, rng in c[keyPath: tensor] = DefaultSuite.retyped(c[keyPath: tensor], dtype, &rng) }
    }
}

extension DefaultSuite {
    /// At least one case per error code of SPEC section 2, then cases where several
    /// rules are broken and the first row of the table must win.
    public static let errors: [ErrorRecipe] = [
        ErrorRecipe("param-type-kernel-size-float", .paramType, "kernel_size stored as floats (3.0, 3.0)", setting: "kernel_size", to: .floats([3, 3])),
        ErrorRecipe("param-type-groups-float", .paramType, "groups stored as a float", setting: "groups", to: .floats([1])),
        ErrorRecipe("param-type-strides-string", .paramType, "strides stored as a string", setting: "strides", to: .string("1,1,1,1")),
        ErrorRecipe("param-type-dilations-boolean", .paramType, "dilations stored as a boolean", setting: "dilations", to: .boolean(true)),
        ErrorRecipe("param-type-modulated-integer-2", .paramType, "modulated is the integer 2, not a boolean", setting: "modulated", to: .integer(2)),
        ErrorRecipe("dtype-unsupported-float64", .dtypeUnsupported, "every tensor float64") { c, rng in
            for path in [\GoldenCase.x, \.weight, \.offsets] { c[keyPath: path] = retyped(c[keyPath: path], .float64, &rng) }
            c.bias = c.bias.map { retyped($0, .float64, &rng) }
        },
        ErrorRecipe("dtype-unsupported-int32", .dtypeUnsupported, "x int32, the rest float32", retyping: \.x, to: .integer(bits: 32, signed: true)),
        ErrorRecipe("dtype-mismatch-weight", .dtypeMismatch, "x float32, weight float16", retyping: \.weight, to: .float16),
        ErrorRecipe("dtype-mismatch-offsets", .dtypeMismatch, "x float32, offsets float64", retyping: \.offsets, to: .float64),
        ErrorRecipe("dtype-mismatch-bias", .dtypeMismatch, "x float32, bias float16") { c, rng in
            c.bias = c.bias.map { retyped($0, .float16, &rng) }
        },
        ErrorRecipe("param-length-kernel-size", .paramLength, "kernel_size with one element", setting: "kernel_size", to: .integers([3])),
        ErrorRecipe("param-length-strides", .paramLength, "strides with two elements", setting: "strides", to: .integers([1, 1])),
        ErrorRecipe("param-length-padding", .paramLength, "padding with two elements (MindSpore wants four)", setting: "padding", to: .integers([0, 0])),
        ErrorRecipe("param-length-dilations", .paramLength, "dilations with five elements", setting: "dilations", to: .integers([1, 1, 1, 1, 1])),
        ErrorRecipe("param-nc-strides", .paramNC, "strides N entry 2", setting: "strides", to: .integers([2, 1, 1, 1])),
        ErrorRecipe("param-nc-dilations", .paramNC, "dilations C entry 3", setting: "dilations", to: .integers([1, 3, 1, 1])),
        ErrorRecipe("modulated-false", .modulatedFalse, "modulated false (DCNv1)", setting: "modulated", to: .boolean(false)),
        ErrorRecipe("param-range-stride-zero", .paramRange, "stride 0 in height", setting: "strides", to: .integers([1, 1, 0, 1])),
        ErrorRecipe("param-range-dilation-zero", .paramRange, "dilation 0 in width", setting: "dilations", to: .integers([1, 1, 1, 0])),
        ErrorRecipe("param-range-padding-negative", .paramRange, "padding bottom −1", setting: "padding", to: .integers([0, -1, 0, 0])),
        ErrorRecipe("param-range-groups-zero", .paramRange, "groups 0", setting: "groups", to: .integer(0)),
        ErrorRecipe("param-range-deformable-groups-negative", .paramRange, "deformable_groups −1", setting: "deformable_groups", to: .integer(-1)),
        ErrorRecipe("param-range-kernel-size-zero", .paramRange, "kernel_size (0, 3) with a weight of matching shape") { c, rng in
            c.parameters["kernel_size"] = .integers([0, 3])
            c.weight = reshaped(c.weight, [2, 4, 0, 3], &rng)
        },
        ErrorRecipe("rank-x-3d", .rank, "x of shape (4, 5, 5)", reshaping: \.x, to: [4, 5, 5]),
        ErrorRecipe("rank-weight-5d", .rank, "weight of shape (2, 4, 3, 3, 1)", reshaping: \.weight, to: [2, 4, 3, 3, 1]),
        ErrorRecipe("rank-offsets-3d", .rank, "offsets of shape (27, 3, 3)", reshaping: \.offsets, to: [27, 3, 3]),
        ErrorRecipe("rank-bias-2d", .rank, "bias of shape (1, 2)") { c, rng in
            c.bias = c.bias.map { reshaped($0, [1, 2], &rng) }
        },
        ErrorRecipe("groups-channels-not-divisible", .groups, "C = 4, groups = 3") { c, rng in
            c.parameters["groups"] = .integer(3)
            c.weight = reshaped(c.weight, [3, 1, 3, 3], &rng)
            c.bias = c.bias.map { reshaped($0, [3], &rng) }
        },
        ErrorRecipe("groups-output-channels-not-divisible", .groups, "Co = 3, groups = 2") { c, rng in
            c.parameters["groups"] = .integer(2)
            c.weight = reshaped(c.weight, [3, 2, 3, 3], &rng)
            c.bias = c.bias.map { reshaped($0, [3], &rng) }
        },
        ErrorRecipe("groups-weight-dim1", .groups, "weight dim 1 is 2, C/groups is 4 (MindSpore: RuntimeError)", reshaping: \.weight, to: [2, 2, 3, 3]),
        ErrorRecipe("deformable-groups-not-divisible", .deformableGroups, "C = 4, deformable_groups = 3") { c, rng in
            c.parameters["deformable_groups"] = .integer(3)
            c.offsets = reshaped(c.offsets, [1, 81, 3, 3], &rng)
        },
        ErrorRecipe("weight-shape", .weightShape, "kernel_size (3, 3), weight 2×2", reshaping: \.weight, to: [2, 4, 2, 2]),
        ErrorRecipe("empty-output-small-input", .emptyOutput, "2×2 input, 3×3 kernel, no padding", reshaping: \.x, to: [1, 4, 2, 2]),
        ErrorRecipe("empty-output-dilation", .emptyOutput, "dilation 3 makes the window 7 wide on a 5-wide input", setting: "dilations", to: .integers([1, 1, 3, 3])),
        ErrorRecipe("empty-output-batch-zero", .emptyOutput, "x of shape (0, 4, 5, 5)") { c, rng in
            c.x = reshaped(c.x, [0, 4, 5, 5], &rng)
            c.offsets = reshaped(c.offsets, [0, 27, 3, 3], &rng)
        },
        ErrorRecipe("offsets-shape-batch", .offsetsShape, "offsets batch 2, x batch 1 (MindSpore accepts it silently)", reshaping: \.offsets, to: [2, 27, 3, 3]),
        ErrorRecipe("offsets-shape-channels", .offsetsShape, "offsets with 26 channels instead of 27", reshaping: \.offsets, to: [1, 26, 3, 3]),
        ErrorRecipe("offsets-shape-spatial", .offsetsShape, "offsets 4×3, output 3×3", reshaping: \.offsets, to: [1, 27, 4, 3]),
        ErrorRecipe("bias-shape", .biasShape, "bias of 3 elements, Co = 2") { c, rng in
            c.bias = c.bias.map { reshaped($0, [3], &rng) }
        },
        ErrorRecipe("too-large-limit", .tooLarge, "a 32768×32768 input: about 230 GiB of working memory") { c, _ in
            c.x = StoredTensor(shape: [1, 1, 32768, 32768], data: .unwritten(.float32))
            c.weight = StoredTensor(shape: [1, 1, 3, 3], data: .float32(.init(repeating: 1, count: 9)))
            c.offsets = StoredTensor(shape: [1, 27, 32766, 32766], data: .unwritten(.float32))
            c.bias = nil
        },
        ErrorRecipe("too-large-overflow", .tooLarge, "element counts that overflow a 64-bit integer") { c, _ in
            c.x = StoredTensor(shape: [1, 1, 1 << 31, 1 << 31], data: .unwritten(.float32))
            c.weight = StoredTensor(shape: [1, 1, 3, 3], data: .float32(.init(repeating: 1, count: 9)))
            c.offsets = StoredTensor(shape: [1, 27, (1 << 31) - 2, (1 << 31) - 2], data: .unwritten(.float32))
            c.bias = nil
        },
        // Several rules broken at once: the first row of SPEC section 2's table wins.
        ErrorRecipe("precedence-param-type-over-dtype", .paramType, "kernel_size floats and x float64") { c, rng in
            c.parameters["kernel_size"] = .floats([3, 3])
            c.x = retyped(c.x, .float64, &rng)
        },
        ErrorRecipe("precedence-dtype-unsupported-over-mismatch", .dtypeUnsupported, "x int32 and weight float16") { c, rng in
            c.x = retyped(c.x, .integer(bits: 32, signed: true), &rng)
            c.weight = retyped(c.weight, .float16, &rng)
        },
        ErrorRecipe("precedence-dtype-mismatch-over-length", .dtypeMismatch, "weight float16 and strides of two elements") { c, rng in
            c.weight = retyped(c.weight, .float16, &rng)
            c.parameters["strides"] = .integers([1, 1])
        },
        ErrorRecipe("precedence-length-over-nc", .paramLength, "strides N entry 2 and padding of three elements") { c, _ in
            c.parameters["strides"] = .integers([2, 1, 1, 1])
            c.parameters["padding"] = .integers([0, 0, 0])
        },
        ErrorRecipe("precedence-nc-over-modulated", .paramNC, "dilations N entry 2 and modulated false") { c, _ in
            c.parameters["dilations"] = .integers([2, 1, 1, 1])
            c.parameters["modulated"] = .boolean(false)
        },
        ErrorRecipe("precedence-modulated-over-range", .modulatedFalse, "modulated false and stride 0") { c, _ in
            c.parameters["modulated"] = .boolean(false)
            c.parameters["strides"] = .integers([1, 1, 0, 0])
        },
        ErrorRecipe("precedence-range-over-rank", .paramRange, "groups 0 and x 3-D") { c, rng in
            c.parameters["groups"] = .integer(0)
            c.x = reshaped(c.x, [4, 5, 5], &rng)
        },
        ErrorRecipe("precedence-rank-over-groups", .rank, "bias 2-D and groups 3 with C = 4") { c, rng in
            c.bias = c.bias.map { reshaped($0, [2, 1], &rng) }
            c.parameters["groups"] = .integer(3)
        },
        ErrorRecipe("precedence-groups-over-deformable-groups", .groups, "groups 3 and deformable_groups 3 with C = 4") { c, _ in
            c.parameters["groups"] = .integer(3)
            c.parameters["deformable_groups"] = .integer(3)
        },
        ErrorRecipe("precedence-weight-shape-over-empty", .weightShape, "weight 2×2 and a 2×2 input") { c, rng in
            c.weight = reshaped(c.weight, [2, 4, 2, 2], &rng)
            c.x = reshaped(c.x, [1, 4, 2, 2], &rng)
        },
        ErrorRecipe("precedence-empty-over-offsets", .emptyOutput, "2×2 input and offsets of the wrong batch") { c, rng in
            c.x = reshaped(c.x, [1, 4, 2, 2], &rng)
            c.offsets = reshaped(c.offsets, [3, 27, 3, 3], &rng)
        },
        ErrorRecipe("precedence-offsets-over-bias", .offsetsShape, "offsets batch 2 and a bias of 3 elements") { c, rng in
            c.offsets = reshaped(c.offsets, [2, 27, 3, 3], &rng)
            c.bias = c.bias.map { reshaped($0, [3], &rng) }
        },
        ErrorRecipe("precedence-bias-over-too-large", .biasShape, "bias of 3 elements and a 32768×32768 input") { c, _ in
            c.x = StoredTensor(shape: [1, 4, 32768, 32768], data: .unwritten(.float32))
            c.offsets = StoredTensor(shape: [1, 27, 32766, 32766], data: .unwritten(.float32))
            c.bias = StoredTensor(shape: [3], data: .float32([1, 2, 3]))
        },
        // Backward validation (SPEC section 7): the forward call is valid, gy is not.
        ErrorRecipe("grad-shape", .gradShape, "gy of shape (1, 2, 3, 4); the output is (1, 2, 3, 3)") { c, rng in
            c.gy = SuiteGenerator.randomTensor(shape: [1, 2, 3, 4], dtype: .float32, &rng)
        },
        ErrorRecipe("grad-shape-batch", .gradShape, "gy for two images; the call has one") { c, rng in
            c.gy = SuiteGenerator.randomTensor(shape: [2, 2, 3, 3], dtype: .float32, &rng)
        },
        ErrorRecipe("grad-dtype-mismatch", .dtypeMismatch, "gy in float16, x in float32") { c, rng in
            c.gy = SuiteGenerator.randomTensor(shape: [1, 2, 3, 3], dtype: .float16, &rng)
        },
        ErrorRecipe("grad-dtype-over-shape", .dtypeMismatch, "gy in float16 and of the wrong shape: the dtype wins") { c, rng in
            c.gy = SuiteGenerator.randomTensor(shape: [1, 2, 4, 4], dtype: .float16, &rng)
        },
    ]

    /// `tensor` with new random data of another dtype, same shape.
    static func retyped(_ tensor: StoredTensor, _ dtype: DataType, _ rng: inout SeededGenerator) -> StoredTensor {
        SuiteGenerator.randomTensor(shape: tensor.shape, dtype: dtype, &rng)
    }

    /// `tensor` with new random data of the same dtype and another shape.
    static func reshaped(_ tensor: StoredTensor, _ shape: [Int], _ rng: inout SeededGenerator) -> StoredTensor {
        SuiteGenerator.randomTensor(shape: shape, dtype: tensor.data.dtype, &rng)
    }
}
