import Foundation

/// Instruction-set extensions the tiled kernels choose between at run time.
enum CPUFeatures {
    /// AVX-512F, as Linux reports it in /proc/cpuinfo (it lists the flag only when the
    /// kernel saves the zmm state); false elsewhere or when the file cannot be read.
    static let hasAVX512F: Bool = {
        #if arch(x86_64) && os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        return flags.split(separator: " ").contains("avx512f")
        #else
        return false
        #endif
    }()
}
