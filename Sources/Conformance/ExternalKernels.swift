import DeformConv
import Foundation

/// Kernel names for results computed outside dcn's own kernels, resolved by `kernel(named:)`
/// like built-in ones (so a reader child process of `dcn verify` rebuilds them from the name
/// list its parent passes):
///
/// - `framework`, `framework:<dataset>`: what the golden file itself records (`FrameworkOutputs`);
/// - `outputs:<path>`: an outputs file (`OutputsFileKernel`); name and units from its root
///   attributes, else the file name and float32;
/// - `plugin:<path>`: a C plugin (`PluginKernel`), symbol `dcn_kernel_run`, float32 units.
///
/// The options of `--name`, `--u-acc`, `--u-s` and `--plugin-symbol` travel in a braced form,
/// `outputs{name=my-kernel;u_acc=5.9604644775390625e-08}:<path>`, made by `spec(...)`.
public enum ExternalKernels {
    public struct SpecError: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// A built-in kernel (`KernelRegistry`) or an external source by name; nil for an unknown name.
    /// Throws when the name is external but cannot be used (no such file, not an outputs file, no symbol).
    public static func kernel(named name: String, threads: Int? = nil) throws(SpecError) -> (any DeformConvKernel)? {
        if let kernel = KernelRegistry.named(name, threads: threads) { return kernel }
        return try resolve(name, threads: threads)
    }

    /// Whether `name` has one of the forms above (resolvable or not).
    public static func isExternal(_ name: String) -> Bool {
        parse(name) != nil
    }

    /// The name that carries `options` for a source of `kind` ("outputs", "plugin", "framework").
    public static func spec(kind: String, argument: String, options: [String: String]) -> String {
        let pairs = options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return kind + (pairs.isEmpty ? "" : "{" + pairs.joined(separator: ";") + "}") + ":" + argument
    }

    /// (kind, options, argument) of an external name, or nil when it is not one.
    static func parse(_ name: String) -> (kind: String, options: [String: String], argument: String?)? {
        if name == "framework" { return ("framework", [:], nil) }
        for kind in ["framework", "outputs", "plugin"] where name.hasPrefix(kind) {
            var rest = name.dropFirst(kind.count)
            var options: [String: String] = [:]
            if rest.hasPrefix("{") {
                guard let close = rest.firstIndex(of: "}") else { return nil }
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { return nil }
                    options[parts[0]] = parts[1]
                }
                rest = rest[rest.index(after: close)...]
            }
            if rest.isEmpty && kind == "framework" { return (kind, options, nil) }
            guard rest.hasPrefix(":"), rest.count > 1 else { continue }
            return (kind, options, String(rest.dropFirst()))
        }
        return nil
    }

    /// The kernel an external name stands for; nil when the name is not external.
    /// Throws when it is, but cannot be used (no such file, not an outputs file, no symbol).
    public static func resolve(_ name: String, threads: Int? = nil) throws(SpecError) -> (any DeformConvKernel)? {
        guard let (kind, options, argument) = parse(name) else { return nil }
        func units(_ fileAcc: Double?, _ fileS: Double?) throws(SpecError) -> (Double, Double) {
            let uAcc = try options["u_acc"].map { text throws(SpecError) in try unitRoundoff(text) } ?? fileAcc ?? UnitRoundoff.float32
            let uS = try options["u_s"].map { text throws(SpecError) in try unitRoundoff(text) } ?? fileS ?? UnitRoundoff.float32
            return (uAcc, uS)
        }
        switch kind {
        case "framework":
            let (uAcc, uS) = try units(nil, nil)
            return FrameworkOutputs(dataset: argument ?? "y_framework", name: options["name"], uAcc: uAcc, uS: uS)
        case "outputs":
            let path = argument!
            let info: OutputsFileInfo
            do { info = try OutputsFileInfo(path: path) } catch { throw SpecError(error.description) }
            let (uAcc, uS) = try units(info.uAcc, info.uS)
            let fallback = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return OutputsFileKernel(path: path, name: options["name"] ?? info.kernel ?? fallback, uAcc: uAcc, uS: uS, producer: info.producer)
        default:
            let (uAcc, uS) = try units(nil, nil)
            do {
                return try PluginKernel(path: argument!, symbol: options["symbol"] ?? PluginKernel.defaultSymbol,
                                        name: options["name"], uAcc: uAcc, uS: uS, threads: threads)
            } catch {
                throw SpecError(error.description)
            }
        }
    }

    /// A unit roundoff as written on the command line: "2^-24", "2**-11", "0x1p-24", "5.96e-8",
    /// or a type name: "float32", "float16", "bfloat16", "float64".
    public static func unitRoundoff(_ text: String) throws(SpecError) -> Double {
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
            throw SpecError("not a unit roundoff: '\(text)' (write e.g. 2^-24, 0x1p-11, 5.96e-8 or float16)")
        }
        return value
    }

    /// A name for reports: letters, digits and `-_.:+@`.
    public static func checkName(_ name: String) throws(SpecError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:+@"))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw SpecError("--name '\(name)': use letters, digits and - _ . : + @")
        }
    }
}
