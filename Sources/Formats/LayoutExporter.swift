import DeformConv
import Foundation
import HDF5

/// What `LayoutExporter.export` wrote and what it could not express.
public struct ExportSummary: Sendable {
    public var exported: [String] = []
    /// Cases the layout cannot express, each with why: listed, never dropped silently.
    public var notExpressible: [(name: String, reason: String)] = []
}

/// Writes the inputs of a golden file's valid cases in another harness's layout
/// (`dcn export GOLDEN --layout torchvision|onnx`).
///
/// Root attributes: `format` = "dcn-export", `format_version` = 1, `layout`, `golden` (the source
/// file), `generator`. Each case is `/cases/<name>` with x, weight, optional bias and gy as stored
/// in the golden file, `offset` (N, 2K, Ho, Wo) as (dy, dx) per tap and `mask` (N, K, Ho, Wo),
/// `tags`, and the layout's parameters: torchvision `stride`, `padding` (ph, pw), `dilation`
/// (2 ints each) and `groups`, `offset_groups`; ONNX DeformConv's `kernel_shape`, `strides`,
/// `pads` (top, left, bottom, right), `dilations`, `group`, `offset_group`.
public enum LayoutExporter {
    public static let format = "dcn-export"

    public static func export(golden path: String, layout: OffsetsLayout, to out: String, generator: String) throws(GoldenFileError) -> ExportSummary {
        let (reader, names) = try GoldenFileReader.opening(path)
        var summary = ExportSummary()
        let file: File
        let cases: Group
        do throws(HDF5Error) {
            (file, cases) = try CaseFile.creating(out, format: format, version: 1) { root throws(HDF5Error) in
                try root.setAttribute("layout", string: layout.rawValue)
                try root.setAttribute("golden", string: path)
                try root.setAttribute("generator", string: generator)
            }
        } catch {
            throw GoldenFileError(error)
        }
        defer { file.close() }
        for name in names {
            let header = try reader.header(of: name)
            guard header.expect == .ok else {
                summary.notExpressible.append((name, "an error case (\(header.expect)): exports carry valid calls only"))
                continue
            }
            let problem: DeformConvProblem
            do throws(DeformConvError) { problem = try DeformConvProblem(validating: header.arguments) } catch {
                summary.notExpressible.append((name, "invalid call: \(error.message)"))
                continue
            }
            let g = problem.geometry
            if layout == .torchvision, g.padTop != g.padBottom || g.padLeft != g.padRight {
                summary.notExpressible.append((name, "padding (top, bottom, left, right) = (\(g.padTop), \(g.padBottom), \(g.padLeft), \(g.padRight)) is asymmetric: torchvision pads symmetrically"))
                continue
            }
            let inputs = try reader.inputs(of: name, problem: problem, as: Double.self)
            let gy = header.isBackward ? try reader.gradientInput(of: name, problem: problem, as: Double.self) : nil
            do throws(HDF5Error) {
                let group = try cases.createGroup(name)
                let half = problem.dtype == .float16
                func write(_ field: String, _ shape: [Int], _ values: [Double]) throws(HDF5Error) {
                    let compress = values.count >= 256
                    let (chunks, level) = (compress ? shape : nil, compress ? 6 : nil)
                    if half {
                        try group.write(field, shape: shape, values: values.map(Float16.init), chunks: chunks, gzipLevel: level)
                    } else {
                        try group.write(field, shape: shape, values: values.map(Float.init), chunks: chunks, gzipLevel: level)
                    }
                }
                try write("x", problem.xShape, inputs.x)
                try write("weight", problem.weightShape, inputs.weight)
                if let bias = inputs.bias { try write("bias", [problem.outputChannels], bias) }
                if let gy { try write("gy", problem.outputShape, gy) }
                let (taps, pixels) = (problem.offsetTaps, problem.outputHeight * problem.outputWidth)
                let permuted = layout.fromDcn(inputs.offsets, batch: problem.batch, taps: taps, pixels: pixels)
                var offset: [Double] = [], mask: [Double] = []
                for n in 0..<problem.batch {
                    let base = n * 3 * taps * pixels
                    offset += permuted[base..<(base + 2 * taps * pixels)]
                    mask += permuted[(base + 2 * taps * pixels)..<(base + 3 * taps * pixels)]
                }
                try write("offset", [problem.batch, 2 * taps, problem.outputHeight, problem.outputWidth], offset)
                try write("mask", [problem.batch, taps, problem.outputHeight, problem.outputWidth], mask)
                try group.setAttribute("tags", string: header.tags.joined(separator: ","))
                let ints = { (values: [Int]) in values.map { Int64($0) } }
                switch layout {
                case .torchvision:
                    try group.setAttribute("stride", ints([g.strideHeight, g.strideWidth]))
                    try group.setAttribute("padding", ints([g.padTop, g.padLeft]))
                    try group.setAttribute("dilation", ints([g.dilationHeight, g.dilationWidth]))
                    try group.setAttribute("groups", [Int64(g.groups)], scalar: true)
                    try group.setAttribute("offset_groups", [Int64(g.deformableGroups)], scalar: true)
                case .onnx, .dcn:
                    try group.setAttribute("kernel_shape", ints([g.kernelHeight, g.kernelWidth]))
                    try group.setAttribute("strides", ints([g.strideHeight, g.strideWidth]))
                    try group.setAttribute("pads", ints([g.padTop, g.padLeft, g.padBottom, g.padRight]))
                    try group.setAttribute("dilations", ints([g.dilationHeight, g.dilationWidth]))
                    try group.setAttribute("group", [Int64(g.groups)], scalar: true)
                    try group.setAttribute("offset_group", [Int64(g.deformableGroups)], scalar: true)
                }
            } catch {
                throw GoldenFileError(error, caseName: name)
            }
            summary.exported.append(name)
        }
        return summary
    }
}
