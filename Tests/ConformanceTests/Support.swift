import Conformance
import DeformConv
import Foundation
import XCTest

/// A fresh folder under the system temporary directory, removed by the test's teardown.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "dcn-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    if ProcessInfo.processInfo.environment["DCN_KEEP_TEST_FOLDERS"] == nil { test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) } }
    return path
}

/// The default suite, generated once per test process (it takes well under a second).
let defaultSuitePath: String = {
    let path = NSTemporaryDirectory() + "dcn-default-suite-\(getpid()).h5"
    _ = try! SuiteGenerator().generate(suite: DefaultSuite.name, to: path, generator: "ConformanceTests")
    return path
}()

/// Writes `cases` to a new golden file in `folder`.
func writeGolden(_ cases: [GoldenCase], to folder: String, name: String = "planted.h5") throws -> String {
    let path = (folder as NSString).appendingPathComponent(name)
    let writer = try GoldenFileWriter(path: path, generator: "ConformanceTests", reference: "test")
    for golden in cases { try writer.write(golden) }
    writer.close()
    return path
}

/// Runs `executable` with `arguments` to its end: its status and its standard output and error, together.
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

func recipe(_ name: String) -> CaseRecipe {
    DefaultSuite.valid.first { $0.name == name }!
}

func errorRecipe(_ name: String) -> ErrorRecipe {
    DefaultSuite.errors.first { $0.name == name }!
}

/// A test kernel or source with naive's units, u_acc = u_s = 2⁻²⁴ (float32).
protocol Float32Units: NamedImplementation {}

extension Float32Units {
    var accumulationUnitRoundoff: Double { UnitRoundoff.float32 }
    var samplingUnitRoundoff: Double { UnitRoundoff.float32 }
}

/// A kernel that computes like `naive` and then changes one output element: a planted bug.
struct PlantedOutputBug: DeformConvKernel, Float32Units {
    var name = "planted-output"
    let summary = "naive with one output element perturbed"
    /// Index of the perturbed element, and the relative change.
    var index: Int
    var relativeChange: Float

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        var y = NaiveKernel().run(problem, inputs)
        if index < y.count { y[index] += relativeChange * max(abs(y[index]), 1) }
        return y
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }
}

/// A kernel whose validation reports one code as another: a planted bug in the error path.
struct PlantedErrorCodeBug: DeformConvKernel, Float32Units {
    let name = "planted-error-code"
    let summary = "naive, but reports offsets_shape as bias_shape"

    func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        do throws(DeformConvError) {
            return try DeformConvProblem(validating: arguments, limits: limits)
        } catch where error.code == .offsetsShape {
            throw DeformConvError(.biasShape, error.message)
        }
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] {
        NaiveKernel().run(problem, inputs)
    }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] {
        runWidened(problem, inputs)
    }
}

/// The result of running the built `dcn` as a subprocess.
struct DcnRun {
    var status: Int32
    /// Killed by a signal (a crash), rather than exiting.
    var signaled: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
}

/// The built `dcn` executable, next to the tests; the test is skipped when it is not built.
func dcnExecutable() throws -> URL {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var executable = products.appendingPathComponent("dcn")
    if !FileManager.default.fileExists(atPath: executable.path) {
        executable = products.deletingLastPathComponent().appendingPathComponent("dcn")
    }
    guard FileManager.default.fileExists(atPath: executable.path) else {
        throw XCTSkip("skipped: the dcn executable is not built next to the tests (\(products.path))")
    }
    return executable
}

/// Runs the built `dcn` executable as CI systems do, in `folder` (default: the current one),
/// killing it after `timeout` seconds. Output goes through files, so a chatty run cannot
/// block on a full pipe.
func runDcn(_ arguments: [String], in folder: String? = nil, timeout: Double = 300) throws -> DcnRun {
    let executable = try dcnExecutable()
    let scratch = NSTemporaryDirectory() + "dcn-run-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let (outPath, errPath) = (scratch + "/out", scratch + "/err")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    var timedOut = false
    if exited.wait(timeout: .now() + timeout) == .timedOut {
        timedOut = true
        process.terminate()
        exited.wait()
    }
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return DcnRun(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                  timedOut: timedOut, stdout: read(outPath), stderr: read(errPath))
}

/// Runs python3 with `arguments` (and `environment` added to this process's), its stdout and stderr
/// together; skips the test where python3, h5py or numpy is missing (CI installs them).
func runPython(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import h5py, numpy"]
    probe.standardError = FileHandle.nullDevice
    do { try probe.run() } catch { throw XCTSkip("skipped: python3 is not available") }
    probe.waitUntilExit()
    guard probe.terminationStatus == 0 else { throw XCTSkip("skipped: python3 lacks h5py or numpy (pip install h5py numpy)") }

    return try runTool("/usr/bin/env", ["python3"] + arguments, environment: environment)
}
