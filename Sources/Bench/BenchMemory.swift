import Foundation
#if canImport(Glibc)
import Glibc
import Evaluation
import Formats
import Scoring
import Suites
#endif

/// Measures the peak memory a piece of code adds to the process, from the
/// kernel's own accounting of resident pages (Linux only).
///
/// Before the body runs, free heap memory is handed back to the system
/// (glibc's `malloc_trim`) so that the body's allocations must fault in fresh
/// pages instead of silently reusing pages an earlier run left resident, and
/// the peak-RSS counter is reset (`5` written to /proc/self/clear_refs). The
/// figure is then VmHWM after the body minus VmRSS before it: every page the
/// body touched at once, the output array and thread stacks included.
/// Page-granular (4 KiB), and pages of memory that was allocated but never
/// written are not counted, which is what a machine actually pays for.
public enum MemoryProbe {
    public static let method = "VmHWM after the run minus VmRSS before it, peak reset by writing 5 to /proc/self/clear_refs "
        + "after malloc_trim(0) (Linux); includes the output array"

    /// Whether this system lets the process reset and read its peak resident size.
    public static var isAvailable: Bool {
        FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs") && status("VmHWM") != nil
    }

    /// Runs `body` and returns its result with the peak extra resident bytes, or nil where unmeasurable.
    public static func measure<T>(_ body: () -> T) -> (T, Int?) {
        trimHeap()
        guard let before = status("VmRSS"), resetPeak() else { return (body(), nil) }
        let result = body()
        guard let peak = status("VmHWM") else { return (result, nil) }
        return (result, max(0, peak - before))
    }

    /// A field of /proc/self/status such as VmRSS, in bytes.
    static func status(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = Int(parts[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    private static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// glibc's `malloc_trim(0)`, looked up at run time because Swift's Glibc module does not declare it.
    private static func trimHeap() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }
}
