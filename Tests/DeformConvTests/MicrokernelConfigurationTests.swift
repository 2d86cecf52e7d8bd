@testable import DeformConv
import Foundation
import XCTest

/// Runs one entry of `MicrokernelConfiguration.table` through the macro-kernel with that
/// entry forced, after XNNPACK's GemmMicrokernelTester: every entry goes through the same
/// checks, with tile widths and output channel counts derived from its own tile, so that
/// an entry added to the table is tested without a line here.
struct MicrokernelTester {
    let configuration: MicrokernelConfiguration

    /// One block of the microkernel, three blocks, and the standard 128 pixels rounded up to
    /// whole blocks: tiles narrower and wider than the test images, so with tails of padding pixels.
    var tileWidths: [Int] {
        let w = configuration.columns
        return [w, 3 * w, (128 + w - 1) / w * w]
    }

    /// One channel per reduction block (the most blocks), a block that is not a whole number
    /// of 3×3 channels' rows (so 2 channels of 9), and the standard 288 rows.
    static let reductionRows = [1, 20, 288]

    /// Output channel counts that leave rows of the last sliver past Co: 2·mr + 1 channels in
    /// one group, mr + 1 per group in two groups, one channel; each on a plane of 7×7 = 49 pixels,
    /// which no tile width divides.
    var descriptorsWithRowsPastTheOutputChannels: [String] {
        let mr = configuration.rows
        return ["ic5ih7oc\(2 * mr + 1)kh3ph1pw1", "ic8ih7oc\(2 * (mr + 1))kh3ph1pw1g2dg4", "ic3ih7oc1kh3ph1pw1"]
    }

    /// Output channel counts that the macro-kernel shares out in balanced slivers where the entry
    /// has kernels for short slivers (14×32: 14 + 13, 13 + 12 per group in two groups, 14 + 13 + 13),
    /// and in mr-row slivers with a short last one elsewhere.
    var descriptorsWithBalancedSlivers: [String] {
        let mr = configuration.rows
        return ["ic5ih7oc\(2 * mr - 1)kh3ph1pw1", "ic8ih7oc\(2 * (2 * mr - 3))kh3ph1pw1g2dg4", "ic4ih7oc\(3 * mr - 2)kh3ph1pw1"]
    }

    func tiling(pixels: Int, reductionRows: Int) -> Tiling {
        Tiling(pixelsPerTile: pixels, backwardPixelsPerTile: pixels, reductionRows: reductionRows, microkernel: configuration)
    }

    /// Random inputs as the entry's kernel receives them: `FP16AccKernel` rounds x, weight,
    /// bias and masks to Float16 before the macro-kernel, so for `.float16` they are rounded here.
    /// x spans several binades, so that roundings of every kind happen, tiny accumulators included.
    func inputs(_ p: DeformConvProblem, _ rng: inout TestRNG) -> DeformConvInputs<Float> {
        var inputs = TiledKernelTests.randomInputs(p, &rng)
        inputs.x = inputs.x.map { $0 * Float(rng.int(1, 300)) }
        guard configuration.accumulation == .float16 else { return inputs }
        let half = { (value: Float) in Float(Float16(value)) }
        let plane = p.outputHeight * p.outputWidth
        inputs.x = inputs.x.map(half)
        inputs.weight = inputs.weight.map(half)
        inputs.bias = inputs.bias?.map(half)
        for index in inputs.offsets.indices where index / plane % (3 * p.offsetTaps) >= 2 * p.offsetTaps {
            inputs.offsets[index] = half(inputs.offsets[index])
        }
        return inputs
    }

    func run(_ p: DeformConvProblem, _ inputs: DeformConvInputs<Float>, _ tiling: Tiling, threads: Int) -> [Float] {
        TiledConvolution(p, tiling: tiling, accumulation: configuration.accumulation).run(inputs, threads: threads)
    }

