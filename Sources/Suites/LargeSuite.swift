import DeformConv

/// `dcn generate --suite large`: cases whose tensors pass 2³¹ bytes, where an implementation that
/// indexes with int32 byte offsets (or int32 element offsets times the element size) reads the wrong
/// memory. The outputs are tiny (a large stride or a 1×1 kernel), so the float64 reference costs
/// nothing next to drawing and writing x. Never committed: each case's x is 2.15 GB.
public enum LargeSuite {
    public static let name = "large"

    public static let valid: [CaseRecipe] = [
        // 23200² float32 = 2,152,960,000 bytes; the last output row samples rows ≥ 23190, past byte 2³¹.
        CaseRecipe("large-image-bytes", "ic1ih23200oc2kh3sh2319", bias: true,
                   "one 23200×23200 image: sampled rows lie past byte 2^31 of x"),
        // 8·64·1025² float32 = 2,151,680,000 bytes: batch 7's last channels lie past byte 2³¹.
        CaseRecipe("large-batch-channels", "mb8ic64ih1025oc2kh1sh512", bias: true,
                   "batch × channels past byte 2^31 of x, 1×1 kernel"),
    ]

    /// The working-memory limit the large cases need (the default, 4 GiB, refuses them as too_large).
    public static let limits = ResourceLimits(maxWorkingBytes: 16 << 30)

    /// Peak memory of generating the largest case, in bytes: x widened to float64 and its float32
    /// copy for the file (measured: 6.05 GiB maximum resident for 6.0 GiB predicted, README).
    public static var peakBytes: Int {
        valid.compactMap { recipe -> Int? in
            guard let descriptor = try? ProblemDescriptor(parsing: recipe.descriptor),
                  let problem = try? DeformConvProblem(validating: descriptor.geometry.arguments(dtype: recipe.dtype, bias: recipe.bias), limits: limits)
            else { return nil }
            return 12 * problem.xCount
        }.max() ?? 0
    }

    /// Bytes of x over all cases: about the file's size (random data does not compress).
    public static var fileBytes: Int {
        valid.compactMap { recipe -> Int? in
            guard let descriptor = try? ProblemDescriptor(parsing: recipe.descriptor) else { return nil }
            let g = descriptor.geometry
            return 4 * g.batch * g.channels * g.height * g.width
        }.reduce(0, +)
    }
}

extension LargeSuite {
    /// Measured on the 2-core development machine, shared with other builds (README, "dcn generate --suite large").
    public static let timeEstimate = "about 6 minutes (measured: 336 s, 171 s of CPU, on a shared 2-core machine)"
}
