import ArgumentParser
import DeformConv

/// `--kernel NAME` of `bench` and `fuzz`: a built-in kernel of `dcn kernels`. An unknown name is
/// refused while the command line is read, and ArgumentParser lists the names (`allValueStrings`),
/// which also feed shell completion.
struct KernelName: ExpressibleByArgument, Hashable {
    let name: String

    init?(argument: String) {
        guard KernelRegistry.names.contains(argument) else { return nil }
        name = argument
    }

    static var allValueStrings: [String] { KernelRegistry.names }
}
