/// The integer geometry of a deformable convolution: sizes, strides, padding,
/// dilation and grouping, with nothing checked yet.
///
/// Problem descriptors (SPEC section 5) parse into this; `arguments(dtype:bias:)`
/// turns it into the tensor shapes MindSpore's call would receive.
public struct ConvGeometry: Hashable, Sendable {
    public var batch = 1
    public var channels = 1
    public var height = 1
    public var width = 1
    public var outputChannels = 1
    public var kernelHeight = 1
    public var kernelWidth = 1
    public var strideHeight = 1
    public var strideWidth = 1
    public var padTop = 0
    public var padBottom = 0
    public var padLeft = 0
    public var padRight = 0
    public var dilationHeight = 1
    public var dilationWidth = 1
    public var groups = 1
    public var deformableGroups = 1

    public init() {}

    /// Output height per SPEC section 1 (may be < 1 for an invalid geometry; may trap on absurd sizes, so validate first).
    public var outputHeight: Int {
        Self.outputSize(height, padTop + padBottom, kernelHeight, strideHeight, dilationHeight)
    }

    public var outputWidth: Int {
        Self.outputSize(width, padLeft + padRight, kernelWidth, strideWidth, dilationWidth)
    }

    static func outputSize(_ input: Int, _ pad: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
        let span = input + pad - (dilation * (kernel - 1) + 1)
        return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1
    }

    /// The call MindSpore would receive for this geometry: NCHW tensors of `dtype`, offsets sized for the output.
    public func arguments(dtype: DataType = .float32, bias: Bool = false) -> DeformConvArguments {
        let taps = deformableGroups * kernelHeight * kernelWidth
        return DeformConvArguments(
            x: TensorSpec(shape: [batch, channels, height, width], dtype: dtype),
            weight: TensorSpec(shape: [outputChannels, channels / max(groups, 1), kernelHeight, kernelWidth], dtype: dtype),
            offsets: TensorSpec(shape: [batch, 3 * taps, outputHeight, outputWidth], dtype: dtype),
            bias: bias ? TensorSpec(shape: [outputChannels], dtype: dtype) : nil,
            kernelSize: .integers([kernelHeight, kernelWidth]),
            strides: .integers([1, 1, strideHeight, strideWidth]),
            padding: .integers([padTop, padBottom, padLeft, padRight]),
            dilations: .integers([1, 1, dilationHeight, dilationWidth]),
            groups: .integers([groups]),
            deformableGroups: .integers([deformableGroups]),
            modulated: .value(true))
    }
}

/// Bounds on what a single problem may make the process allocate.
public struct ResourceLimits: Hashable, Sendable {
    /// Working memory a problem may need, in bytes (see `DeformConvProblem.workingBytes`).
    public var maxWorkingBytes: Int

    public init(maxWorkingBytes: Int = 4 << 30) {
        self.maxWorkingBytes = maxWorkingBytes
    }

    public static let standard = ResourceLimits()
}

/// A validated deformable convolution: every shape is consistent, every size is
/// positive and the working memory fits the limit.
///
/// The only way to make one is `init(validating:limits:)`, so a kernel handed a
/// problem never has to check anything.
public struct DeformConvProblem: Hashable, Sendable {
    public let geometry: ConvGeometry
    /// float16 or float32: the dtype of every tensor and of the output.
    public let dtype: DataType
    public let hasBias: Bool
    public let outputHeight: Int
    public let outputWidth: Int

    public var batch: Int { geometry.batch }
    public var channels: Int { geometry.channels }
    public var height: Int { geometry.height }
    public var width: Int { geometry.width }
    public var outputChannels: Int { geometry.outputChannels }
    public var kernelHeight: Int { geometry.kernelHeight }
    public var kernelWidth: Int { geometry.kernelWidth }
    public var groups: Int { geometry.groups }
    public var deformableGroups: Int { geometry.deformableGroups }

