import ArgumentParser
import Conformance
import Foundation

/// The files one command writes as its report, written together the same way by every command:
/// the report folders are made when missing, and any failure is bad usage (exit 2) naming the cause.
struct ReportFiles {
    private var folders: [String] = []
    private var files: [(path: String, contents: Data)] = []

    /// A file the user named (--json, --junit): written where it says, its folder not made.
    mutating func add(_ contents: Data, at path: String) {
        files.append((path, contents))
    }

    /// A file of a report folder (--report-dir), which is made when missing.
    mutating func add(_ contents: Data, named name: String, in folder: String) {
        if !folders.contains(folder) { folders.append(folder) }
        files.append(("\(folder)/\(name)", contents))
    }

    /// What `verify` and `merge-reports` write of a verify report: accuracy.md and accuracy.json
    /// in `folder`, JSON at `json` and JUnit XML at `junit`, each when given.
    mutating func add(_ report: VerifyReport, command: String, folder: String?, json: String?, junit: String?) throws {
        let data = try Self.json(report)
        if let folder {
            add(Data(AccuracyReport.markdown(report, command: command).utf8), named: "accuracy.md", in: folder)
            add(data, named: "accuracy.json", in: folder)
        }
        if let json { add(data, at: json) }
        if let junit { add(Data(AccuracyReport.junit(report).utf8), at: junit) }
    }

    func write() throws {
        do {
            for folder in folders { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            for file in files { try file.contents.write(to: URL(fileURLWithPath: file.path)) }
        } catch {
            throw Self.failure(error)
        }
    }

    /// `value` as report JSON; a value JSON cannot hold (a NaN) is a report that cannot be written.
    static func json(_ value: some Encodable) throws -> Data {
        do { return try ReportJSON.encode(value) } catch { throw failure(error) }
    }

    private static func failure(_ error: any Error) -> ExitCode {
        Terminal.usageFailure("cannot write the report: \(error.localizedDescription)")
    }
}
