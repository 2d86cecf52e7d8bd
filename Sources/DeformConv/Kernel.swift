/// The input tensors of one call, flat in NCHW order, with the element type of the problem.
public struct DeformConvInputs<Element: Sendable>: Sendable {
    public var x: [Element]
    public var weight: [Element]
    public var offsets: [Element]
    public var bias: [Element]?

    public init(x: [Element], weight: [Element], offsets: [Element], bias: [Element]? = nil) {
        self.x = x
        self.weight = weight
        self.offsets = offsets
        self.bias = bias
    }

    /// Each input converted element by element, e.g. Float16 inputs widened to Float.
    public func map<T>(_ transform: (Element) -> T) -> DeformConvInputs<T> {
        DeformConvInputs<T>(x: x.map(transform), weight: weight.map(transform),
                            offsets: offsets.map(transform), bias: bias?.map(transform))
    }

    /// Whether the element counts are those the problem describes.
    public func matches(_ problem: DeformConvProblem) -> Bool {
        x.count == problem.xCount && weight.count == problem.weightCount
            && offsets.count == problem.offsetsCount
            && (bias?.count ?? -1) == (problem.hasBias ? problem.outputChannels : -1)
    }
}

/// Which directions of the operator a kernel computes.
public enum KernelPass: String, Sendable, Codable, CaseIterable {
    /// y from x, weight, offsets and bias (SPEC section 1).
    case forward
    /// The gradients of the inputs from the gradient of y (SPEC section 7).
    case backward
}

/// The gradients of the inputs given gy = ∂L/∂y (SPEC section 7), each flat in the
/// NCHW order and shape of the input it belongs to.
public struct DeformConvGradients<Element: Sendable>: Sendable {
    /// ∂L/∂x, shape (N, C, H, W).
    public var gx: [Element]
    /// ∂L/∂weight, shape (Co, C/groups, kh, kw).
    public var gweight: [Element]
    /// ∂L/∂offsets, shape (N, 3·dg·kh·kw, Ho, Wo), in the offsets layout: the x-offset
    /// block, the y-offset block, then the mask block.
    public var goffsets: [Element]
    /// ∂L/∂bias, length Co; nil when the problem has no bias.
    public var gbias: [Element]?

    public init(gx: [Element], gweight: [Element], goffsets: [Element], gbias: [Element]? = nil) {
        self.gx = gx
        self.gweight = gweight
        self.goffsets = goffsets
        self.gbias = gbias
    }

    /// Each gradient converted element by element, e.g. Float gradients rounded to Float16.
    public func map<T>(_ transform: (Element) -> T) -> DeformConvGradients<T> {
        DeformConvGradients<T>(gx: gx.map(transform), gweight: gweight.map(transform),
                               goffsets: goffsets.map(transform), gbias: gbias?.map(transform))
    }
}

/// An implementation as the command line and the reports name it, with the unit roundoffs of its
/// accumulation and of its sampling arithmetic: the conformance harness holds it to SPEC section
/// 3's bound built from them. A kernel, and any other source of results (a C plugin, an outputs file).
public protocol NamedImplementation: Sendable {
    /// The name used on the command line and in reports.
    var name: String { get }
    /// One line on how it computes, for `dcn kernels`.
    var summary: String { get }
    /// u_acc: unit roundoff of the accumulation (2⁻²⁴ for Float32).
    var accumulationUnitRoundoff: Double { get }
    /// u_s: unit roundoff of the sampling arithmetic (position, bilinear weights, mask).
    var samplingUnitRoundoff: Double { get }
}

/// One implementation of the operator. Kernels are handed validated problems and know nothing of files.
public protocol DeformConvKernel: NamedImplementation {

