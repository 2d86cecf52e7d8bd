import DeformConv
import Foundation
import HDF5
import Formats
import Scoring
import Suites

/// `dcn verify --outputs OUT.h5`: the outputs an implementation recorded in an outputs file,
/// scored like a kernel with the given units.
public struct OutputsFileSource: RecordedSource {
    public var path: String
    public var name: String
    public var accumulationUnitRoundoff: Double
    public var samplingUnitRoundoff: Double
    public var producer: String?

    public init(path: String, name: String, uAcc: Double, uS: Double, producer: String? = nil) {
        self.path = path
        self.name = name
        accumulationUnitRoundoff = uAcc
        samplingUnitRoundoff = uS
        self.producer = producer
    }

    public var summary: String {
        "outputs recorded in \(path)" + (producer.map { " by \($0)" } ?? "")
    }

    public var identity: SourceIdentity {
        SourceIdentity(name: name, uAcc: accumulationUnitRoundoff, uS: samplingUnitRoundoff, summary: summary)
    }

    public func recorded(caseName: String, in goldenFile: String, outputShape: [Int]?) -> CaseOutcome {
        let file: File
        do { file = try File.open(path) } catch { return .unavailable("outputs file \(path): \(error)") }
        defer { file.close() }
        let place = "outputs file \(path): case '\(caseName)'"
        let cases: Group
        do { cases = try file.root.openGroup(GoldenSchema.casesGroup) } catch { return .unavailable("outputs file \(path): \(error)") }
        guard cases.contains(caseName) else {
            return .unavailable("no outputs recorded for this case: \(path) has no group /cases/\(caseName)")
        }
        let group: Group
        do { group = try cases.openGroup(caseName) } catch { return .unavailable("\(place): \(error)") }
        if let errorClass = group.stringAttribute("error_class") {
            return .rejected(errorClass: errorClass, code: group.stringAttribute("error_code"),
                          message: group.stringAttribute("error_message"))
        }
        guard group.contains("y") else {
            return .unavailable("no outputs recorded for this case: \(place) has neither a 'y' dataset nor an 'error_class' attribute")
        }
        guard let outputShape else { return .output(values: [], storedType: "", seconds: nil) }
        return RecordedReader.output(group, "y", shape: outputShape, where: place)
    }
}
