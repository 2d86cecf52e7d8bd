@testable import Conformance
import DeformConv
import Foundation
import HDF5
import XCTest

/// Gradients computed elsewhere (SPEC section 7): outputs files with gx, gweight, goffsets, gbias
/// written by `dcn run` or by hand, and a golden file's g*_framework datasets.
final class RecordedGradientsTests: XCTestCase {
    /// `dcn run` then `dcn verify --outputs` gives the same forward and backward verdicts and ratios
    /// as verifying the kernel directly, and a planted gradient bug survives the trip as a failure of
    /// the same tensor.
    func testOutputsFileRoundTripGivesTheSameBackwardVerdicts() throws {
        let folder = try temporaryFolder(self)
        for kernel in [NaiveKernel(), PlantedGradientBug(tensor: "gx", index: 5, relativeChange: 1e-3)] as [any DeformConvKernel] {
            let path = folder + "/\(kernel.name).h5"
            let summary = try OutputsRecorder(source: KernelSource(kernel)).record(golden: defaultSuitePath, to: path, producer: "test")
            XCTAssertTrue(summary.skipped.isEmpty, "\(summary.skipped)")
            XCTAssertGreaterThanOrEqual(summary.gradients, 70, "every valid case of the suite has gy")
            XCTAssertEqual(summary.backwardErrors, DefaultSuite.errors.count { $0.name.hasPrefix("grad-") }, "the backward error cases")
            XCTAssertTrue(try OutputsFileInfo(path: path).recordsBackward)
            let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
            XCTAssertEqual(recorded.passes, [.forward, .backward])

            let direct = Verifier(kernels: [kernel]).run(files: [defaultSuitePath])
            let replayed = Verifier(sources: [recorded]).run(files: [defaultSuitePath])
            XCTAssertEqual(direct.results.map(\.caseName), replayed.results.map(\.caseName))
            XCTAssertEqual(direct.results.map(\.status), replayed.results.map(\.status), kernel.name)
            XCTAssertEqual(direct.results.map(\.ratio), replayed.results.map(\.ratio), kernel.name)
            XCTAssertEqual(direct.results.map(\.backward?.status), replayed.results.map(\.backward?.status), kernel.name)
            XCTAssertEqual(direct.results.map(\.backward?.ratio), replayed.results.map(\.backward?.ratio), kernel.name)
            XCTAssertEqual(direct.results.map { $0.backward?.tensors.filter { !$0.passed }.map(\.tensor) },
                           replayed.results.map { $0.backward?.tensors.filter { !$0.passed }.map(\.tensor) }, kernel.name)
            XCTAssertGreaterThanOrEqual(replayed.results.count { $0.backward != nil }, 70)
            if kernel.name == "planted-gradient" {
                let failed = replayed.results.filter { $0.status == .fail }
                XCTAssertFalse(failed.isEmpty, "the planted gradient error must survive the round trip")
                XCTAssertTrue(failed.allSatisfy { $0.backward?.status == .fail && $0.backward?.message?.contains("gx: 1 of") == true },
                              "\(failed.map { "\($0.caseName): \($0.message ?? "")" })")
            } else {
                XCTAssertEqual(replayed.summary.failed, 0)
            }
        }
    }

    /// A gradient of the wrong shape, or stored as integers, fails the backward with a message naming
    /// the field and (for the shape) both shapes; it is checked before the data is read.
    func testWrongGradientShapeOrTypeIsNamed() throws {
        let path = try temporaryFolder(self) + "/bad.h5"
        let reader = try GoldenFileReader(path: defaultSuitePath)
        let valid = try reader.caseNames().filter { try reader.header(of: $0).expect == .ok }
        let (wrongShape, integers) = (valid[0], valid[1])
        _ = try OutputsRecorder(source: KernelSource(NaiveKernel())).record(golden: defaultSuitePath, to: path, producer: "test",
                                                                            include: { $0 != wrongShape && $0 != integers })
        let problem = try DeformConvProblem(validating: try reader.header(of: wrongShape).arguments)
        do {
            let file = try File.open(path, mode: .readWrite)
            let cases = try file.root.openGroup("cases")
            let shaped = try cases.createGroup(wrongShape)
            try shaped.write("gx", shape: problem.xShape, values: [Float](repeating: 0, count: problem.xCount))
            try shaped.write("gweight", shape: problem.weightShape, values: [Float](repeating: 0, count: problem.weightCount))
            try shaped.write("goffsets", shape: [1, 2], values: [Float(0), 0])
            try cases.createGroup(integers).write("gx", shape: [2], values: [Int32(1), 2])
            file.close()
        }
        let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
        let report = Verifier(sources: [recorded], passes: [.backward]).run(files: [defaultSuitePath])
        func backwardMessage(_ name: String) throws -> String {
            let result = try XCTUnwrap(report.results.first { $0.caseName == name })
            XCTAssertEqual(result.status, .fail, name)
            return result.backward?.message ?? ""
        }
        let shapeMessage = try backwardMessage(wrongShape)
        XCTAssertTrue(shapeMessage.contains("'goffsets' has shape [1, 2], the shape of offsets is \(problem.offsetsShape)"), shapeMessage)
        let typeMessage = try backwardMessage(integers)
        XCTAssertTrue(typeMessage.contains("'gx' is stored as") && typeMessage.contains("must be float16, float32 or float64"), typeMessage)
        XCTAssertEqual(report.summary.failed, 2, "the other cases keep their recorded gradients")
    }

