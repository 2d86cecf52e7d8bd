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

/// One implementation of the operator.
///
/// A kernel declares the unit roundoff of its accumulation and of its sampling
/// arithmetic; the conformance harness holds it to SPEC section 3's bound built
/// from them. Kernels are handed validated problems and know nothing of files.
public protocol DeformConvKernel: Sendable {
    /// The name used on the command line and in reports.
    var name: String { get }
    /// One line on how the kernel computes, for `dcn kernels`.
    var summary: String { get }
    /// u_acc: unit roundoff of the accumulation (2⁻²⁴ for Float32).
    var accumulationUnitRoundoff: Double { get }
    /// u_s: unit roundoff of the sampling arithmetic (position, bilinear weights, mask).
    var samplingUnitRoundoff: Double { get }

    /// Runs a problem whose dtype is float32. `inputs` must match the problem's shapes.
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float]
    /// Runs a problem whose dtype is float16; the output is rounded to Float16 once, at the end.
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16]

    /// Threads the kernel runs on (1 for single-threaded kernels).
    var threads: Int { get }

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

    public func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        try DeformConvProblem(validating: arguments, limits: limits)
    }

    /// A kernel that computes in Float32 runs a Float16 problem on widened inputs and rounds once.
    public func runWidened(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        run(problem, inputs.map(Float.init)).map(Float16.init)
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
