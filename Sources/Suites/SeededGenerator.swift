import Formats
import Scoring
/// A small deterministic random number generator (SplitMix64), so that a suite
/// drawn with the same seed is the same on every machine and Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [low, high), from 53 random bits (independent of the standard library's algorithm).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) * 0x1p-53
    }

    /// A uniform integer in low...high.
    public mutating func integer(_ low: Int, _ high: Int) -> Int {
        low + Int(next() % UInt64(high - low + 1))
    }

    /// An element of a non-empty array.
    public mutating func pick<T>(_ choices: [T]) -> T {
        choices[integer(0, choices.count - 1)]
    }

    /// Mixes a suite seed with a case index into an independent per-case seed.
    public static func derive(_ seed: UInt64, _ index: Int) -> UInt64 {
        var mixer = SeededGenerator(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        return mixer.next()
    }
}
