import ArgumentParser

/// `--quiet` of `verify` and `fuzz`: only the summary, for CI logs that show failures elsewhere.
struct QuietOption: ParsableArguments {
    @Flag(help: "Print only the summary line.")
    var quiet = false
}
