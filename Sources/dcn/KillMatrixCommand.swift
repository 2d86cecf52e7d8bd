import ArgumentParser
import Conformance
import Foundation

/// `dcn kill-matrix`: how many planted bugs the golden suite catches (issue 18's mutant zoo).
struct KillMatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill-matrix",
        abstract: "Which golden cases kill which mutant plugins: the gate's strength, measured.",
        discussion: """
        Each plugin (include/dcn_kernel.h) is a mutant: a kernel with one planted bug, such as those \
        tools/mutants/build.sh builds from tools/mutants/mutant_kernel.c. Every case of the golden files runs \
        through every mutant, forward then backward, as `dcn verify --pass forward` and `--pass backward` would; \
        a case kills a mutant when its result is not a pass (and, with --repeat N, when its bits differ between runs). \
        Prints for each mutant the cases that kill it and for each case the mutants only it kills (Markdown; \
        --json for scripts). --correct names the build without a bug, which must pass every case.
        Exit status: 0 every mutant killed (and the correct build passes), 1 a mutant survives or the correct build \
        fails a case, 2 bad usage or a file could not be read.
        """)

    @Argument(help: ArgumentHelp("The mutants: plugin libraries (a --correct library among them is left out).", valueName: "libmutant.so"))
    var plugins: [String]

    @Option(help: ArgumentHelp("A golden file, or a folder searched for *.h5 (repeatable).", valueName: "PATH"))
    var golden: [String] = ["vectors/dcn-default.h5"]

    @Option(help: ArgumentHelp("The correct build of the mutants' source: it must pass every case.", valueName: "libcorrect.so"))
    var correct: String?

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Determinism mode, as `dcn verify --repeat N`: bits that differ between runs (or at 1 thread and at every core) kill.", valueName: "N"))
    var repeats = 1

    @Option(help: "Also write the matrix as Markdown to this file.")
    var markdown: String?

    @Option(help: "Also write the matrix as JSON to this file.")
    var json: String?

    @Flag(help: "Read the golden files in this process instead of one child process per file (a mutant that crashes then crashes dcn).")
    var inProcess = false

    @Option(help: "Seconds a case may run before its reader process is killed and the case fails (not with --in-process).")
    var caseTimeout: Double = 600

    @OptionGroup var memoryOptions: MemoryOptions

    @OptionGroup var quietOption: QuietOption

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1 (2 or more to check determinism), got \(repeats)") }
        guard caseTimeout > 0 else { throw ValidationError("--case-timeout must be positive, got \(caseTimeout)") }
        guard !mutantPaths.isEmpty else { throw ValidationError("give at least one mutant plugin besides --correct") }
    }

    /// The plugins without the correct build (a glob such as libmutant-*.so matches it too).
    private var mutantPaths: [String] {
        let correctPath = correct.map(Self.canonical)
        return plugins.filter { Self.canonical($0) != correctPath }
    }

    private static func canonical(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    func run() throws {
        let paths = mutantPaths + (correct.map { [$0] } ?? [])
        let specifications = paths.map { SourceSpecification.plugin(path: $0, symbol: nil, backwardSymbol: nil, name: nil, units: .none, threads: nil) }
        let sources = try buildSources(specifications, threads: nil)
        let names = sources.map(\.identity.name)
        if let repeated = names.first(where: { name in names.count { $0 == name } > 1 }) {
            throw Terminal.usageFailure("two plugins are named '\(repeated)' (dcn_kernel_name): the matrix names mutants by it")
        }
        let files: [String]
        do { files = try Verifier.goldenFiles(in: golden) } catch { throw Terminal.usageFailure(error.description) }
        guard !files.isEmpty else { throw Terminal.usageFailure("no .h5 files under \(golden.joined(separator: ", "))") }

        let determinism = Determinism(repeats: repeats)
        let limits = memoryOptions.limits
        let (matrix, unreadable) = KillMatrix.measure(correct: correct == nil ? nil : names.last, repeats: repeats) { passes in
            let label = passes == [.forward] ? "forward" : "backward"
            let progress = { @Sendable (step: VerifyProgress) in Terminal.progress("[\(label) case \(step.done)/\(step.total)] \(step.file): \(step.caseName)") }
            if inProcess {
                let variants = determinism.isOn ? Determinism.threadVariants(of: specifications, sources: sources) : []
                return Verifier(sources: sources, limits: limits, passes: passes, determinism: determinism, variants: variants)
                    .run(files: files, progress: progress)
            }
            return IsolatedVerifier(executable: IsolatedVerifier.currentExecutable, specifications: specifications,
                                    identities: sources.map(\.identity), limits: limits, passes: passes,
                                    caseTimeout: caseTimeout, determinism: determinism)
                .run(files: files, progress: progress)
        }
        Terminal.clearProgress()
        for file in unreadable { Terminal.error("UNREADABLE \(file.file): \(file.message)") }

        let command = (["dcn", "kill-matrix"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
        let text = KillMatrixReport.markdown(matrix, command: command)
        var reportFiles = ReportFiles()
        if let markdown { reportFiles.add(Data(text.utf8), at: markdown) }
        if let json { reportFiles.add(try ReportFiles.json(matrix), at: json) }
        try reportFiles.write()
        print(quietOption.quiet ? KillMatrixReport.summaryLine(matrix).replacingOccurrences(of: "**", with: "") : text, terminator: quietOption.quiet ? "\n" : "")
        if !unreadable.isEmpty { throw ExitCode(2) }
        if matrix.exitCode != 0 { throw ExitCode(matrix.exitCode) }
    }
}
