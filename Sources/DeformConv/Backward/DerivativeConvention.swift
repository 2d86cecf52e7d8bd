/// Which one-sided derivative of the bilinear sample B an offsets gradient takes where the
/// sampling position is an integer, where B is not differentiable (SPEC section 7).
///
/// The contract is `fromTheRight` (MindSpore's, measured); the others are what other
/// implementations do, so that a kernel failing only at integer positions can be told which
/// convention it follows instead. Away from integers every convention is the same derivative.
public enum DerivativeConvention: String, Sendable, Codable, CaseIterable {
    /// From the cell [p0, p0 + 1) with p0 = floor(p): the contract. At p = −1 it sees row (column) 0.
    case fromTheRight = "from_the_right"
    /// From the cell [p − 1, p) at an integer p: zero at p = −1, row (column) H − 1 seen at p = H.
    case fromTheLeft = "from_the_left"
    /// The mean of the two one-sided derivatives at an integer p (a central difference).
    case central
    /// From the right, but zero when p = −1 exactly: mmcv's modulated deform conv, whose
    /// coordinate weight checks −1 < p < H.
    case zeroAtMinusOne = "zero_at_minus_one"

    /// The conventions a failing offsets gradient is re-scored against, in the order a match is
    /// reported: mmcv's first, since it differs from the contract at the fewest positions (only
    /// at −1), so when several match it is the smallest explanation.
    public static let alternatives: [DerivativeConvention] = [.zeroAtMinusOne, .fromTheLeft, .central]

    /// How reports name the convention: "matches \(summary)".
    public var summary: String {
        switch self {
        case .fromTheRight: "the derivative from the right"
        case .fromTheLeft: "the derivative from the left"
        case .central: "the mean of the derivatives from the left and the right (central)"
        case .zeroAtMinusOne: "mmcv's zero at p = −1"
        }
    }

    /// The cells of one axis whose derivative formula is taken at position `p`, with their
    /// weights: the own cell floor(p) away from integers, and at an integer the convention's
    /// choice. Empty where the convention makes the derivative zero.
    func cells(at p: Double, origin: Int) -> [(origin: Int, weight: Double)] {
        guard p == p.rounded(.down) else { return [(origin, 1)] }
        switch self {
        case .fromTheRight: return [(origin, 1)]
        case .fromTheLeft: return [(origin - 1, 1)]
        case .central: return [(origin - 1, 0.5), (origin, 0.5)]
        case .zeroAtMinusOne: return p == -1 ? [] : [(origin, 1)]
        }
    }

    /// Whether the derivative along an axis of extent `size` can be nonzero at position `p`:
    /// some cell the convention reads there has a row (column) inside the image.
    func reaches(_ p: Double, size: Int) -> Bool {
        switch self {
        case .fromTheRight: p >= -1 && p < Double(size)
        case .fromTheLeft: p > -1 && p <= Double(size)
        case .central: p >= -1 && p <= Double(size)
        case .zeroAtMinusOne: p > -1 && p < Double(size)
        }
    }
}
