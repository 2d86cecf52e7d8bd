import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time kernels on problem descriptors (not implemented yet).",
        discussion: "Arrives with the fast-kernels issue; until then this command exits with status 2.")

    @Option(name: .customLong("shape"), help: "A problem descriptor, e.g. r50-c3:mb1ic128ih64oc128kh3ph1pw1 (repeatable).")
    var shapes: [String] = []

    @Option(name: .customLong("kernel"), help: "A kernel to time (repeatable; default: all).")
    var kernels: [String] = []

    @Option(help: "Threads for the threaded kernel.")
    var threads: Int?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Folder for performance.md and the plots.")
    var reportDir = "reports"

    func run() throws {
        throw Terminal.usageFailure("dcn bench is not implemented yet: it arrives with the fast-kernels issue")
    }
}