    public var channelsPerGroup: Int { channels / groups }
    public var outputChannelsPerGroup: Int { outputChannels / groups }
    public var channelsPerDeformableGroup: Int { channels / deformableGroups }
    /// K = dg·kh·kw: the number of (offset group, tap) pairs, each with a dx, dy and mask channel.
    public var offsetTaps: Int { deformableGroups * kernelHeight * kernelWidth }
    /// Products summed per output element: (C/groups)·kh·kw (the bias is not counted).
    public var reductionLength: Int { channelsPerGroup * kernelHeight * kernelWidth }
    /// 2·N·Co·(C/groups)·kh·kw·Ho·Wo (SPEC section 5).
    public var flops: Double { 2 * Double(batch * outputChannels) * Double(reductionLength) * Double(outputHeight * outputWidth) }

    public var xCount: Int { batch * channels * height * width }
    public var weightCount: Int { outputChannels * reductionLength }
    public var offsetsCount: Int { batch * 3 * offsetTaps * outputHeight * outputWidth }
    public var outputCount: Int { batch * outputChannels * outputHeight * outputWidth }
    public var outputShape: [Int] { [batch, outputChannels, outputHeight, outputWidth] }
    /// The shapes of x, weight and offsets, which their gradients share (SPEC section 7).
    public var xShape: [Int] { [batch, channels, height, width] }
    public var weightShape: [Int] { [outputChannels, channelsPerGroup, kernelHeight, kernelWidth] }
    public var offsetsShape: [Int] { [batch, 3 * offsetTaps, outputHeight, outputWidth] }

    /// Memory the harness may hold for this problem: every input widened to Float64,
    /// plus the output, the reference output and its two error magnitudes.
    public var workingBytes: Int { 8 * (xCount + weightCount + offsetsCount + outputChannels) + 32 * outputCount }

