import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// One side of a comparison: at most one verify report, and one or more bench reports of the
/// same build, read as one: the best of them (see `BenchReport.best(of:)`).
public struct CompareSide: Sendable {
    public var verify: VerifyReport?
    public var verifyPath: String?
    public var benchRuns: [BenchReport] = []
    public var benchPaths: [String] = []

    public init(verify: VerifyReport? = nil, verifyPath: String? = nil, bench: BenchReport? = nil, benchPath: String? = nil) {
        self.verify = verify
        self.verifyPath = verifyPath
        if let bench {
            benchRuns = [bench]
            benchPaths = [benchPath ?? "bench"]
        }
    }

    /// The bench reports as one: the only one, or the best of several runs.
    public var bench: BenchReport? { benchRuns.count > 1 ? BenchReport.best(of: benchRuns, sources: benchPaths) : benchRuns.first }

    /// The JSON file names a folder stands for: what `dcn verify` and `dcn bench` write to their report folder.
    public static let folderFiles = ["accuracy.json", "performance.json"]

    /// Reads files and folders (a folder: its accuracy.json and performance.json, whichever exist),
    /// telling verify from bench reports by their content.
    public static func load(_ paths: [String]) throws(CompareError) -> CompareSide {
        var side = CompareSide()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CompareError("\(path): no such file or folder")
            }
            let files = isDirectory.boolValue
                ? folderFiles.map { (path as NSString).appendingPathComponent($0) }.filter { FileManager.default.fileExists(atPath: $0) }
                : [path]
            if files.isEmpty { throw CompareError("\(path): a folder without \(folderFiles.joined(separator: " or "))") }
            for file in files { try side.add(file) }
        }
        return side
    }

    /// Adds one report file to this side.
    public mutating func add(_ path: String) throws(CompareError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CompareError("\(path): cannot read: \(error.localizedDescription)")
        }
        switch try Self.kind(of: data, path: path) {
        case .verify:
            if let verifyPath { throw CompareError("two verify reports on one side: \(verifyPath) and \(path)") }
            do {
                verify = try ReportJSON.decode(VerifyReport.self, from: data)
            } catch {
                throw CompareError("\(path): not a readable verify report: \(error)")
            }
            verifyPath = path
        case .bench:
            do {
                benchRuns.append(try ReportJSON.decode(BenchReport.self, from: data))
            } catch {
                throw CompareError("\(path): not a readable bench report: \(error)")
            }
            benchPaths.append(path)
        }
    }

    public enum Kind: String, Sendable { case verify, bench }

    /// A bench report has a `machine`; a verify report a `summary` and `results` with cases.
    public static func kind(of data: Data, path: String) throws(CompareError) -> Kind {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CompareError("\(path): not a JSON object")
        }
        if object["machine"] != nil && object["results"] != nil { return .bench }
        if object["summary"] != nil && object["results"] != nil { return .verify }
        throw CompareError("\(path): neither a verify report (summary, results) nor a bench report (machine, results)")
    }

    public var files: [String] { [verifyPath].compactMap { $0 } + benchPaths }
}
