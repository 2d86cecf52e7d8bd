import DeformConv
import Foundation
import Scoring
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plugin could not be loaded.
public struct PluginError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A kernel written in C (or anything with a C ABI) in a shared library: `include/dcn_kernel.h`.
///
/// dcn validates every call by SPEC section 2 (and section 7 for the backward) before it reaches
/// the plugin, so the plugin only sees valid problems. A nonzero status from the plugin is the
/// call's outcome, a `ComputeFailure` ("plugin returned status N"): the case fails and the run
/// goes on. The backward entry point is optional: without it the backward cases are not implemented.
///
/// Every call is guarded (`GuardedBuffer`): inputs are copies compared after the call, every buffer
/// has guard bytes on both sides, outputs start as a NaN with a payload; what the checks catch is
/// the case's outcome (`CaseOutcome.guardViolation`), with the buffer and the first element named.
///
/// Immutable after loading (the library handle and function pointers), hence Sendable.
public final class PluginSource: ComputingSource, NamedImplementation, @unchecked Sendable {
    typealias RunFunction = @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?,
                                            UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32
    /// problem, x, weight, offsets, bias_or_null, gy, then gx, gweight, goffsets, gbias_or_null.
    typealias BackwardFunction = @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?,
                                                 UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutableRawPointer?,
                                                 UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    typealias NameFunction = @convention(c) () -> UnsafePointer<CChar>?

    public static let abiVersion: Int64 = 1
    public static let defaultSymbol = "dcn_kernel_run"
    public static let defaultBackwardSymbol = "dcn_kernel_backward"
    /// Fields of `dcn_problem`, all int64_t.
    static let problemFields = 24

    public let path: String
    public let symbol: String
    /// The backward entry point found in the library; nil when it has none.
    public let backwardSymbol: String?
    public let name: String
    public let accumulationUnitRoundoff: Double
    public let samplingUnitRoundoff: Double
    public let threads: Int
    /// Whether calls are checked (`GuardedBuffer`); off only where the call is timed (`dcn bench`).
    public let guarded: Bool
    private let function: RunFunction
    private let backwardFunction: BackwardFunction?
    private let suggestedThreads: Int?

