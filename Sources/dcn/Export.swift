import ArgumentParser
import Conformance
import Foundation

/// `dcn export GOLDEN --layout torchvision|onnx --out FILE`: a golden file's inputs in another
/// harness's layout.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a golden file's inputs in torchvision's or ONNX DeformConv's layout.",
        discussion: """
        Offsets become offset (N, 2K, Ho, Wo), (dy, dx) per tap, and mask (N, K, Ho, Wo); the
        parameters are the layout's (torchvision: stride, padding (ph, pw), dilation; ONNX: kernel_shape,
        strides, pads (top, left, bottom, right), dilations, group, offset_group). Cases the layout cannot
        express (error cases; asymmetric padding for torchvision) are listed, not silently dropped.
        Outputs computed on the export are scored with `dcn verify GOLDEN --outputs OUT.h5`: y is NCHW in
        every layout, and an outputs file with root attribute layout = torchvision or onnx gives goffsets
        as the layout's offset gradient followed by its mask gradient (N, 3K, Ho, Wo).
        """)

    enum Layout: String, CaseIterable, ExpressibleByArgument {
        case torchvision, onnx
        var layout: OffsetsLayout { self == .torchvision ? .torchvision : .onnx }
    }

    @Argument(help: "The golden file to export.")
    var golden: String

    @Option(help: "The target layout.")
    var layout: Layout

    @Option(help: "The file to write (replaced if it exists).")
    var out: String

    func run() throws {
        let summary: ExportSummary
        do {
            summary = try ReplacingFile(path: out).write { path in
                try LayoutExporter.export(golden: golden, layout: layout.layout, to: path,
                                          generator: "dcn \(Dcn.version) export --layout \(layout.rawValue)")
            }
        } catch {
            throw Terminal.usageFailure("\(error)")
        }
        print("wrote \(out): \(summary.exported.count) cases in the \(layout.rawValue) layout; \(summary.notExpressible.count) cases cannot be expressed there\(summary.notExpressible.isEmpty ? "" : ":")")
        for (name, reason) in summary.notExpressible {
            print("  \(name): \(reason)")
        }
    }
}
