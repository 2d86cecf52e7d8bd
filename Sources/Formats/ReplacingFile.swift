import Foundation

/// A file written through a temporary sibling that is renamed into place only when the writing
/// succeeded, so that a failed or interrupted command leaves no partial file (and the old file,
/// if any, stays as it was).
public struct ReplacingFile: Sendable {
    public let path: String
    /// In the same directory, so that the rename is atomic and never crosses file systems.
    public let temporaryPath: String

    public init(path: String) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)").path
    }

    /// Runs `body` on the temporary path, then renames it to `path`; on any error removes it and rethrows.
    public func write<R>(_ body: (String) throws -> R) throws -> R {
        do {
            let result = try body(temporaryPath)
            guard rename(temporaryPath, path) == 0 else {
                throw GoldenFileError(file: path, message: "cannot rename \(temporaryPath) to it: \(String(cString: strerror(errno)))")
            }
            return result
        } catch {
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw error
        }
    }
}
