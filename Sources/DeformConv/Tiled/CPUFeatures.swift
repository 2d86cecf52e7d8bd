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

/// The instruction set a microkernel is compiled for.
enum InstructionSet: String, Hashable, Sendable {
    /// AVX2, FMA and F16C: DeformConv's own baseline (Haswell), so always available.
    case avx2
    /// AVX-512F: only the DeformConvAVX512 module is compiled for it, and only after this run-time check may it run.
    case avx512

    /// Whether a CPU with (or without) AVX-512F can run it.
    func isAvailable(hasAVX512F: Bool = CPUFeatures.hasAVX512F) -> Bool {
        self == .avx2 || hasAVX512F
    }
}
