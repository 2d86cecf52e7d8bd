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
/// dcn validates every call by SPEC section 2 before it reaches the plugin, so the plugin only
/// sees valid problems. A nonzero status from the plugin is the call's outcome, a
/// `ComputeFailure` ("plugin returned status N"): the case fails and the run goes on.
///
/// Immutable after loading (the library handle and function pointer), hence Sendable.
public final class PluginSource: ComputingSource, @unchecked Sendable {
    typealias RunFunction = @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?,
                                            UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32
    typealias NameFunction = @convention(c) () -> UnsafePointer<CChar>?

    public static let abiVersion: Int64 = 1
    public static let defaultSymbol = "dcn_kernel_run"
    /// Fields of `dcn_problem`, all int64_t.
    static let problemFields = 24

    public let path: String
    public let symbol: String
    public let name: String
    public let accumulationUnitRoundoff: Double
    public let samplingUnitRoundoff: Double
    public let threads: Int
    private let function: RunFunction
    private let suggestedThreads: Int?

    /// Loads `path` and looks up `symbol`; `name` overrides the plugin's `dcn_kernel_name()`.
    public init(path: String, symbol: String = PluginSource.defaultSymbol, name: String? = nil,
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
        "C plugin \(path), symbol \(symbol) (include/dcn_kernel.h)"
    }

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

    private func call<T>(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<T>, fill: T) -> Result<[T], ComputeFailure> {
        var y = [T](repeating: fill, count: problem.outputCount)
        let header = problemStruct(problem)
        let status: Int32 = header.withUnsafeBytes { p in
            inputs.x.withUnsafeBytes { x in
                inputs.weight.withUnsafeBytes { w in
                    inputs.offsets.withUnsafeBytes { o in
                        y.withUnsafeMutableBytes { out in
                            if let bias = inputs.bias {
                                bias.withUnsafeBytes { b in
                                    function(p.baseAddress, x.baseAddress, w.baseAddress, o.baseAddress, b.baseAddress, out.baseAddress)
                                }
                            } else {
                                function(p.baseAddress, x.baseAddress, w.baseAddress, o.baseAddress, nil, out.baseAddress)
                            }
                        }
                    }
                }
            }
        }
        return status == 0 ? .success(y) : .failure(ComputeFailure("plugin returned status \(status) (\(name), \(path))"))
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure> {
        call(problem, inputs, fill: .nan)
    }

    public func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure> {
        call(problem, inputs, fill: .nan)
    }

    // The C ABI has no backward entry point yet: a plugin's backward cases are not implemented
    // (ComputingSource's default).
}
