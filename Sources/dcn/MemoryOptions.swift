import ArgumentParser
import DeformConv

/// `--max-memory` of `verify`, `run` and the hidden `verify-file`: one limit, passed from parent to child.
struct MemoryOptions: ParsableArguments {
    @Option(help: "Largest working memory one case may need, in bytes; larger cases end in too_large (a failure for verify, a recorded error for run).")
    var maxMemory = ResourceLimits.standard.maxWorkingBytes

    var limits: ResourceLimits { ResourceLimits(maxWorkingBytes: maxMemory) }
}
