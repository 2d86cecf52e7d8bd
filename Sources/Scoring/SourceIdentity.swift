import DeformConv

/// How reports name a source, with the units its bound is built from (SPEC section 3).
public struct SourceIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var uAcc: Double
    public var uS: Double
    public var summary: String

    public init(name: String, uAcc: Double, uS: Double, summary: String) {
        self.name = name
        self.uAcc = uAcc
        self.uS = uS
        self.summary = summary
    }

    public init(_ kernel: any DeformConvKernel) {
        self.init(name: kernel.name, uAcc: kernel.accumulationUnitRoundoff, uS: kernel.samplingUnitRoundoff, summary: kernel.summary)
    }
}
