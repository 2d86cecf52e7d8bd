import Foundation

/// The one JSON coding of every report dcn writes and reads (verify, bench, compare, the
/// fp16 study): snake_case keys, sorted keys, and the non-finite numbers JSON lacks written as
/// the strings "Infinity", "-Infinity" and "NaN" (a NaN accuracy ratio is a finding, not an
/// encoding error). SPEC section 6 fixes these shapes, so every writer and reader goes through here.
public enum ReportJSON {
    /// `value` as JSON; `pretty` (the default, for reports people read and diff) indents it.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return try encoder.encode(value)
    }

    /// A report read back from what `encode` wrote (or a peer tool writing the same schema).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return try decoder.decode(type, from: data)
    }

    /// The report in the file at `path`.
    public static func decode<T: Decodable>(_ type: T.Type, contentsOf path: String) throws -> T {
        try decode(type, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The spellings of the non-finite numbers, the same both ways so a report reads back as written.
    private static let nonFinite = (positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
}