    /// A file with gradients for some cases: a backward case it has none for fails with "no gradients
    /// recorded", whatever its forward did (here `dcn run` of a kernel whose float16 backward is missing).
    func testMissingGradientsFailTheBackward() throws {
        let path = try temporaryFolder(self) + "/float32-only.h5"
        let summary = try OutputsRecorder(source: KernelSource(Float32OnlyBackward())).record(golden: defaultSuitePath, to: path, producer: "test")
        XCTAssertGreaterThan(summary.gradients, 0)
        let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
        let report = Verifier(sources: [recorded]).run(files: [defaultSuitePath])
        let float16 = report.results.filter { $0.backward != nil && $0.dtype == "float16" }
        XCTAssertFalse(float16.isEmpty, "the suite has float16 backward cases")
        for result in float16 {
            XCTAssertEqual(result.status, .fail, result.caseName)
            XCTAssertTrue(result.backward?.message?.hasPrefix("no gradients recorded for this case") == true, result.backward?.message ?? "")
        }
        let float32 = report.results.filter { $0.backward != nil && $0.dtype == "float32" }
        XCTAssertFalse(float32.isEmpty)
        XCTAssertTrue(float32.allSatisfy { $0.status == .pass }, "\(float32.filter { $0.status != .pass }.map(\.caseName))")
        XCTAssertEqual(report.summary.failed, float16.count)
    }

    /// A valid backward case and a grad_shape error case (gy one column too wide).
    private func validAndGradShapeCases() throws -> (valid: GoldenCase, broken: GoldenCase) {
        let valid = try SuiteGenerator().validCase(recipe("basic-3x3-bias"), seed: 5, backward: true).0
        var broken = try SuiteGenerator().validCase(recipe("basic-3x3"), seed: 3, backward: true).0
        broken.name = "grad-shape"
        broken.expect = .error(.gradShape)
        broken.output = nil
        broken.tags = ["error"]
        let gy = try XCTUnwrap(broken.gy)
        var shape = gy.shape
        shape[3] += 1
        broken.gy = StoredTensor(shape: shape, data: .float32([Float](repeating: 0.5, count: shape.reduce(1, *))))
        return (valid, broken)
    }

    /// `dcn run` records a rejected backward call (grad_shape) as backward_error_* attributes and the
    /// replay passes it; a rejection recorded on a valid case fails it, naming the raised class.
    func testRecordedBackwardRejections() throws {
        let folder = try temporaryFolder(self)
        let (valid, broken) = try validAndGradShapeCases()
        let golden = try writeGolden([valid, broken], to: folder)
        let path = folder + "/naive.h5"
        let summary = try OutputsRecorder(source: KernelSource(NaiveKernel())).record(golden: golden, to: path, producer: "test")
        XCTAssertEqual(summary.gradients, 1)
        XCTAssertEqual(summary.backwardErrors, 1)
        do {
            let file = try File.open(path)
            let group = try file.root.openGroup("cases").openGroup("grad-shape")
            XCTAssertEqual(group.stringAttribute("backward_error_class"), "ValueError")
            XCTAssertEqual(group.stringAttribute("backward_error_code"), "grad_shape")
            XCTAssertTrue(group.contains("y"), "the forward call is valid and recorded")
            file.close()
        }
        let replayed = Verifier(sources: [try SourceSpecification(kernelArgument: "outputs:" + path).build()]).run(files: [golden])
        let gradShape = try XCTUnwrap(replayed.results.first { $0.caseName == "grad-shape" })
        XCTAssertEqual(gradShape.status, .pass, gradShape.message ?? "")
        XCTAssertEqual(gradShape.backward?.errorCode, "grad_shape")
        XCTAssertEqual(replayed.summary.failed, 0)

        do {
            let file = try File.open(path, mode: .readWrite)
            let group = try file.root.openGroup("cases").openGroup(valid.name)
            try group.setAttribute("backward_error_class", string: "RuntimeError")
            try group.setAttribute("backward_error_message", string: "CUDA out of memory")
            file.close()
        }
        let rejected = Verifier(sources: [try SourceSpecification(kernelArgument: "outputs:" + path).build()]).run(files: [golden])
        let result = try XCTUnwrap(rejected.results.first { $0.caseName == valid.name })
        XCTAssertEqual(result.status, .fail)
        XCTAssertEqual(result.backward?.errorClass, "RuntimeError")
        XCTAssertTrue(result.backward?.message?.contains("raised RuntimeError") == true, result.backward?.message ?? "")
        XCTAssertTrue(result.backward?.message?.contains("CUDA out of memory") == true, result.backward?.message ?? "")
    }