    /// Bit identity with `ScalarModel` of the entry's accumulation for every tile width and
    /// reduction block, on one thread.
    func testMatchesTheScalarModel(_ descriptors: [String], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = TestRNG(seed: seed)
        for descriptor in descriptors {
            let problem = try TiledKernelTests.problem(descriptor, bias: rng.next() % 2 == 0)
            let inputs = inputs(problem, &rng)
            let expected = ScalarModel.output(problem, inputs, accumulation: configuration.accumulation).map(\.bitPattern)
            for pixels in tileWidths {
                for rows in Self.reductionRows {
                    let y = run(problem, inputs, tiling(pixels: pixels, reductionRows: rows), threads: 1)
                    XCTAssertEqual(y.map(\.bitPattern), expected, "\(configuration) \(descriptor), tile \(pixels), rows \(rows)",
                                   file: file, line: line)
                }
            }
        }
    }

    /// Offsets of up to ±40 in the first half of a 64×64 plane spread those tiles' corners over more than
    /// a window holds (the whole image is 4096 positions of 32 channels), so the macro-kernel samples them
    /// in place, and the tiles of the second half from windows: the scalar model's bits either way.
    func testWindowsThatDoNotFitMatchTheScalarModel(seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        let problem = try TiledKernelTests.problem("ic32ih64oc8kh3ph1pw1", bias: true)
        XCTAssertGreaterThan(64 * 64 * 32, ChannelsLastConvolution.windowCapacity, "the image must not fit a window", file: file, line: line)
        var rng = TestRNG(seed: seed)
        var inputs = inputs(problem, &rng)
        let plane = problem.outputHeight * problem.outputWidth
        for i in 0..<(2 * problem.offsetTaps * plane) where i % plane < plane / 2 { inputs.offsets[i] = rng.uniform(-40, 40) }
        let expected = ScalarModel.output(problem, inputs, accumulation: configuration.accumulation).map(\.bitPattern)
        for pixels in tileWidths {
            let y = run(problem, inputs, tiling(pixels: pixels, reductionRows: 288), threads: 1)
            XCTAssertEqual(y.map(\.bitPattern), expected, "\(configuration), tile \(pixels)", file: file, line: line)
        }
    }

    /// The same bits on 2, 3 and 8 threads as on one, for every tile width.
    func testAnyThreadCountGivesTheSameBits(_ descriptors: [String], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = TestRNG(seed: seed)
        for descriptor in descriptors {
            let problem = try TiledKernelTests.problem(descriptor, bias: true)
            let inputs = inputs(problem, &rng)
            for pixels in tileWidths {
                let tiling = tiling(pixels: pixels, reductionRows: 20)
                let single = run(problem, inputs, tiling, threads: 1).map(\.bitPattern)
                for threads in [2, 3, 8] {
                    XCTAssertEqual(run(problem, inputs, tiling, threads: threads).map(\.bitPattern), single,
                                   "\(configuration) \(descriptor), tile \(pixels), \(threads) threads", file: file, line: line)
                }
            }
        }
    }
}

/// Every entry of the microkernel table that this CPU can run, through `MicrokernelTester`;
/// the entries it cannot run are printed and not counted, and the test fails unless every
/// entry the CPU supports (by /proc/cpuinfo, read here independently of `CPUFeatures`) ran.
final class MicrokernelConfigurationTests: XCTestCase {
    /// Multi-image, multi-sliver and multi-block cases on top of TiledKernelTests' edge geometries.
    static let descriptors = TiledKernelTests.descriptors + ["ic64ih9oc40kh3ph1pw1g2dg4", "mb2ic16ih20oc12kh3ph1pw1dg2"]

    func testEveryConfigurationMatchesTheScalarModel() throws {
        try forEachRunnableConfiguration { tester in
            try tester.testMatchesTheScalarModel(Self.descriptors, seed: 41)
        }
    }

    func testEveryConfigurationHandlesRowsPastTheOutputChannels() throws {
        try forEachRunnableConfiguration { tester in
            try tester.testMatchesTheScalarModel(tester.descriptorsWithRowsPastTheOutputChannels, seed: 7)
        }
    }

