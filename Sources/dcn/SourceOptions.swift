import ArgumentParser
import Conformance
import DeformConv
import Foundation

extension SourceSpecification: ExpressibleByArgument {
    /// `--kernel NAME`: a built-in kernel, `framework`, `framework:DATASET`, `outputs:FILE` or `plugin:LIB`.
    public init?(argument: String) {
        self.init(kernelArgument: argument)
    }
}

/// `--u-acc` / `--u-s`: "2^-24", "0x1p-11", "5.96e-8" or a type name such as float16.
struct UnitRoundoffArgument: ExpressibleByArgument {
    var value: Double

    init?(argument: String) {
        guard let value = try? DeclaredUnits.unitRoundoff(argument) else { return nil }
        self.value = value
    }
}

/// `--outputs`, `--plugin` and their options, shared by `verify`, `bench` and `run`: results
/// computed outside dcn's own kernels, which become `SourceSpecification`s next to `--kernel`'s.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("outputs"), help: ArgumentHelp("Score the outputs recorded in this outputs file (format dcn-outputs, see the README) like a kernel (repeatable).", valueName: "OUT.h5"))
    var outputs: [String] = []

    @Option(name: .customLong("plugin"), help: ArgumentHelp("Load a C kernel plugin (include/dcn_kernel.h) with dlopen and run it like a kernel (repeatable).", valueName: "libkernel.so"))
    var plugins: [String] = []

    @Option(help: ArgumentHelp("The symbol --plugin calls.", valueName: "NAME"))
    var pluginSymbol: String?

    @Option(help: ArgumentHelp("The backward entry point --plugin calls, which must then exist (default: dcn_kernel_backward when the library has it; without one the backward cases are not implemented).", valueName: "NAME"))
    var pluginBackwardSymbol: String?

    @Option(name: .customLong("name"), help: "The name reports give the --outputs or --plugin source (default: the file's own, or its file name).")
    var sourceName: String?

    @Option(name: .customLong("u-acc"), help: ArgumentHelp("Unit roundoff of the accumulation of the --outputs/--plugin source (default: the outputs file's u_acc, else 2^-24): 2^-24, 0x1p-11, 5.96e-8 or float16.", valueName: "U"))
    var uAcc: UnitRoundoffArgument?

    @Option(name: .customLong("u-s"), help: ArgumentHelp("Unit roundoff of the sampling arithmetic of the --outputs/--plugin source (default: the outputs file's u_s, else 2^-24).", valueName: "U"))
    var uS: UnitRoundoffArgument?

    var isEmpty: Bool { outputs.isEmpty && plugins.isEmpty }

    func validate() throws {
        if let sourceName {
            guard outputs.count + plugins.count <= 1 else {
                throw ValidationError("--name names one source; give one --outputs or --plugin per run, or name them in the files")
            }
            do { try SourceSpecification.checkName(sourceName) } catch { throw ValidationError(error.description) }
        }
        if pluginSymbol != nil && plugins.isEmpty { throw ValidationError("--plugin-symbol needs --plugin") }
        if pluginBackwardSymbol != nil && plugins.isEmpty { throw ValidationError("--plugin-backward-symbol needs --plugin") }
    }

    private var units: DeclaredUnits { DeclaredUnits(uAcc: uAcc?.value, uS: uS?.value) }

    /// `kernels` (the --kernel list, `framework` taking --u-acc/--u-s when given) followed by the
    /// --outputs and --plugin sources. With --outputs or --plugin and no --kernel, only those are checked.
    /// Commands call it from their `validate()` too: whether --name, --u-acc and --u-s describe
    /// anything depends on their --kernel list, which this group cannot see.
    func specifications(_ kernels: [SourceSpecification]) throws(ValidationError) -> [SourceSpecification] {
        let describesFramework = kernels.contains { if case .framework = $0 { true } else { false } }
        if (sourceName != nil || uAcc != nil || uS != nil) && isEmpty && !describesFramework {
            throw ValidationError("--name, --u-acc and --u-s describe an --outputs file or a --plugin; neither was given")
        }
        let given = kernels.map { spec -> SourceSpecification in
            guard case let .framework(dataset, name, _) = spec, uAcc != nil || uS != nil else { return spec }
            return .framework(dataset: dataset, name: name, units: units)
        }
        return given
            + outputs.map { .outputs(path: $0, name: sourceName, units: units) }
            + plugins.map { .plugin(path: $0, symbol: pluginSymbol, backwardSymbol: pluginBackwardSymbol, name: sourceName, units: units, threads: nil) }
    }
}

/// `specifications` with `threads` (checked by `ThreadOptions`) for those that take it, each built
/// once; a source that cannot be built (unknown kernel, missing file or symbol) is bad usage.
func buildSources(_ specifications: [SourceSpecification], threads: Int?) throws -> [any OutcomeSource] {
    try specifications.map { spec in
        do throws(SourceError) { return try spec.with(threads: threads).build() } catch { throw Terminal.usageFailure(error.description) }
    }
}

/// The same for the sources that compute (built-in kernels and plugins, not outputs files), which
/// `bench` times and `run` records.
func buildComputingSources(_ specifications: [SourceSpecification], threads: Int?, guarded: Bool = true) throws -> [any ComputingSource] {
    try specifications.map { spec in
        do throws(SourceError) { return try spec.with(threads: threads).buildComputing(guarded: guarded) } catch { throw Terminal.usageFailure(error.description) }
    }
}

extension Shard: ExpressibleByArgument {
    /// `--shard I/N` with 1 ≤ I ≤ N.
    public init?(argument: String) {
        guard let shard = try? Shard(parsing: argument) else { return nil }
        self = shard
    }
}

/// `--pass forward|backward|both`: which passes of the golden cases to check (SPEC section 7).
enum PassSelection: String, ExpressibleByArgument, CaseIterable {
    case forward, backward, both

    var passes: Set<KernelPass> {
        switch self {
        case .forward: [.forward]
        case .backward: [.backward]
        case .both: [.forward, .backward]
        }
    }
}
