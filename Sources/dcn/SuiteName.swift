import ArgumentParser
import Conformance

/// `--suite NAME` of `generate`: one of the built-in suites, refused while the command line is read
/// otherwise, with the names listed by ArgumentParser.
struct SuiteName: ExpressibleByArgument {
    let name: String

    init?(argument: String) {
        guard SuiteGenerator.suites.contains(argument) else { return nil }
        name = argument
    }

    private init(name: String) {
        self.name = name
    }

    /// The suite of `vectors/dcn-default.h5`.
    static let standard = SuiteName(name: DefaultSuite.name)

    static var allValueStrings: [String] { SuiteGenerator.suites }

    var defaultValueDescription: String { name }
}
