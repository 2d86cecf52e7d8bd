import ArgumentParser
import Conformance
import DeformConv

/// `--offsets` of `generate --shape`: how the sampling offsets are drawn.
enum OffsetStyle: String, CaseIterable, ExpressibleByArgument {
    case small, large, integer, boundary, nearInteger = "near-integer", quarter, mixed

    var recipe: CaseRecipe.Offsets {
        switch self {
        case .small: .uniform
        case .large: .large
        case .integer: .integer
        case .boundary: .boundary
        case .nearInteger: .nearInteger
        case .quarter: .quarter
        case .mixed: .mixed
        }
    }
}

/// `--masks` of `generate --shape`.
enum MaskStyle: String, CaseIterable, ExpressibleByArgument {
    case ones, uniform, signed, zeroHeavy = "zero-heavy", quarter

    var recipe: CaseRecipe.Masks {
        switch self {
        case .ones: .ones
        case .uniform: .unit
        case .signed: .signed
        case .zeroHeavy: .someZero
        case .quarter: .quarter
        }
    }
}

/// `--values` of `generate --shape`: x, weight and bias.
enum ValueStyle: String, CaseIterable, ExpressibleByArgument {
    case uniform, exact, ones

    var recipe: CaseRecipe.Values {
        switch self {
        case .uniform: .uniform
        case .exact: .exact
        case .ones: .ones
        }
    }
}

/// `--dtype` of `generate --shape`.
enum DtypeChoice: String, CaseIterable, ExpressibleByArgument {
    case float32, float16, both

    var dtypes: [DataType] {
        switch self {
        case .float32: [.float32]
        case .float16: [.float16]
        case .both: [.float32, .float16]
        }
    }
}