    func testEveryConfigurationSamplesTilesWiderThanAWindowInPlace() throws {
        try forEachRunnableConfiguration { tester in
            try tester.testWindowsThatDoNotFitMatchTheScalarModel(seed: 13)
        }
    }

    func testEveryConfigurationHandlesBalancedSlivers() throws {
        try forEachRunnableConfiguration { tester in
            try tester.testMatchesTheScalarModel(tester.descriptorsWithBalancedSlivers, seed: 9)
            try tester.testAnyThreadCountGivesTheSameBits(tester.descriptorsWithBalancedSlivers, seed: 11)
        }
    }

    func testEveryConfigurationGivesTheSameBitsOnAnyThreadCount() throws {
        try forEachRunnableConfiguration { tester in
            try tester.testAnyThreadCountGivesTheSameBits(tester.descriptorsWithRowsPastTheOutputChannels + ["mb2ic16ih20oc12kh3ph1pw1dg2"],
                                                          seed: 5)
        }
    }

    /// The backward's entries (Float32, A read in place or column-major) give the same bits for every
    /// gradient on tiles both fit, so the 6×16 AVX2 path a CPU without AVX-512F takes is the one
    /// the gate checked; on shapes with short and balanced slivers, edge column blocks of gweight
    /// and several chunks per thread. Fails unless at least two entries ran where the CPU has AVX-512F.
    func testBackwardEntriesGiveTheSameBits() throws {
        let entries = MicrokernelConfiguration.table.filter {
            $0.weightLayout == .inPlace && $0.accumulation == .float32 && $0.instructionSet.isAvailable()
        }
        XCTAssertEqual(entries.count, Self.cpuReportsAVX512F ? 2 : 1, "\(entries)")
        var rng = TestRNG(seed: 31)
        let shapes = [
            TestShape(n: 2, c: 24, h: 9, w: 11, co: 27, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, dg: 2, bias: true),
            TestShape(c: 40, h: 12, w: 12, co: 20, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, groups: 2, dg: 1),
            TestShape(c: 160, h: 6, w: 7, co: 13, kh: 3, kw: 3, pt: 1, pb: 1, pl: 1, pr: 1, bias: true),
        ]
        for s in shapes {
            let data = backwardData(s, &rng, offsets: .mixed(range: 3))
            let gy = backwardGy(s, &rng).map { Float($0) }
            let p = try s.problem()
            let results = entries.map { entry in
                TiledBackward(p, tiling: Tiling(pixelsPerTile: 64, backwardPixelsPerTile: 64, reductionRows: 256, microkernel: entry)).run(data.float, gy: gy, threads: 2)
            }
            // Counts of elements whose bits differ, so that a failure names how many and not all values.
            func differing(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }
            for (entry, got) in zip(entries, results).dropFirst() {
                let label = "\(entry) against \(entries[0]), \(s)"
                XCTAssertEqual(differing(got.gx, results[0].gx), 0, "gx: \(label)")
                XCTAssertEqual(differing(got.gweight, results[0].gweight), 0, "gweight: \(label)")
                XCTAssertEqual(differing(got.goffsets, results[0].goffsets), 0, "goffsets: \(label)")
            }
        }
    }

    /// The first entry that fits: the AVX-512 ones on whole 32-pixel blocks when the CPU has
    /// AVX-512F, otherwise 6×16 AVX2; and every tile width `Tiling` accepts finds an entry of each
    /// accumulation on a CPU without AVX-512F.
    func testSelectionTakesTheFirstEntryThatFits() {
        let expectations: [(Accumulation, pixels: Int, hasAVX512F: Bool, name: String)] = [
            (.float32, 128, true, "14x32-avx512"), (.float16, 128, true, "12x32-f16acc-avx512"),
            (.float32, 48, true, "6x16-inplace-avx2"), (.float16, 16, true, "6x16-f16acc-avx2"),
            (.float32, 128, false, "6x16-inplace-avx2"), (.float16, 128, false, "6x16-f16acc-avx2"),
        ]
        for (accumulation, pixels, hasAVX512F, name) in expectations {
            let selected = MicrokernelConfiguration.selected(for: accumulation, pixelsPerTile: pixels, hasAVX512F: hasAVX512F)
            XCTAssertEqual(selected.name, name, "\(accumulation), tile \(pixels), AVX-512F \(hasAVX512F)")
        }
        for pixels in stride(from: MicrokernelConfiguration.pixelGranularity, through: 512, by: MicrokernelConfiguration.pixelGranularity) {
            for accumulation in [Accumulation.float32, .float16] {
                XCTAssertTrue(MicrokernelConfiguration.table.contains { $0.fits(accumulation, pixelsPerTile: pixels, hasAVX512F: false) },
                              "no AVX2 entry for \(accumulation), tile \(pixels)")
            }
        }
    }

