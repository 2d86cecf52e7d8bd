import ArgumentParser

/// `--json` and `--report-dir` of `verify` and `bench`: the results as JSON to a file of the caller's
/// choice, and the folder of the command's report files (each command's discussion names them).
struct ReportOptions: ParsableArguments {
    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @Option(help: "Folder for the report files (see above).")
    var reportDir = "reports"
}
