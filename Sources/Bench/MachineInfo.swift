import DeformConv
import Dispatch
import Foundation
import Evaluation
import Formats
import Scoring
import Suites

/// What a benchmark ran on: the CPU, its cores, and the floating-point peak
/// measured at the start of the run, against which kernels are compared.
///
/// Peers' JSON files carry the same object with the peaks left out.
public struct MachineInfo: Codable, Sendable, Equatable {
    /// The CPU model as /proc/cpuinfo names it ("unknown" elsewhere).
    public var cpu: String
    /// Logical processors available to the process.
    public var cores: Int
    /// Threads the benchmark used for multithreaded kernels and peers.
    public var threads: Int
    public var os: String?
    public var memoryBytes: Int?
    /// GFLOP/s of the FMA loop on one thread.
    public var peakGflopsOneThread: Double?
    /// GFLOP/s of the FMA loop on `threads` threads at once.
    public var peakGflopsAllThreads: Double?
    /// How the peak was measured.
    public var peakMethod: String?
    /// How a kernel's peak extra memory was measured.
    public var memoryMethod: String?
    /// What ran the benchmark, e.g. "dcn 0.1.0" or "python 3.11.7".
    public var runtime: String?
    /// The vector extensions of note the CPU reports (avx2, fma, f16c, avx512f).
    public var vectorExtensions: [String]?
    /// The one-minute load average when the description was taken: other work competing for the cores.
    public var loadAverage: Double?

    public init(cpu: String, cores: Int, threads: Int, os: String? = nil, memoryBytes: Int? = nil,
                peakGflopsOneThread: Double? = nil, peakGflopsAllThreads: Double? = nil,
                peakMethod: String? = nil, memoryMethod: String? = nil, runtime: String? = nil, vectorExtensions: [String]? = nil,
                loadAverage: Double? = nil) {
        self.cpu = cpu
        self.cores = cores
        self.threads = threads
        self.os = os
        self.memoryBytes = memoryBytes
        self.peakGflopsOneThread = peakGflopsOneThread
        self.peakGflopsAllThreads = peakGflopsAllThreads
        self.peakMethod = peakMethod
        self.memoryMethod = memoryMethod
        self.runtime = runtime
        self.vectorExtensions = vectorExtensions
        self.loadAverage = loadAverage
    }

    /// This machine, without the peaks (see `measuringPeak(seconds:)`).
    public static func current(threads: Int, runtime: String? = nil) -> MachineInfo {
        let info = ProcessInfo.processInfo
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        return MachineInfo(cpu: cpuinfo.flatMap { field("model name", in: $0) } ?? "unknown", cores: info.activeProcessorCount, threads: threads,
                           os: info.operatingSystemVersionString, memoryBytes: Int(clamping: info.physicalMemory),
                           memoryMethod: MemoryProbe.isAvailable ? MemoryProbe.method : "unavailable on this system",
                           runtime: runtime,
                           vectorExtensions: cpuinfo.flatMap { field("flags", in: $0) }.map { flags in
                               let present = Set(flags.split(separator: " ").map(String.init))
                               return ["avx2", "fma", "f16c", "avx512f"].filter(present.contains)
                           },
                           loadAverage: (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
                               .flatMap { $0.split(separator: " ").first.flatMap { Double($0) } })
    }

    /// The same description with the FMA peak on one thread and on `threads` threads filled in.
    ///
    /// Each figure is the best of a few repetitions of about `seconds` each: the
    /// best, not the median, because the peak is a ceiling and any slower round
    /// was disturbed by something else on the machine.
    public func measuringPeak(seconds: Double = 0.1, repetitions: Int = 3) -> MachineInfo {
        var copy = self
        let iterations = Self.calibrate(seconds: seconds)
        copy.peakGflopsOneThread = Self.bestRate(threads: 1, iterations: iterations, repetitions: repetitions)
        copy.peakGflopsAllThreads = threads == 1 ? copy.peakGflopsOneThread
            : Self.bestRate(threads: threads, iterations: iterations, repetitions: repetitions)
        copy.peakMethod = "best of \(repetitions) rounds of \(iterations) iterations of 12 independent SIMD\(MachinePeak.vectorBits / 32)<Float> FMAs "
            + "(vfmadd…ps on \(MachinePeak.vectorBits == 512 ? "zmm" : "ymm"), \(MachinePeak.flopsPerIteration) flop per iteration) per thread, on 1 and on \(threads) threads, "
            + "over each thread's CPU time"
        return copy
    }

    /// This description with the higher of its own and `other`'s peaks, e.g. measured again at
    /// the end of a run: on a shared machine a disturbed measurement can only be too low.
    public func keepingBestPeak(of other: MachineInfo) -> MachineInfo {
        var copy = self
        copy.peakGflopsOneThread = [peakGflopsOneThread, other.peakGflopsOneThread].compactMap { $0 }.max()
        copy.peakGflopsAllThreads = [peakGflopsAllThreads, other.peakGflopsAllThreads].compactMap { $0 }.max()
        if let method = peakMethod { copy.peakMethod = method + "; the higher of a measurement at the start and one at the end" }
        return copy
    }

    /// Whether the CPU has AVX-512 (dcn's tiled kernels then use their 512-bit microkernel).
    public var hasAVX512: Bool { vectorExtensions?.contains("avx512f") == true }

    /// The peak that bounds a kernel running on `kernelThreads` threads, if measured.
    public func peakGflops(threads kernelThreads: Int) -> Double? {
        if kernelThreads <= 1 { return peakGflopsOneThread }
        if kernelThreads == threads, let all = peakGflopsAllThreads { return all }
        // Another thread count than measured: scale the one-thread figure, no further than the cores go.
        return peakGflopsOneThread.map { $0 * Double(min(kernelThreads, cores)) }
    }

    /// Iterations of the FMA loop that take about `seconds` on one thread.
    private static func calibrate(seconds: Double) -> Int {
        var iterations = 1 << 16
        while true {
            let elapsed = time { _ = MachinePeak.fmaLoop(iterations: iterations, seed: 1) }
            if elapsed >= seconds / 4 || iterations >= 1 << 34 {
                return max(1, Int(Double(iterations) * seconds / max(elapsed, 1e-9)))
            }
            iterations *= 4
        }
    }

    /// GFLOP/s of `threads` threads running the FMA loop at once: the sum over threads of each
    /// thread's flops over its own CPU time, so that time slices other processes take on a shared
    /// machine do not count, while sharing a core or a lower all-core clock still does.
    private static func bestRate(threads: Int, iterations: Int, repetitions: Int) -> Double {
        let flops = Double(iterations) * Double(MachinePeak.flopsPerIteration)
        var best = 0.0
        for _ in 0..<repetitions {
            let cpuSeconds = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
            defer { cpuSeconds.deallocate() }
            nonisolated(unsafe) let slots = cpuSeconds
            DispatchQueue.concurrentPerform(iterations: threads) { index in
                let start = threadCPUTime()
                _ = MachinePeak.fmaLoop(iterations: iterations, seed: Float(index))
                // Each thread writes its own slot only.
                slots[index] = threadCPUTime() - start
            }
            let rate = cpuSeconds.reduce(0) { $0 + flops / max($1, 1e-9) } / 1e9
            best = max(best, rate)
        }
        return best
    }

    private static func threadCPUTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// The value of the first `name : value` line of /proc/cpuinfo.
    private static func field(_ name: String, in cpuinfo: String) -> String? {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix(name) {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
