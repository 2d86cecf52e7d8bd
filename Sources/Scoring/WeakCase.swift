import DeformConv
import Formats

/// SPEC section 3's weak cases: a valid case where more than half the outputs equal their bias
/// exactly (every tap outside the image or masked to zero) tests little. The generator redraws
/// them, `verify` lists them.
public enum WeakCase {
    public static func isWeak(_ y: [Double], _ bias: [Double]?, _ problem: DeformConvProblem) -> Bool {
        let plane = problem.outputHeight * problem.outputWidth
        var equal = 0
        for (index, value) in y.enumerated() where value == (bias?[index / plane % problem.outputChannels] ?? 0) {
            equal += 1
        }
        return 2 * equal > y.count
    }
}