    /// Without `accumulating`, each Float32 in-place entry gives C = A·B in the bits of C += A·B on a C
    /// of +0, whatever C held (NaN here), for every live row count, row-pointer and column-major A.
    func testNonAccumulatingCallsIgnoreC() {
        let entries = MicrokernelConfiguration.table.filter {
            $0.weightLayout == .inPlace && $0.accumulation == .float32 && $0.instructionSet.isAvailable()
        }
        XCTAssertEqual(entries.count, Self.cpuReportsAVX512F ? 2 : 1, "\(entries)")
        var rng = TestRNG(seed: 17)
        for entry in entries {
            let (k, mr, nr) = (37, entry.rows, entry.columns)
            let a = (0..<(k * mr)).map { _ in Float(rng.int(-999, 999)) / 97 }
            let b = (0..<(k * nr)).map { _ in Float(rng.int(-999, 999)) / 89 }
            for live in 1...mr {
                for columnMajor in [false, true] {
                    // Row-pointer A: row i at i·k; column-major A: step i at i·mr.
                    let lda = columnMajor ? mr : k
                    func product(_ start: Float, accumulating: Bool) -> [UInt32] {
                        var c = [Float](repeating: start, count: mr * nr)
                        c.withUnsafeMutableBufferPointer { cp in
                            entry.multiply(k, a, lda, live, b, cp.baseAddress!, nr, columnMajor: columnMajor, accumulating: accumulating)
                        }
                        return c.prefix(live * nr).map(\.bitPattern)
                    }
                    XCTAssertEqual(product(.nan, accumulating: false), product(0, accumulating: true),
                                   "\(entry), \(live) live rows, column-major \(columnMajor)")
                }
            }
        }
    }

    func testNamesAreUnique() {
        let names = MicrokernelConfiguration.table.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "\(names)")
    }

    // MARK: helpers

    /// Runs `body` for each entry this CPU can run; prints the others; fails unless every entry
    /// of an instruction set the CPU reports ran, and at least one per accumulation.
    private func forEachRunnableConfiguration(_ body: (MicrokernelTester) throws -> Void,
                                              file: StaticString = #filePath, line: UInt = #line) throws {
        var ran: [MicrokernelConfiguration] = []
        for configuration in MicrokernelConfiguration.table {
            guard configuration.instructionSet.isAvailable() else {
                print("\(name): not run: \(configuration) needs \(configuration.instructionSet.rawValue), which this CPU lacks")
                continue
            }
            try body(MicrokernelTester(configuration: configuration))
            ran.append(configuration)
        }
        print("\(name): ran \(ran.map(\.name).joined(separator: ", "))")
        let supported: Set<InstructionSet> = Self.cpuReportsAVX512F ? [.avx2, .avx512] : [.avx2]
        for configuration in MicrokernelConfiguration.table where supported.contains(configuration.instructionSet) {
            XCTAssertTrue(ran.contains(configuration), "\(configuration) did not run on a CPU with \(configuration.instructionSet.rawValue)",
                          file: file, line: line)
        }
        for accumulation in [Accumulation.float32, .float16] {
            XCTAssertTrue(ran.contains { $0.accumulation == accumulation }, "no \(accumulation) entry ran", file: file, line: line)
        }
    }

    /// Whether /proc/cpuinfo lists avx512f (false where there is no such file).
    static let cpuReportsAVX512F: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("avx512f") }
    }()
}
