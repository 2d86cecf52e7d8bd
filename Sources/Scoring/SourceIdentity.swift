import DeformConv

/// How reports name a source, with the units its bound is built from (SPEC section 3).
public struct SourceIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var uAcc: Double
    public var uS: Double
    public var summary: String

    public init(_ source: any NamedImplementation) {
        name = source.name
        uAcc = source.accumulationUnitRoundoff
        uS = source.samplingUnitRoundoff
        summary = source.summary
    }
}
