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
/// Immutable after loading (the library handle and function pointers), hence Sendable.
public final class PluginSource: ComputingSource, @unchecked Sendable {
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
    private let function: RunFunction
    private let backwardFunction: BackwardFunction?
    private let suggestedThreads: Int?

    /// Loads `path` and looks up `symbol`; `name` overrides the plugin's `dcn_kernel_name()`.
    /// `backwardSymbol` names the backward entry point, which must then exist; nil looks for
    /// `dcn_kernel_backward`, whose absence only means the plugin has no backward pass.
    public init(path: String, symbol: String = PluginSource.defaultSymbol, backwardSymbol: String? = nil, name: String? = nil,
                uAcc: Double = UnitRoundoff.float32, uS: Double = UnitRoundoff.float32, threads: Int? = nil) throws(PluginError) {
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
    }

    public var summary: String {
        let backward = backwardSymbol.map { ", backward \($0)" } ?? ", no backward"
        return "C plugin \(path), symbol \(symbol)\(backward) (include/dcn_kernel.h)"
    }

    public var passes: Set<KernelPass> { backwardFunction == nil ? [.forward] : [.forward, .backward] }

    public var identity: SourceIdentity {
        SourceIdentity(name: name, uAcc: accumulationUnitRoundoff, uS: samplingUnitRoundoff, summary: summary)
    }

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

    private func call<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>, fill: T) -> Result<[T], ComputeFailure> {
        let header = problemStruct(problem)
        let (status, outputs) = Self.withOutputs([problem.outputCount], fill: fill) { out in
            header.withUnsafeBytes { p in
                Self.withAddresses([inputs.x, inputs.weight, inputs.offsets, inputs.bias][...]) { a in
                    function(p.baseAddress, a[0], a[1], a[2], a[3], out[0])
                }
            }
        }
        return status == 0 ? .success(outputs[0]!) : .failure(failure(status))
    }

    /// The backward entry point on NaN-filled gradient buffers (an element it does not write fails).
    private func callBackward<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>, gy: [T],
                                 fill: T) -> Result<DeformConvGradients<T>, ComputeFailure>? {
        guard let backwardFunction else { return nil }
        let header = problemStruct(problem)
        let counts = [problem.xCount, problem.weightCount, problem.offsetsCount, problem.hasBias ? problem.outputChannels : nil]
        let (status, outputs) = Self.withOutputs(counts, fill: fill) { out in
            header.withUnsafeBytes { p in
                Self.withAddresses([inputs.x, inputs.weight, inputs.offsets, inputs.bias, gy][...]) { a in
                    backwardFunction(p.baseAddress, a[0], a[1], a[2], a[3], a[4], out[0], out[1], out[2], out[3])
                }
            }
        }
        guard status == 0 else { return .failure(failure(status)) }
        return .success(DeformConvGradients(gx: outputs[0]!, gweight: outputs[1]!, goffsets: outputs[2]!, gbias: outputs[3]))
    }

    /// Calls `body` with the base addresses of `arrays` in order (nil for a nil array), each valid
    /// for the whole call: the nested `withUnsafeBytes` a C call with several buffers needs.
    private static func withAddresses<T, R>(_ arrays: ArraySlice<[T]?>, _ addresses: [UnsafeRawPointer?] = [],
                                           _ body: ([UnsafeRawPointer?]) -> R) -> R {
        guard let first = arrays.first else { return body(addresses) }
        guard let array = first else { return withAddresses(arrays.dropFirst(), addresses + [nil], body) }
        return array.withUnsafeBytes { withAddresses(arrays.dropFirst(), addresses + [$0.baseAddress], body) }
    }

    /// Buffers of `counts` elements filled with `fill` (a NULL pointer for a nil count) for `body`
    /// to write, read back as arrays with `body`'s status.
    private static func withOutputs<T>(_ counts: [Int?], fill: T,
                                       _ body: ([UnsafeMutableRawPointer?]) -> Int32) -> (status: Int32, outputs: [[T]?]) {
        let buffers = counts.map { count in
            count.map { count in
                let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
                buffer.initialize(repeating: fill)
                return buffer
            }
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let status = body(buffers.map { $0.flatMap { UnsafeMutableRawPointer($0.baseAddress) } })
        return (status, buffers.map { $0.map(Array.init) })
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure> {
        call(problem, inputs, fill: .nan)
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure> {
        call(problem, inputs, fill: .nan)
    }

    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> Result<DeformConvGradients<Float>, ComputeFailure>? {
        callBackward(problem, inputs, gy: gy, fill: .nan)
    }

    /// A float16 plugin gets and writes half buffers, as in the forward.
    public func computeBackward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> Result<DeformConvGradients<Float16>, ComputeFailure>? {
        callBackward(problem, inputs, gy: gy, fill: .nan)
    }
}
