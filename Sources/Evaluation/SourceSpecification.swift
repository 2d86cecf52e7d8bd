import DeformConv
import Foundation
import Formats
import Scoring
import Suites

/// A source could not be built: no such kernel, file or symbol, a bad unit or name.
public struct SourceError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Units a source declares for its bound (SPEC section 3); nil parts take the source's default
/// (an outputs file's own attributes, else float32).
public struct DeclaredUnits: Codable, Sendable, Hashable {
    public var uAcc: Double?
    public var uS: Double?

    public init(uAcc: Double? = nil, uS: Double? = nil) {
        self.uAcc = uAcc
        self.uS = uS
    }

    public static let none = DeclaredUnits()

    /// A unit roundoff as written on the command line: "2^-24", "2**-11", "0x1p-24", "5.96e-8",
    /// or a type name: "float32", "float16", "bfloat16", "float64".
    public static func unitRoundoff(_ text: String) throws(SourceError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let named: [String: Double] = ["float32": UnitRoundoff.float32, "fp32": UnitRoundoff.float32,
                                       "float16": UnitRoundoff.float16, "fp16": UnitRoundoff.float16,
                                       "bfloat16": 0x1p-8, "bf16": 0x1p-8, "float64": UnitRoundoff.float64, "fp64": UnitRoundoff.float64]
        var value: Double?
        if let known = named[trimmed.lowercased()] {
            value = known
        } else if let range = trimmed.range(of: "^") ?? trimmed.range(of: "**") {
            if let base = Double(trimmed[..<range.lowerBound]), let exponent = Double(trimmed[range.upperBound...]) {
                value = pow(base, exponent)
            }
        } else {
            value = Double(trimmed)
        }
        guard let value, value > 0, value < 1 else {
            throw SourceError("not a unit roundoff: '\(text)' (write e.g. 2^-24, 0x1p-11, 5.96e-8 or float16)")
        }
        return value
    }

    func resolved(fileAcc: Double? = nil, fileS: Double? = nil) -> (uAcc: Double, uS: Double) {
        (uAcc ?? fileAcc ?? UnitRoundoff.float32, uS ?? fileS ?? UnitRoundoff.float32)
    }
}

/// Which source of outcomes to build, with which options. The command line makes it from its
/// typed options, a reader child process of `dcn verify` receives the list as JSON, and each
/// process builds its sources once (`build()`).
public enum SourceSpecification: Codable, Sendable, Hashable, CustomStringConvertible {
    /// A built-in kernel of `KernelRegistry`; `threads` for the multithreaded ones (default: one per core).
    case kernel(name: String, threads: Int?)
    /// A C plugin (include/dcn_kernel.h); `name` overrides its `dcn_kernel_name()`; `backwardSymbol`
    /// its backward entry point (nil: `dcn_kernel_backward` when the library has it).
    case plugin(path: String, symbol: String?, backwardSymbol: String?, name: String?, units: DeclaredUnits, threads: Int?)
    /// An outputs file (`OutputsSchema`); name and units default to the file's own attributes.
    case outputs(path: String, name: String?, units: DeclaredUnits)
    /// What a golden file records beside `y`: dataset `y_framework` (or another) and its error attribute.
    case framework(dataset: String, name: String?, units: DeclaredUnits)

    /// A `--kernel` value: a built-in name, `framework`, `framework:DATASET`, `outputs:FILE` or `plugin:LIB`.
    public init(kernelArgument text: String) {
        func after(_ prefix: String) -> String? {
            text.hasPrefix(prefix) && text.count > prefix.count ? String(text.dropFirst(prefix.count)) : nil
        }
        if text == "framework" {
            self = .framework(dataset: "y_framework", name: nil, units: .none)
        } else if let dataset = after("framework:") {
            self = .framework(dataset: dataset, name: nil, units: .none)
        } else if let path = after("outputs:") {
            self = .outputs(path: path, name: nil, units: .none)
        } else if let path = after("plugin:") {
            self = .plugin(path: path, symbol: nil, backwardSymbol: nil, name: nil, units: .none, threads: nil)
        } else {
            self = .kernel(name: text, threads: nil)
        }
    }

    public var description: String {
        switch self {
        case let .kernel(name, _): name
        case let .plugin(path, _, _, _, _, _): "plugin:\(path)"
        case let .outputs(path, _, _): "outputs:\(path)"
        case let .framework(dataset, _, _): dataset == "y_framework" ? "framework" : "framework:\(dataset)"
        }
    }

    /// Whether the source computes (so it can be run and timed), rather than reading recorded results.
    public var computes: Bool {
        switch self {
        case .kernel, .plugin: true
        case .outputs, .framework: false
        }
    }

    /// The same source with a thread count for the sources that take one.
    public func with(threads: Int?) -> SourceSpecification {
        switch self {
        case let .kernel(name, _): .kernel(name: name, threads: threads)
        case let .plugin(path, symbol, backwardSymbol, name, units, _):
            .plugin(path: path, symbol: symbol, backwardSymbol: backwardSymbol, name: name, units: units, threads: threads)
        default: self
        }
    }

    public static func kernels(_ names: [String], threads: Int? = nil) -> [SourceSpecification] {
        names.map { .kernel(name: $0, threads: threads) }
    }

    /// Every built-in kernel.
    public static func allKernels(threads: Int? = nil) -> [SourceSpecification] {
        kernels(KernelRegistry.names, threads: threads)
    }

    /// Builds the source: loads the plugin, opens the outputs file.
    public func build() throws(SourceError) -> any OutcomeSource {
        switch self {
        case .kernel, .plugin: return try buildComputing()
        case let .outputs(path, name, units):
            let info: OutputsFileInfo
            do { info = try OutputsFileInfo(path: path) } catch { throw SourceError(error.description) }
            let (uAcc, uS) = units.resolved(fileAcc: info.uAcc, fileS: info.uS)
            let fallback = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return OutputsFileSource(path: path, name: name ?? info.kernel ?? fallback, uAcc: uAcc, uS: uS, producer: info.producer,
                                     passes: info.recordsBackward ? [.forward, .backward] : [.forward], layout: info.layout)
        case let .framework(dataset, name, units):
            let (uAcc, uS) = units.resolved()
            return FrameworkOutputsSource(dataset: dataset, name: name, uAcc: uAcc, uS: uS)
        }
    }

    /// Builds a source that computes; a recorded source here is a usage error (nothing to run or time).
    /// `guarded` false builds a plugin without its guard checks, for timing.
    public func buildComputing(guarded: Bool = true) throws(SourceError) -> any ComputingSource {
        switch self {
        case let .kernel(name, threads):
            guard let kernel = KernelRegistry.named(name, threads: threads) else {
                throw SourceError("unknown kernel '\(name)'; kernels: \(KernelRegistry.names.joined(separator: ", ")), framework, outputs:FILE, plugin:LIB")
            }
            return KernelSource(kernel)
        case let .plugin(path, symbol, backwardSymbol, name, units, threads):
            let (uAcc, uS) = units.resolved()
            do {
                return try PluginSource(path: path, symbol: symbol ?? PluginSource.defaultSymbol, backwardSymbol: backwardSymbol,
                                        name: name, uAcc: uAcc, uS: uS, threads: threads, guarded: guarded)
            } catch {
                throw SourceError(error.description)
            }
        case .outputs, .framework:
            throw SourceError("'\(self)' holds recorded results; there is nothing to run")
        }
    }

    /// A name for reports: letters, digits and `-_.:+@`.
    public static func checkName(_ name: String) throws(SourceError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:+@"))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw SourceError("--name '\(name)': use letters, digits and - _ . : + @")
        }
    }
}