    /// Validates a call per SPEC section 2: every violation becomes the error of the
    /// first table row that applies, before any arithmetic on the data.
    public init(validating a: DeformConvArguments, limits: ResourceLimits = .standard) throws(DeformConvError) {
        // param_type
        let lists = [("kernel_size", a.kernelSize), ("strides", a.strides), ("padding", a.padding), ("dilations", a.dilations)]
        var ints: [String: [Int]] = [:]
        for (name, parameter) in lists {
            switch parameter {
            case let .integers(values): ints[name] = values
            case let .notInteger(given):
                throw DeformConvError(.paramType, "\(name) must be a tuple of integers, got \(given)")
            }
        }
        func scalar(_ name: String, _ parameter: IntParameter) throws(DeformConvError) -> Int {
            guard case let .integers(values) = parameter, values.count == 1 else {
                throw DeformConvError(.paramType, "\(name) must be an integer, got \(parameter)")
            }
            return values[0]
        }
        let groups = try scalar("groups", a.groups)
        let deformableGroups = try scalar("deformable_groups", a.deformableGroups)
        let modulated: Bool
        switch a.modulated {
        case let .value(flag): modulated = flag
        case let .notBoolean(given): throw DeformConvError(.paramType, "modulated must be a boolean, got \(given)")
        }

        // dtype_unsupported, dtype_mismatch
        guard a.x.dtype.isSupportedInput else {
            throw DeformConvError(.dtypeUnsupported, "x must be float16 or float32, got \(a.x.dtype)")
        }
        for (name, spec) in [("weight", a.weight), ("offsets", a.offsets), ("bias", a.bias)] {
            if let spec, spec.dtype != a.x.dtype {
                throw DeformConvError(.dtypeMismatch, "\(name) must have the dtype of x (\(a.x.dtype)), got \(spec.dtype)")
            }
        }

        // param_length
        let kernelSize = ints["kernel_size"]!, strides = ints["strides"]!, padding = ints["padding"]!, dilations = ints["dilations"]!
        for (name, values, count) in [("kernel_size", kernelSize, 2), ("strides", strides, 4), ("padding", padding, 4), ("dilations", dilations, 4)]
        where values.count != count {
            throw DeformConvError(.paramLength, "\(name) must have \(count) elements, got \(values.count): \(IntParameter.integers(values))")
        }

        // param_nc
        for (name, values) in [("strides", strides), ("dilations", dilations)] {
            for (index, axis) in ["N", "C"].enumerated() where values[index] != 1 {
                throw DeformConvError(.paramNC, "\(name)[\(index)] (the \(axis) entry) must be 1, got \(values[index])")
            }
        }

        // modulated_false
        guard modulated else {
            throw DeformConvError(.modulatedFalse, "modulated must be true (only DCNv2 is supported), got false")
        }

        // param_range
        let positive = [("kernel_size[0]", kernelSize[0]), ("kernel_size[1]", kernelSize[1]),
                        ("strides[2]", strides[2]), ("strides[3]", strides[3]),
                        ("dilations[2]", dilations[2]), ("dilations[3]", dilations[3]),
                        ("groups", groups), ("deformable_groups", deformableGroups)]
        for (name, value) in positive where value < 1 {
            throw DeformConvError(.paramRange, "\(name) must be at least 1, got \(value)")
        }
        for (index, side) in ["top", "bottom", "left", "right"].enumerated() where padding[index] < 0 {
            throw DeformConvError(.paramRange, "padding[\(index)] (\(side)) must be at least 0, got \(padding[index])")
        }

        // rank
        for (name, spec) in [("x", a.x), ("weight", a.weight), ("offsets", a.offsets)] where spec.shape.count != 4 {
            throw DeformConvError(.rank, "\(name) must be 4-D, got \(spec.shape.count)-D shape \(spec.shape)")
        }
        if let bias = a.bias, bias.shape.count != 1 {
            throw DeformConvError(.rank, "bias must be 1-D, got \(bias.shape.count)-D shape \(bias.shape)")
        }

        // groups
        let (n, c, h, w) = (a.x.shape[0], a.x.shape[1], a.x.shape[2], a.x.shape[3])
        let co = a.weight.shape[0]
        if c % groups != 0 {
            throw DeformConvError(.groups, "channels of x (\(c)) must be divisible by groups (\(groups))")
        }
        if co % groups != 0 {
            throw DeformConvError(.groups, "output channels (weight dim 0 = \(co)) must be divisible by groups (\(groups))")
        }
        if a.weight.shape[1] != c / groups {
            throw DeformConvError(.groups, "weight dim 1 must be C/groups = \(c)/\(groups) = \(c / groups), got \(a.weight.shape[1])")
        }

        // deformable_groups
        if c % deformableGroups != 0 {
            throw DeformConvError(.deformableGroups, "channels of x (\(c)) must be divisible by deformable_groups (\(deformableGroups))")
        }

        // weight_shape
        if a.weight.shape[2] != kernelSize[0] || a.weight.shape[3] != kernelSize[1] {
            throw DeformConvError(.weightShape, "weight dims 2, 3 must equal kernel_size (\(kernelSize[0]), \(kernelSize[1])), got (\(a.weight.shape[2]), \(a.weight.shape[3]))")
        }

        // empty_output
        var geometry = ConvGeometry()
        (geometry.batch, geometry.channels, geometry.height, geometry.width, geometry.outputChannels) = (n, c, h, w, co)
        (geometry.kernelHeight, geometry.kernelWidth) = (kernelSize[0], kernelSize[1])
        (geometry.strideHeight, geometry.strideWidth) = (strides[2], strides[3])
        (geometry.padTop, geometry.padBottom, geometry.padLeft, geometry.padRight) = (padding[0], padding[1], padding[2], padding[3])
        (geometry.dilationHeight, geometry.dilationWidth) = (dilations[2], dilations[3])
        (geometry.groups, geometry.deformableGroups) = (groups, deformableGroups)
        for (name, size) in [("N (x dim 0)", n), ("C (x dim 1)", c), ("H (x dim 2)", h), ("W (x dim 3)", w), ("Co (weight dim 0)", co)] where size < 1 {
            throw DeformConvError(.emptyOutput, "\(name) must be at least 1, got \(size): the input or the output would be empty")
        }
        let ho = try Checked.outputSize("Ho", h, padding[0], padding[1], kernelSize[0], strides[2], dilations[2])
        let wo = try Checked.outputSize("Wo", w, padding[2], padding[3], kernelSize[1], strides[3], dilations[3])
        if ho < 1 || wo < 1 {
            throw DeformConvError(.emptyOutput, "output size must be at least 1×1, got Ho×Wo = \(ho)×\(wo) for input \(h)×\(w), padding \(IntParameter.integers(padding)), kernel \(kernelSize[0])×\(kernelSize[1]), strides \(strides[2])×\(strides[3]), dilations \(dilations[2])×\(dilations[3])")
        }

        // offsets_shape
        let offsetChannels = try Checked.product("offsets channels 3·dg·kh·kw", [3, deformableGroups, kernelSize[0], kernelSize[1]])
        let expectedOffsets = [n, offsetChannels, ho, wo]
        if a.offsets.shape != expectedOffsets {
            throw DeformConvError(.offsetsShape, "offsets must have shape (N, 3·dg·kh·kw, Ho, Wo) = \(expectedOffsets), got \(a.offsets.shape)")
        }

        // bias_shape
        if let bias = a.bias, bias.shape[0] != co {
            throw DeformConvError(.biasShape, "bias must have Co = \(co) elements, got \(bias.shape[0])")
        }

        // too_large
        let xCount = try Checked.product("element count of x", a.x.shape)
        let weightCount = try Checked.product("element count of weight", a.weight.shape)
        let offsetsCount = try Checked.product("element count of offsets", a.offsets.shape)
        let outputCount = try Checked.product("element count of the output", [n, co, ho, wo])
        let bytes = try Checked.sum("working memory in bytes", [
            Checked.product("working memory in bytes", [8, Checked.sum("working memory in elements", [xCount, weightCount, offsetsCount, co])]),
            Checked.product("working memory in bytes", [32, outputCount]),
        ])
        if bytes > limits.maxWorkingBytes {
            throw DeformConvError(.tooLarge, "problem needs \(bytes) bytes of working memory, more than the limit of \(limits.maxWorkingBytes) bytes")
        }

        self.geometry = geometry
        self.dtype = a.x.dtype
        self.hasBias = a.bias != nil
        self.outputHeight = ho
        self.outputWidth = wo
    }

