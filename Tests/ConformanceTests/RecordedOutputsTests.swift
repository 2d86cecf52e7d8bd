@testable import Conformance
import DeformConv
import Foundation
import HDF5
import XCTest

/// The package folder (vectors/, tools/, include/), found from this file.
let byoPackageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Results computed elsewhere: outputs files, `dcn run`, a golden file's y_framework.
final class RecordedOutputsTests: XCTestCase {
    private var frameworkFiles: [String] {
        let folder = byoPackageRoot.appendingPathComponent("vectors").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("framework-") && $0.hasSuffix(".h5") }.sorted()
            .map { folder + "/" + $0 }
    }

    /// The committed framework files' `y` (torchvision in float64) and our float64 reference check
    /// each other: within SPEC section 3's bound for u = 2⁻⁵³ on every valid case, and (stricter)
    /// without the ½ ulp of the output type that bound allows.
    func testFrameworkFilesYAgreesWithOurReference() throws {
        let files = frameworkFiles
        guard !files.isEmpty else { throw XCTSkip("no vectors/framework-*.h5 in this checkout") }
        for file in files {
            let report = Verifier(kernels: [ReferenceKernel()]).run(files: [file])
            XCTAssertTrue(report.unreadable.isEmpty, "\(file): \(report.unreadable)")
            XCTAssertGreaterThan(report.summary.cases, 50, file)
            for result in report.results where result.status == .fail {
                XCTFail("\(file): \(result.caseName): reference vs the file's y: \(result.message ?? "")")
            }

            let reader = try GoldenFileReader(path: file)
            var checked = 0
            for name in try reader.caseNames() {
                let header = try reader.header(of: name)
                guard header.expect == .ok else { continue }
                let problem = try DeformConvProblem(validating: header.arguments)
                let inputs: DeformConvInputs<Double> = problem.dtype == .float16
                    ? try reader.inputs(of: name, problem: problem, as: Float16.self).map(Double.init)
                    : try reader.inputs(of: name, problem: problem, as: Float.self).map(Double.init)
                let ours = ReferenceKernel().evaluate(problem, inputs)
                let theirs = try reader.output(of: name, problem: problem)
                var tolerance = Tolerance(accumulationUnitRoundoff: UnitRoundoff.float64, samplingUnitRoundoff: UnitRoundoff.float64,
                                          problem: problem)
                tolerance.outputType = .float64
                let stats = AccuracyStats(got: ours.y, expected: theirs.y, yAbs: ours.yAbs, yPos: ours.yPos, yTiny: ours.yTiny,
                                          shape: problem.outputShape, tolerance: tolerance)
                XCTAssertTrue(stats.passed, "\(file): \(name): float64 reference vs torchvision float64: worst ratio \(stats.worstRatio) at \(String(describing: stats.worst))")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 40, file)
        }
    }

    /// The committed framework files' expected gradients (torchvision 0.29's float64 autograd, after
    /// SPEC section 1's layout conversion) and our float64 reference's check each other: within SPEC
    /// section 7's bound for u_acc = u_s = 2⁻⁵³ and a float64 output (no ½ ulp of float32 or
    /// float16), on every gradient tensor of every valid backward case.
    func testFrameworkFilesGradientsAgreeWithOurReference() throws {
        let files = frameworkFiles
        guard !files.isEmpty else { throw XCTSkip("no vectors/framework-*.h5 in this checkout") }
        for file in files {
            let reader = try GoldenFileReader(path: file)
            var checked = 0
            for name in try reader.caseNames() {
                let header = try reader.header(of: name)
                guard header.expect == .ok, header.isBackward else { continue }
                let problem = try DeformConvProblem(validating: header.arguments)
                let half = problem.dtype == .float16
                let inputs: DeformConvInputs<Double> = half
                    ? try reader.inputs(of: name, problem: problem, as: Float16.self).map(Double.init)
                    : try reader.inputs(of: name, problem: problem, as: Float.self).map(Double.init)
                let gy: [Double] = half
                    ? try reader.gradientInput(of: name, problem: problem, as: Float16.self).map(Double.init)
                    : try reader.gradientInput(of: name, problem: problem, as: Float.self).map(Double.init)
                let theirs = try XCTUnwrap(try reader.output(of: name, problem: problem).gradients, "\(file): \(name) has gy but no gradients")
                let ours = ReferenceKernel().evaluateBackward(problem, inputs, gy: gy)
                let tolerance = GradientTolerance(accumulationUnitRoundoff: UnitRoundoff.float64, samplingUnitRoundoff: UnitRoundoff.float64,
                                                  outputType: .float64, exact: false)
                let tensors = GradientStats.compare(ours.values, with: theirs, magnitudes: ours, problem: problem, tolerance: tolerance)
                XCTAssertEqual(tensors.count, problem.hasBias ? 6 : 5, "\(file): \(name)")
                for tensor in tensors where !tensor.passed {
                    XCTFail("\(file): \(name): float64 reference vs torchvision float64 \(tensor.tensor): worst ratio \(tensor.worstRatio) at \(String(describing: tensor.worst))")
                }
                checked += 1
            }
            XCTAssertGreaterThan(checked, 70, file)
        }
    }

    /// MindSpore 2.10's own gradients (g*_framework, GradOperation with sens in the case dtype) as
    /// `--kernel framework` with float32 units: every float32 backward case has them and passes SPEC
    /// section 7's bound on every tensor. The backward-only error cases have the backward call's
    /// exception recorded (which class it is, against SPEC's, is the report's business).
    func testMindSporeGradientsPassAsTheFrameworkKernel() throws {
        guard let file = frameworkFiles.first(where: { $0.contains("mindspore") }) else {
            throw XCTSkip("no vectors/framework-mindspore-*.h5 in this checkout")
        }
        let report = Verifier(sources: [FrameworkOutputsSource()], passes: [.backward]).run(files: [file])
        XCTAssertTrue(report.unreadable.isEmpty, "\(report.unreadable)")
        let valid32 = report.results.filter { $0.expect == "ok" && $0.dtype == "float32" && $0.backward != nil }
        XCTAssertGreaterThan(valid32.count, 60)
        for result in valid32 {
            XCTAssertEqual(result.backward?.status, .pass, "\(result.caseName): \(result.backward?.message ?? "")")
            XCTAssertEqual(result.backward?.tensors.count ?? 0, 5 + (result.backward?.tensors.contains { $0.tensor == "gbias" } == true ? 1 : 0))
        }
        let backwardErrors = report.results.filter { $0.expect != "ok" && $0.backward != nil }
        XCTAssertEqual(backwardErrors.count, 4, "grad_shape and gy dtype cases")
        for result in backwardErrors {
            XCTAssertNotNil(result.backward?.errorClass, "\(result.caseName): \(result.backward?.message ?? "")")
        }
    }

    /// `--kernel framework` scores the stored y_framework with float32 units: MindSpore's float32
    /// output passes, its float16 path does not, and bad inputs it accepts fail.
    func testFrameworkSourceScoresTheStoredFrameworkOutput() throws {
        guard let file = frameworkFiles.first(where: { $0.contains("mindspore") }) else {
            throw XCTSkip("no vectors/framework-mindspore-*.h5 in this checkout")
        }
        let report = Verifier(sources: [FrameworkOutputsSource()]).run(files: [file])
        XCTAssertEqual(report.kernels.map(\.name), ["framework"])
        XCTAssertEqual(report.kernels.first?.uAcc, UnitRoundoff.float32)
        let valid32 = report.results.filter { $0.expect == "ok" && $0.dtype == "float32" }
        XCTAssertFalse(valid32.isEmpty)
        for result in valid32 {
            XCTAssertEqual(result.status, .pass, "\(result.caseName): \(result.message ?? "")")
            XCTAssertLessThanOrEqual(result.ratio ?? 2, 0.5, result.caseName)
        }
        let valid16 = report.results.filter { $0.expect == "ok" && $0.dtype == "float16" }
        XCTAssertGreaterThan(valid16.count { $0.status == .fail }, valid16.count / 2, "MindSpore's float16 path rounds in half precision")
        if let accepted = report.results.first(where: { $0.caseName == "offsets-shape-batch" }) {
            XCTAssertEqual(accepted.status, .fail)
            XCTAssertTrue(accepted.message?.contains("accepted the call") == true, accepted.message ?? "")
        }
    }

    func testFrameworkErrorAttributeParsing() {
        XCTAssertEqual(FrameworkOutputsSource.parse(frameworkError: "ValueError: For 'X', bad"), .rejected(errorClass: "ValueError", code: nil, message: "For 'X', bad"))
        XCTAssertEqual(FrameworkOutputsSource.parse(frameworkError: "accepted"), .accepted(note: nil))
        if case .unavailable(let why) = FrameworkOutputsSource.parse(frameworkError: "not run: would allocate 1 TB") {
            XCTAssertTrue(why.contains("not run: would allocate 1 TB"))
        } else {
            XCTFail("not run is nothing recorded")
        }
        XCTAssertEqual(FrameworkOutputsSource.parse(frameworkError: "Fail: [ONNXRuntimeError] : 1"), .rejected(errorClass: "Fail", code: nil, message: "[ONNXRuntimeError] : 1"))
        XCTAssertEqual(FrameworkOutputsSource().backwardErrorAttribute, "framework_backward_error")
        XCTAssertEqual(FrameworkOutputsSource(dataset: "y_gpu").backwardErrorAttribute, "gpu_backward_error")
    }

    /// `dcn run` then `dcn verify --outputs` gives the same pass/fail as verifying the kernel directly,
    /// for a good kernel and for one with a planted bug.
    func testOutputsFileRoundTripGivesTheSameVerdicts() throws {
        let folder = try temporaryFolder(self)
        for kernel in [NaiveKernel(), PlantedOutputBug(index: 3, relativeChange: 1e-3)] as [any DeformConvKernel] {
            let path = folder + "/\(kernel.name).h5"
            let summary = try OutputsRecorder(source: KernelSource(kernel)).record(golden: defaultSuitePath, to: path, producer: "test")
            XCTAssertTrue(summary.skipped.isEmpty)
            XCTAssertGreaterThan(summary.errors, 10)
            let info = try OutputsFileInfo(path: path)
            XCTAssertEqual(info.kernel, kernel.name)
            XCTAssertEqual(info.uAcc, kernel.accumulationUnitRoundoff)
            let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
            XCTAssertEqual(recorded.identity.name, kernel.name)

            // Forward only: these outputs files record no gradients.
            let direct = Verifier(kernels: [kernel], passes: [.forward]).run(files: [defaultSuitePath])
            let replayed = Verifier(sources: [recorded], passes: [.forward]).run(files: [defaultSuitePath])
            XCTAssertEqual(direct.results.map(\.caseName), replayed.results.map(\.caseName))
            XCTAssertEqual(direct.results.map(\.status), replayed.results.map(\.status), kernel.name)
            XCTAssertEqual(direct.results.map(\.ratio), replayed.results.map(\.ratio), kernel.name)
            XCTAssertEqual(direct.results.map(\.errorCode), replayed.results.map(\.errorCode), kernel.name)
            if kernel.name == "planted-output" { XCTAssertGreaterThan(replayed.summary.failed, 0) }
        }
    }

    /// A run the kernel reports as failed is recorded as a KernelFailure error, not as an output,
    /// and replays as a failed case; the other cases are recorded as usual.
    func testRecordedRunFailuresReplayAsFailedCases() throws {
        let folder = try temporaryFolder(self)
        let clean = try OutputsRecorder(source: KernelSource(NaiveKernel())).record(golden: defaultSuitePath, to: folder + "/naive.h5", producer: "test")
        let path = folder + "/failing.h5"
        let summary = try OutputsRecorder(source: FailingOnFloat16()).record(golden: defaultSuitePath, to: path, producer: "test")
        let failures = summary.errors - clean.errors
        XCTAssertGreaterThan(failures, 0, "the suite has valid float16 cases")
        XCTAssertEqual(summary.outputs, clean.outputs - failures)

        let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
        let replayed = Verifier(sources: [recorded]).run(files: [defaultSuitePath])
        let failed = replayed.results.filter { $0.status == .fail }
        XCTAssertEqual(failed.count, failures)
        XCTAssertTrue(failed.allSatisfy { $0.dtype == "float16" && ($0.message ?? "").contains("KernelFailure") },
                      "\(failed.map { "\($0.caseName): \($0.message ?? "")" })")
    }

    /// Wrong shape, wrong class, wrong code, an accepted bad call and a missing case each fail the
    /// case with a message that says so; the other cases are still scored.
    func testBadOutputsAreFailedCasesWithClearMessages() throws {
        let folder = try temporaryFolder(self)
        let path = folder + "/bad.h5"
        let reader = try GoldenFileReader(path: defaultSuitePath)
        let names = try reader.caseNames()
        let valid = try names.filter { try reader.header(of: $0).expect == .ok }
        let errors = try names.filter { try reader.header(of: $0).expect != .ok }
        let (wrongShape, missing, acceptedValid) = (valid[0], valid[1], valid[2])
        let (wrongClass, wrongCode, accepted, classOnly) = (errors[0], errors[1], errors[2], errors[3])
        let planted: Set = [wrongShape, missing, acceptedValid, wrongClass, wrongCode, accepted, classOnly]
        _ = try OutputsRecorder(source: KernelSource(NaiveKernel())).record(golden: defaultSuitePath, to: path, producer: "test",
                                                              include: { !planted.contains($0) })
        do {
            let file = try File.open(path, mode: .readWrite)
            let cases = try file.root.openGroup("cases")
            try cases.createGroup(wrongShape).write("y", shape: [1, 2], values: [Float(0), 0])
            try cases.createGroup(acceptedValid).setAttribute("error_class", string: "RuntimeError")
            try cases.createGroup(wrongClass).setAttribute("error_class", string: "RuntimeError")
            let code = try cases.createGroup(wrongCode)
            let expected = try reader.header(of: wrongCode).expect
            guard case let .error(expectedCode) = expected else { return XCTFail() }
            try code.setAttribute("error_class", string: expectedCode.exceptionClass.rawValue)
            try code.setAttribute("error_code", string: expectedCode == .rank ? "groups" : "rank")
            try cases.createGroup(accepted).write("y", shape: [1], values: [Float(0)])
            guard case let .error(classOnlyCode) = try reader.header(of: classOnly).expect else { return XCTFail() }
            try cases.createGroup(classOnly).setAttribute("error_class", string: classOnlyCode.exceptionClass.rawValue)
            file.close()
        }
        let source = OutputsFileSource(path: path, name: "bad", uAcc: UnitRoundoff.float32, uS: UnitRoundoff.float32)
        let report = Verifier(sources: [source]).run(files: [defaultSuitePath])
        func message(_ name: String) -> String {
            let result = report.results.first { $0.caseName == name }!
            XCTAssertEqual(result.status, name == classOnly ? .pass : .fail, name)
            return result.message ?? ""
        }
        XCTAssertTrue(message(wrongShape).contains("has shape [1, 2], the output shape is"), message(wrongShape))
        XCTAssertTrue(message(missing).hasPrefix("no outputs recorded for this case"), message(missing))
        XCTAssertTrue(message(acceptedValid).contains("expected ok, 'bad' raised RuntimeError"), message(acceptedValid))
        XCTAssertTrue(message(wrongClass).contains("raised RuntimeError"), message(wrongClass))
        XCTAssertTrue(message(wrongCode).contains("raised"), message(wrongCode))
        XCTAssertTrue(message(accepted).contains("accepted the call"), message(accepted))
        _ = message(classOnly)
        XCTAssertEqual(report.summary.failed, 6)
        // The backward error cases: an outputs file without gradients has no backward pass.
        let backwardOnly = try names.filter { try reader.header(of: $0).isBackward && reader.header(of: $0).expect != .ok }.count
        XCTAssertGreaterThan(backwardOnly, 0)
        XCTAssertEqual(report.summary.notImplemented, backwardOnly)
        XCTAssertEqual(report.summary.passed, names.count - 6 - backwardOnly)
    }

    /// A committed outputs file made by tools/examples/torchvision_outputs.py (CI has no torch)
    /// passes the gate on vectors/dcn-default.h5 when scored with the units of torchvision's CPU
    /// arithmetic in each dtype: float32 cases with 2⁻²⁴, float16 cases (computed in half
    /// precision, like MindSpore's) with 2⁻¹¹. With float32 units its float16 cases fail.
    /// Its error cases are what torchvision raised, not SPEC section 2's classes.
    func testCommittedTorchvisionOutputsPassTheValidCases() throws {
        let outputs = byoPackageRoot.appendingPathComponent("tools/examples/outputs/torchvision-dcn-default.h5").path
        let golden = byoPackageRoot.appendingPathComponent("vectors/dcn-default.h5").path
        guard FileManager.default.fileExists(atPath: outputs) else { return XCTFail("missing \(outputs)") }
        let float32Units = try SourceSpecification(kernelArgument: "outputs:" + outputs).build().identity
        XCTAssertTrue(float32Units.name.hasPrefix("torchvision"), float32Units.name)
        let half = DeclaredUnits(uAcc: try DeclaredUnits.unitRoundoff("2^-11"), uS: try DeclaredUnits.unitRoundoff("2^-11"))
        let halfUnits = try SourceSpecification.outputs(path: outputs, name: "torchvision-half", units: half).build()
        XCTAssertEqual(halfUnits.identity.uAcc, 0x1p-11)
        let report = Verifier(sources: [try SourceSpecification(kernelArgument: "outputs:" + outputs).build(), halfUnits],
                              passes: [.forward]).run(files: [golden])
        // Recorded with torch, which CI has not (tools/examples/torchvision_report.sh): checked on the
        // cases it records, which must be every valid case of the suite.
        let file = try File.open(outputs)
        let recordedCases = Set(try file.root.openGroup("cases").members().map(\.name))
        file.close()
        XCTAssertTrue(Set(DefaultSuite.valid.map(\.name)).isSubset(of: recordedCases), "every valid case is recorded")
        func valid(_ kernel: String, _ dtype: String) -> [CaseResult] {
            report.results.filter { $0.kernel == kernel && $0.expect == "ok" && $0.dtype == dtype && recordedCases.contains($0.caseName) }
        }
        XCTAssertGreaterThan(valid(float32Units.name, "float32").count, 40)
        for result in valid(float32Units.name, "float32") + valid("torchvision-half", "float16") {
            XCTAssertEqual(result.status, .pass, "\(result.kernel): \(result.caseName): \(result.message ?? "")")
        }
        XCTAssertTrue(valid(float32Units.name, "float16").contains { $0.status == .fail })
    }

    func testUnitRoundoffSyntax() throws {
        XCTAssertEqual(try DeclaredUnits.unitRoundoff("2^-24"), 0x1p-24)
        XCTAssertEqual(try DeclaredUnits.unitRoundoff("2**-11"), 0x1p-11)
        XCTAssertEqual(try DeclaredUnits.unitRoundoff("0x1p-24"), 0x1p-24)
        XCTAssertEqual(try DeclaredUnits.unitRoundoff("float16"), 0x1p-11)
        XCTAssertThrowsError(try DeclaredUnits.unitRoundoff("2"))
    }

    /// `--kernel` values become typed specifications, and a specification survives the JSON a reader child receives.
    func testSourceSpecificationsParseAndTravelAsJSON() throws {
        XCTAssertEqual(SourceSpecification(kernelArgument: "simd"), .kernel(name: "simd", threads: nil))
        XCTAssertEqual(SourceSpecification(kernelArgument: "framework"), .framework(dataset: "y_framework", name: nil, units: .none))
        XCTAssertEqual(SourceSpecification(kernelArgument: "framework:y_gpu"), .framework(dataset: "y_gpu", name: nil, units: .none))
        XCTAssertEqual(SourceSpecification(kernelArgument: "outputs:/tmp/a:b.h5"), .outputs(path: "/tmp/a:b.h5", name: nil, units: .none))
        XCTAssertEqual(SourceSpecification(kernelArgument: "plugin:lib.so"), .plugin(path: "lib.so", symbol: nil, backwardSymbol: nil, name: nil, units: .none, threads: nil))
        let list: [SourceSpecification] = [.kernel(name: "threaded", threads: 3),
                                           .outputs(path: "/tmp/o.h5", name: "x", units: DeclaredUnits(uAcc: 0x1p-11)),
                                           .plugin(path: "/tmp/p.so", symbol: "run", backwardSymbol: "back", name: nil, units: .none, threads: 2)]
        XCTAssertEqual(try IsolatedVerifier.decodeSpecifications(IsolatedVerifier.encode(list)), list)
        XCTAssertThrowsError(try SourceSpecification.kernel(name: "no-such", threads: nil).build()) { error in
            XCTAssertTrue("\(error)".contains("unknown kernel 'no-such'"), "\(error)")
        }
        XCTAssertThrowsError(try SourceSpecification(kernelArgument: "framework").buildComputing(), "a recorded source has nothing to run")
    }
}

/// naive, except that every float16 run fails (as a plugin's nonzero status does).
private struct FailingOnFloat16: ComputingSource, Float32Units {
    let name = "failing-on-float16"
    let summary = "naive; float16 runs report a failure"
    var threads: Int { 1 }

    func validate(_ arguments: DeformConvArguments, limits: ResourceLimits) throws(DeformConvError) -> DeformConvProblem {
        try DeformConvProblem(validating: arguments, limits: limits)
    }

    func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> Result<[Float], ComputeFailure> {
        .success(NaiveKernel().run(problem, inputs))
    }

    func compute(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> Result<[Float16], ComputeFailure> {
        .failure(ComputeFailure("float16 is not supported"))
    }
}