    /// An outputs file without any gradient (a kernel without a backward, or an older harness) has no
    /// backward pass: its backward cases are not implemented, not failed.
    func testForwardOnlyOutputsFileReportsTheBackwardAsNotImplemented() throws {
        // fp16acc has no backward pass.
        let path = try temporaryFolder(self) + "/fp16acc.h5"
        let summary = try OutputsRecorder(source: KernelSource(FP16AccKernel())).record(golden: defaultSuitePath, to: path, producer: "test")
        XCTAssertEqual(summary.gradients, 0)
        XCTAssertFalse(try OutputsFileInfo(path: path).recordsBackward)
        let recorded = try SourceSpecification(kernelArgument: "outputs:" + path).build()
        XCTAssertEqual(recorded.passes, [.forward])

        let backwardOnly = Verifier(sources: [recorded], passes: [.backward]).run(files: [defaultSuitePath])
        XCTAssertGreaterThanOrEqual(backwardOnly.results.count, 70)
        XCTAssertTrue(backwardOnly.results.allSatisfy { $0.status == .notImplemented && $0.backward?.status == .notImplemented })
        XCTAssertEqual(backwardOnly.summary.notImplemented, backwardOnly.results.count)
        XCTAssertEqual(backwardOnly.summary.failed, 0)
        XCTAssertEqual(backwardOnly.exitCode, 0)

        let both = Verifier(sources: [recorded]).run(files: [defaultSuitePath])
        XCTAssertEqual(both.summary.failed, 0, "the forward outputs still pass")
        XCTAssertTrue(both.results.filter { $0.backward != nil && $0.expect == "ok" }.allSatisfy { $0.status == .pass && $0.backward?.status == .notImplemented })
        XCTAssertTrue(both.results.filter { $0.backward != nil && $0.expect != "ok" }.allSatisfy { $0.status == .notImplemented },
                      "a backward error case has only a backward part")
    }

    /// `--kernel framework` scores g*_framework when a case has them (here naive's gradients: they
    /// pass; with one element changed they fail on that tensor), and a case without them is not implemented.
    func testFrameworkGradientsAreScoredWhenPresent() throws {
        let folder = try temporaryFolder(self)
        let cases = try ["basic-3x3-bias", "basic-3x3", "batch-3"].map { try SuiteGenerator().validCase(recipe($0), seed: 7, backward: true).0 }
        let golden = try writeGolden(cases, to: folder)
        // What naive computes for each case, read before the file is reopened for writing.
        var computed: [(name: String, problem: DeformConvProblem, y: [Float], gradients: DeformConvGradients<Float>?)] = []
        do {
            let reader = try GoldenFileReader(path: golden)
            for (index, golden) in cases.enumerated() {
                let problem = try DeformConvProblem(validating: try reader.header(of: golden.name).arguments)
                let inputs = try reader.inputs(of: golden.name, problem: problem, as: Float.self)
                let gy = try reader.gradientInput(of: golden.name, problem: problem, as: Float.self)
                var gradients = try XCTUnwrap(NaiveKernel().backward(problem, inputs, gy: gy))
                if index == 1 { gradients.gweight[0] += 1e-3 * max(abs(gradients.gweight[0]), 1) }
                computed.append((golden.name, problem, NaiveKernel().run(problem, inputs), index < 2 ? gradients : nil))
            }
        }
        do {
            let file = try File.open(golden, mode: .readWrite)
            for (name, problem, y, gradients) in computed {
                let group = try file.root.openGroup("cases").openGroup(name)
                try group.write("y_framework", shape: problem.outputShape, values: y)
                guard let gradients else { continue }
                try group.write("gx_framework", shape: problem.xShape, values: gradients.gx)
                try group.write("gweight_framework", shape: problem.weightShape, values: gradients.gweight)
                try group.write("goffsets_framework", shape: problem.offsetsShape, values: gradients.goffsets)
                if let gbias = gradients.gbias { try group.write("gbias_framework", shape: [problem.outputChannels], values: gbias) }
            }
            file.close()
        }
        let report = Verifier(sources: [FrameworkOutputsSource()]).run(files: [golden])
        let results = try cases.map { golden in try XCTUnwrap(report.results.first { $0.caseName == golden.name }) }
        XCTAssertEqual(results[0].status, .pass, results[0].message ?? "")
        XCTAssertEqual(results[0].backward?.status, .pass)
        XCTAssertEqual(results[0].backward?.tensors.last?.tensor, "gbias", "the bias case reads gbias_framework")
        XCTAssertEqual(results[1].backward?.status, .fail)
        XCTAssertEqual(results[1].backward?.tensors.filter { !$0.passed }.map(\.tensor), ["gweight"])
        XCTAssertEqual(results[2].status, .pass, "the forward is checked")
        XCTAssertEqual(results[2].backward?.status, .notImplemented, "no g*_framework datasets in this case")
    }

