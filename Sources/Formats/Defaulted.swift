/// The value a report field takes when the JSON lacks it: reports written before the field existed.
public protocol DefaultValue {
    associatedtype Value: Codable & Sendable & Equatable
    static var value: Value { get }
}

/// A report field that older JSON may lack: a missing (or null) key decodes as `Default.value`. It
/// encodes as the bare value, so the JSON is the same as an unwrapped property's; the synthesized
/// `Codable` does the rest, so no report needs a hand-written decoder that must list every field.
///
/// There is deliberately no `init()`: a property starts at the value its declaration or its type's
/// initializer gives, as any other (a default read from a static, e.g. `CompareThresholds.standard`,
/// would otherwise run while that static is being built).
@propertyWrapper
public struct Defaulted<Default: DefaultValue>: Codable, Sendable, Equatable {
    public var wrappedValue: Default.Value

    public init(wrappedValue: Default.Value) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode(Default.Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension Defaulted: Hashable where Default.Value: Hashable {}

extension KeyedDecodingContainer {
    /// What the synthesized `init(from:)` calls for a `@Defaulted` property: its key may be missing.
    public func decode<D>(_ type: Defaulted<D>.Type, forKey key: Key) throws -> Defaulted<D> {
        try decodeIfPresent(type, forKey: key) ?? Defaulted(wrappedValue: D.value)
    }
}

/// 0 for counts that older reports did not keep.
public enum DefaultZero: DefaultValue {
    public static var value: Int { 0 }
}

/// false for switches that older reports did not have.
public enum DefaultFalse: DefaultValue {
    public static var value: Bool { false }
}

/// [] for lists that older reports, or peer tools, leave out.
public enum DefaultEmpty<Element: Codable & Sendable & Equatable>: DefaultValue {
    public static var value: [Element] { [] }
}