    /// Loads `path` and looks up `symbol`; `name` overrides the plugin's `dcn_kernel_name()`.
    /// `backwardSymbol` names the backward entry point, which must then exist; nil looks for
    /// `dcn_kernel_backward`, whose absence only means the plugin has no backward pass.
    public init(path: String, symbol: String = PluginSource.defaultSymbol, backwardSymbol: String? = nil, name: String? = nil,
                uAcc: Double = UnitRoundoff.float32, uS: Double = UnitRoundoff.float32, threads: Int? = nil,
                guarded: Bool = true) throws(PluginError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PluginError("plugin \(path): no such file")
        }
        // A bare file name would make dlopen search the library path instead of this file.
        let resolved = path.contains("/") ? path : "./" + path
        guard let handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginError("plugin \(path): cannot load it: \(String(cString: dlerror()))")
        }
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw PluginError("plugin \(path): no symbol '\(symbol)' (a plugin exports `int32_t \(symbol)(const dcn_problem*, const void* x, const void* weight, const void* offsets, const void* bias_or_null, void* y)`, see include/dcn_kernel.h; choose another with --plugin-symbol)")
        }
        self.path = path
        self.symbol = symbol
        function = unsafeBitCast(address, to: RunFunction.self)
        let backwardAddress = dlsym(handle, backwardSymbol ?? Self.defaultBackwardSymbol)
        if let backwardSymbol, backwardAddress == nil {
            throw PluginError("plugin \(path): no symbol '\(backwardSymbol)' (a backward entry point is `int32_t \(backwardSymbol)(const dcn_problem*, const void* x, const void* weight, const void* offsets, const void* bias_or_null, const void* gy, void* gx, void* gweight, void* goffsets, void* gbias_or_null)`, see include/dcn_kernel.h; choose another with --plugin-backward-symbol)")
        }
        self.backwardSymbol = backwardAddress == nil ? nil : backwardSymbol ?? Self.defaultBackwardSymbol
        backwardFunction = backwardAddress.map { unsafeBitCast($0, to: BackwardFunction.self) }
        var pluginName: String?
        if let nameAddress = dlsym(handle, "dcn_kernel_name") {
            let nameFunction = unsafeBitCast(nameAddress, to: NameFunction.self)
            if let text = nameFunction() { pluginName = String(cString: text) }
        }
        self.name = name ?? pluginName.flatMap { $0.isEmpty ? nil : $0 } ?? "plugin:" + (path as NSString).lastPathComponent
        accumulationUnitRoundoff = uAcc
        samplingUnitRoundoff = uS
        suggestedThreads = threads
        self.threads = threads ?? 1
        self.guarded = guarded
    }

    public var summary: String {
        let backward = backwardSymbol.map { ", backward \($0)" } ?? ", no backward"
        return "C plugin \(path), symbol \(symbol)\(backward) (include/dcn_kernel.h)"
    }

    public var passes: Set<KernelPass> { backwardFunction == nil ? [.forward] : [.forward, .backward] }

    public func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        try DeformConvProblem(validating: arguments, limits: limits)
    }

    /// The `dcn_problem` struct as int64 values in header order.
    func problemStruct(_ problem: DeformConvProblem) -> [Int64] {
        let g = problem.geometry
        let fields: [Int] = [
            Int(Self.abiVersion), Self.problemFields * 8, problem.dtype == .float16 ? 1 : 0,
            g.batch, g.channels, g.height, g.width, g.outputChannels, g.kernelHeight, g.kernelWidth,
            g.strideHeight, g.strideWidth, g.padTop, g.padBottom, g.padLeft, g.padRight,
            g.dilationHeight, g.dilationWidth, g.groups, g.deformableGroups,
            problem.outputHeight, problem.outputWidth, problem.hasBias ? 1 : 0, suggestedThreads ?? 0,
        ]
        assert(fields.count == Self.problemFields)
        return fields.map(Int64.init)
    }

    private func failure(_ status: Int32) -> ComputeFailure {
        ComputeFailure("plugin returned status \(status) (\(name), \(path))")
    }

    /// The guarded buffers of a call's inputs (`GuardedBuffer`), in the entry points' order.
    private static func inputBuffers<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>) -> [(String, [Int], [T]?)] {
        [("x", problem.xShape, inputs.x), ("weight", problem.weightShape, inputs.weight),
         ("offsets", problem.offsetsShape, inputs.offsets), ("bias", [problem.outputChannels], inputs.bias)]
    }

    /// The status of a call on `buffers`, or what the guard checks caught: a write outside a buffer or
    /// into an input whatever the status, an unwritten output element after a successful call.
    private func checked<T, R>(_ buffers: GuardedCall<T>, status: Int32, _ values: () -> R) -> Result<R, ComputeFailure> {
        let violations = buffers.violations(succeeded: status == 0)
        if !violations.isEmpty { return .failure(ComputeFailure(violations)) }
        return status == 0 ? .success(values()) : .failure(failure(status))
    }

    private func call<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>, fill: T) -> Result<[T], ComputeFailure> {
        let header = problemStruct(problem)
        let buffers = GuardedCall(inputs: Self.inputBuffers(problem, inputs),
                                  outputs: [("y", problem.outputShape, problem.outputCount)], fill: fill, checked: guarded)
        defer { buffers.deallocate() }
        let out = buffers.outputAddresses
        let status = buffers.withInputAddresses { a in header.withUnsafeBytes { p in function(p.baseAddress, a[0], a[1], a[2], a[3], out[0]) } }
        return checked(buffers, status: status) { buffers.values[0]! }
    }

    /// The backward entry point on guarded, NaN-filled gradient buffers.
    private func callBackward<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>, gy: [T],
                                 fill: T) -> Result<DeformConvGradients<T>, ComputeFailure>? {
        guard let backwardFunction else { return nil }
        let header = problemStruct(problem)
        let buffers = GuardedCall(inputs: Self.inputBuffers(problem, inputs) + [("gy", problem.outputShape, gy)],
                                  outputs: [("gx", problem.xShape, problem.xCount), ("gweight", problem.weightShape, problem.weightCount),
                                            ("goffsets", problem.offsetsShape, problem.offsetsCount),
                                            ("gbias", [problem.outputChannels], problem.hasBias ? problem.outputChannels : nil)],
                                  fill: fill, checked: guarded)
        defer { buffers.deallocate() }
        let out = buffers.outputAddresses
        let status = buffers.withInputAddresses { a in
            header.withUnsafeBytes { p in backwardFunction(p.baseAddress, a[0], a[1], a[2], a[3], a[4], out[0], out[1], out[2], out[3]) }
        }
        return checked(buffers, status: status) {
            let values = buffers.values
            return DeformConvGradients(gx: values[0]!, gweight: values[1]!, goffsets: values[2]!, gbias: values[3])
        }
    }

    /// The output fill: quiet NaNs with a payload (0x4DC0DE, 0x25A) that no arithmetic on finite
    /// inputs produces, so that an element with these bits after the call was never written.
    static let unwrittenFloat = Float(bitPattern: 0x7FCD_C0DE)
    static let unwrittenHalf = Float16(bitPattern: 0x7E5A)

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure> {
        call(problem, inputs, fill: Self.unwrittenFloat)
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure> {
        call(problem, inputs, fill: Self.unwrittenHalf)
    }

    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> Result<DeformConvGradients<Float>, ComputeFailure>? {
        callBackward(problem, inputs, gy: gy, fill: Self.unwrittenFloat)
    }

    /// A float16 plugin gets and writes half buffers, as in the forward.
    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> Result<DeformConvGradients<Float16>, ComputeFailure>? {
        callBackward(problem, inputs, gy: gy, fill: Self.unwrittenHalf)
    }
}