    /// Validates the incoming gradient of a backward call per SPEC section 7. It runs on a
    /// problem, so every forward rule has already passed and these come after them in the table.
    public func validateGradient(_ gy: TensorSpec) throws(DeformConvError) {
        // dtype_mismatch
        if gy.dtype != dtype {
            throw DeformConvError(.dtypeMismatch, "gy must have the dtype of x (\(dtype)), got \(gy.dtype)")
        }
        // grad_shape
        if gy.shape != outputShape {
            throw DeformConvError(.gradShape, "gy must have the output's shape (N, Co, Ho, Wo) = \(outputShape), got \(gy.shape)")
        }
    }
}

/// Size arithmetic on untrusted values: an overflow is a `too_large` error that
/// names the quantity, never a trap.
enum Checked {
    static func product(_ what: String, _ values: [Int]) throws(DeformConvError) -> Int {
        var result = 1
        for value in values {
            let (next, overflow) = result.multipliedReportingOverflow(by: value)
            if overflow { throw overflowError(what, values, "×") }
            result = next
        }
        return result
    }

    static func sum(_ what: String, _ values: [Int]) throws(DeformConvError) -> Int {
        var result = 0
        for value in values {
            let (next, overflow) = result.addingReportingOverflow(value)
            if overflow { throw overflowError(what, values, "+") }
            result = next
        }
        return result
    }

    /// floor((input + before + after − (dilation·(kernel−1) + 1)) / stride) + 1, in 128-bit
    /// arithmetic so that no intermediate can overflow; only a result beyond Int is too_large.
    static func outputSize(_ what: String, _ input: Int, _ before: Int, _ after: Int, _ kernel: Int,
                           _ stride: Int, _ dilation: Int) throws(DeformConvError) -> Int {
        let extent = Int128(dilation) * Int128(kernel - 1) + 1
        let span = Int128(input) + Int128(before) + Int128(after) - extent
        let stride = Int128(stride)
        var quotient = span / stride
        if span % stride != 0 && span < 0 { quotient -= 1 }
        guard let size = Int(exactly: quotient + 1) else {
            throw DeformConvError(.tooLarge, "\(what) = floor((\(input) + \(before) + \(after) − \(extent)) / \(stride)) + 1 does not fit a 64-bit integer")
        }
        return size
    }

    private static func overflowError(_ what: String, _ values: [Int], _ op: String) -> DeformConvError {
        DeformConvError(.tooLarge, "\(what) overflows a 64-bit integer: \(values.map(String.init).joined(separator: " \(op) ")), expected at most \(Int.max)")
    }
}