    /// A golden file's `framework_backward_error` (make_framework_golden.py's record of a backward
    /// call that gave no gradients): the expected class passes a backward-only error case, another
    /// class or "accepted" fails it; on a valid case a raise fails the backward naming the class, and
    /// "not run" fails it as nothing recorded. Without the attribute or g*_framework: not implemented.
    func testFrameworkBackwardErrorAttribute() throws {
        let folder = try temporaryFolder(self)
        let (valid, broken) = try validAndGradShapeCases()
        let golden = try writeGolden([valid, broken], to: folder)
        func verdicts(valid validText: String?, broken brokenText: String?) throws -> (CaseResult, CaseResult) {
            let file = try File.open(golden, mode: .readWrite)
            for (name, text) in [(valid.name, validText), (broken.name, brokenText)] {
                let group = try file.root.openGroup("cases").openGroup(name)
                if let text { try group.setAttribute("framework_backward_error", string: text) }
            }
            file.close()
            let report = Verifier(sources: [FrameworkOutputsSource()], passes: [.backward]).run(files: [golden])
            return (try XCTUnwrap(report.results.first { $0.caseName == valid.name }),
                    try XCTUnwrap(report.results.first { $0.caseName == broken.name }))
        }
        var (ok, error) = try verdicts(valid: nil, broken: nil)
        XCTAssertEqual(ok.backward?.status, .notImplemented)
        XCTAssertEqual(error.backward?.status, .notImplemented)

        (ok, error) = try verdicts(valid: "RuntimeError: kernel not registered", broken: "ValueError: The shape should be (1, 2, 3, 3)")
        XCTAssertEqual(ok.backward?.status, .fail)
        XCTAssertEqual(ok.backward?.errorClass, "RuntimeError")
        XCTAssertTrue(ok.backward?.message?.contains("raised RuntimeError: kernel not registered in the backward pass") == true, ok.backward?.message ?? "")
        XCTAssertEqual(error.backward?.status, .pass, error.backward?.message ?? "")
        XCTAssertEqual(error.status, .pass)

        (ok, error) = try verdicts(valid: "not run: no float16 kernel", broken: "RuntimeError: Mismatch in shape")
        XCTAssertEqual(ok.backward?.status, .fail)
        XCTAssertTrue(ok.backward?.message?.contains("no gradients recorded for this case (not run: no float16 kernel)") == true, ok.backward?.message ?? "")
        XCTAssertEqual(error.backward?.status, .fail)
        XCTAssertTrue(error.backward?.message?.contains("raised RuntimeError: Mismatch in shape") == true, error.backward?.message ?? "")

        (ok, error) = try verdicts(valid: "accepted", broken: "accepted")
        XCTAssertEqual(ok.backward?.status, .fail, "accepted without gradients on a valid case is nothing to score")
        XCTAssertEqual(error.backward?.status, .fail)
        XCTAssertTrue(error.backward?.message?.contains("accepted the backward call") == true, error.backward?.message ?? "")
    }
}

/// naive, except that its float16 backward is missing (returns nil) although it declares a backward pass.
private struct Float32OnlyBackward: DeformConvKernel, Float32Units {
    let name = "float32-only-backward"
    let summary = "naive; no float16 backward"
    var passes: Set<KernelPass> { [.forward, .backward] }

    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>) -> [Float] { NaiveKernel().run(problem, inputs) }
    func run(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>) -> [Float16] { NaiveKernel().run(problem, inputs) }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float>, gy: [Float]) -> DeformConvGradients<Float>? {
        NaiveKernel().backward(problem, inputs, gy: gy)
    }

    func backward(_ problem: DeformConvProblem, _ inputs: DeformConvInputs<Float16>, gy: [Float16]) -> DeformConvGradients<Float16>? { nil }
}
