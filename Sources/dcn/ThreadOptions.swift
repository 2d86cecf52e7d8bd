import ArgumentParser

/// `--threads` of `verify`, `run` and `bench`, which mean the same by it: the thread count of the
/// multithreaded kernels (bench also runs its peers on it), one per core by default. `fuzz` declares
/// its own, because there no count means one drawn per problem.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for multithreaded kernels (default: one per core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}
