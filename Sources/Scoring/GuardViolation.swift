/// What a plugin's guard checks caught (include/dcn_kernel.h): a write outside the buffers it was
/// given, into an input, or an output element it never wrote. The structured reason of a failed
/// case, not a crash: `CaseOutcome.guardViolation` and `BackwardOutcome.guardViolation` carry it.
public struct GuardViolation: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// Output elements still holding dcn's NaN fill after the call.
        case notWritten = "not_written"
        /// Guard bytes after the buffer changed.
        case pastEnd = "past_end"
        /// Guard bytes before the buffer changed.
        case beforeStart = "before_start"
        /// An input (x, weight, offsets, bias, gy) differs from what dcn handed over.
        case inputWritten = "input_written"
    }

    public var kind: Kind
    /// The buffer's name as the header spells it: "y", "gx", "x", …
    public var buffer: String
    /// Elements not written or changed (`notWritten`, `inputWritten`); bytes from the buffer's edge
    /// to the farthest changed guard byte (`pastEnd`, `beforeStart`).
    public var count: Int
    /// Elements in the buffer.
    public var elements: Int
    /// The first element not written or changed, as a flat index and in the buffer's shape.
    public var firstIndex: Int?
    public var firstPosition: [Int]?

    public init(kind: Kind, buffer: String, count: Int, elements: Int, firstIndex: Int? = nil, firstPosition: [Int]? = nil) {
        self.kind = kind
        self.buffer = buffer
        self.count = count
        self.elements = elements
        self.firstIndex = firstIndex
        self.firstPosition = firstPosition
    }

    public var description: String { FailureText.guardViolation(self) }
}