    /// Runs a problem whose dtype is float32. `inputs` must match the problem's shapes.
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float]
    /// Runs a problem whose dtype is float16; the output is rounded to Float16 once, at the end.
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16]

    /// Threads the kernel runs on (1 for single-threaded kernels).
    var threads: Int { get }

    /// The passes the kernel implements; the harness only asks for these.
    var passes: Set<KernelPass> { get }
    /// The gradients of a float32 problem for gy = ∂L/∂y, shape (N, Co, Ho, Wo), or nil when
    /// the kernel has no backward pass. `inputs` and `gy` must match the problem's shapes
    /// (`DeformConvProblem.validateGradient(_:)` checks gy's).
    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>?
    /// The same for a float16 problem; each gradient is rounded to Float16 once, at the end.
    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>?

    /// Validates a call as this kernel would; the default is SPEC section 2.
    func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem

    /// The same kernel on `threads` threads; a single-threaded kernel returns itself.
    func with(threads: Int) -> any DeformConvKernel
    /// A kernel whose output this one must equal bit for bit, whatever its thread count (threaded: simd
    /// with the same tiling), for the fuzzer to check; nil when there is none.
    var bitIdenticalPeer: (any DeformConvKernel)? { get }
}

extension DeformConvKernel {
    public var threads: Int { 1 }
    public func with(threads: Int) -> any DeformConvKernel { self }
    public var bitIdenticalPeer: (any DeformConvKernel)? { nil }

    /// Kernels written before SPEC section 7 compute the forward pass only.
    public var passes: Set<KernelPass> { [.forward] }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        nil
    }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        nil
    }

    public func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        try DeformConvProblem(validating: arguments, limits: limits)
    }

    /// A kernel that computes in Float32 runs a Float16 problem on widened inputs and rounds once.
    public func runWidened(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        run(problem, inputs.map(Float.init)).map(Float16.init)
    }

    /// A kernel whose backward computes in Float32 runs a Float16 problem on widened inputs
    /// and rounds each gradient once.
    public func backwardWidened(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>,
                                gy: [Float16]) -> DeformConvGradients<Float16>? {
        backward(problem, inputs.map(Float.init), gy: gy.map(Float.init))?.map(Float16.init)
    }
}

/// A kernel whose accumulation and sampling arithmetic have one precision: it states one unit roundoff.
public protocol UniformPrecisionKernel: DeformConvKernel {
    /// The unit roundoff of all its arithmetic, both u_acc and u_s.
    var unitRoundoff: Double { get }
}

extension UniformPrecisionKernel {
    public var accumulationUnitRoundoff: Double { unitRoundoff }
    public var samplingUnitRoundoff: Double { unitRoundoff }
}

/// A kernel that computes in Float32: both its unit roundoffs are Float32's, and a float16 problem
/// runs on widened inputs, each output and gradient rounded to Float16 once.
public protocol Float32Kernel: UniformPrecisionKernel {}

extension Float32Kernel {
    public var unitRoundoff: Double { UnitRoundoff.float32 }

    public func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }

    public func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? {
        backwardWidened(problem, inputs, gy: gy)
    }
}

/// Unit roundoffs of the two IEEE formats the operator accepts, and of Float64.
public enum UnitRoundoff {
    public static let float16 = 0x1p-11
    public static let float32 = 0x1p-24
    public static let float64 = 0x1p-53
}

/// Every kernel this package ships, by name.
public enum KernelRegistry {
    /// The kernel names in the order `dcn kernels` lists them.
    public static let names = ["reference", "naive", "simd", "threaded", "fp16acc"]

    /// Every kernel; multithreaded ones use `threads` threads (default: one per core).
    public static func all(threads: Int? = nil) -> [any DeformConvKernel] {
        names.compactMap { named($0, threads: threads) }
    }

    /// The kernel called `name`, or nil. `threads` only matters to multithreaded kernels.
    public static func named(_ name: String, threads: Int? = nil) -> (any DeformConvKernel)? {
        switch name {
        case "reference": ReferenceKernel()
        case "naive": NaiveKernel()
        case "simd": SimdKernel()
        case "threaded": ThreadedKernel(threads: threads)
        case "fp16acc": FP16AccKernel()
        default: nil
        }
    }
}
