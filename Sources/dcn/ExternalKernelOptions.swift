import ArgumentParser
import Conformance
import DeformConv
import Foundation

/// `--outputs`, `--plugin` and their options, shared by `verify`, `bench` and `run`: results
/// computed outside dcn's own kernels, named like kernels (see `ExternalKernels`).
struct ExternalKernelOptions: ParsableArguments {
    @Option(name: .customLong("outputs"), help: ArgumentHelp("Score the outputs recorded in this outputs file (format dcn-outputs, see the README) like a kernel (repeatable).", valueName: "OUT.h5"))
    var outputs: [String] = []

    @Option(name: .customLong("plugin"), help: ArgumentHelp("Load a C kernel plugin (include/dcn_kernel.h) with dlopen and run it like a kernel (repeatable).", valueName: "libkernel.so"))
    var plugins: [String] = []

    @Option(help: ArgumentHelp("The symbol --plugin calls.", valueName: "NAME"))
    var pluginSymbol: String?

    @Option(name: .customLong("name"), help: "The name reports give the --outputs or --plugin source (default: the file's own, or its file name).")
    var sourceName: String?

    @Option(name: .customLong("u-acc"), help: ArgumentHelp("Unit roundoff of the accumulation of the --outputs/--plugin source (default: the outputs file's u_acc, else 2^-24).", valueName: "U"))
    var uAcc: String?

    @Option(name: .customLong("u-s"), help: ArgumentHelp("Unit roundoff of the sampling arithmetic of the --outputs/--plugin source (default: the outputs file's u_s, else 2^-24).", valueName: "U"))
    var uS: String?

    var isEmpty: Bool { outputs.isEmpty && plugins.isEmpty }

    /// `names` (the --kernel list) followed by the external sources, as resolvable kernel names.
    /// With --outputs or --plugin and no --kernel, only the external sources are checked.
    func kernelNames(_ names: [String]) throws -> [String] {
        var options: [String: String] = [:]
        do {
            if let sourceName {
                guard outputs.count + plugins.count <= 1 else {
                    throw ExternalKernels.SpecError("--name names one source; give one --outputs or --plugin per run, or name them in the files")
                }
                try ExternalKernels.checkName(sourceName)
                options["name"] = sourceName
            }
            if let uAcc { options["u_acc"] = "\(try ExternalKernels.unitRoundoff(uAcc))" }
            if let uS { options["u_s"] = "\(try ExternalKernels.unitRoundoff(uS))" }
        } catch let error as ExternalKernels.SpecError {
            throw Terminal.usageFailure(error.description)
        }
        if (sourceName != nil || uAcc != nil || uS != nil) && isEmpty && !names.contains(where: ExternalKernels.isExternal) {
            throw Terminal.usageFailure("--name, --u-acc and --u-s describe an --outputs file or a --plugin; neither was given")
        }
        if pluginSymbol != nil && plugins.isEmpty { throw Terminal.usageFailure("--plugin-symbol needs --plugin") }
        var pluginOptions = options
        if let pluginSymbol { pluginOptions["symbol"] = pluginSymbol }
        // `framework` given with units on the command line takes them too.
        let given = names.map { name in
            name == "framework" && (uAcc != nil || uS != nil)
                ? ExternalKernels.spec(kind: "framework", argument: "y_framework", options: options.filter { $0.key != "name" }) : name
        }
        return given
            + outputs.map { ExternalKernels.spec(kind: "outputs", argument: $0, options: options) }
            + plugins.map { ExternalKernels.spec(kind: "plugin", argument: $0, options: pluginOptions) }
    }
}
