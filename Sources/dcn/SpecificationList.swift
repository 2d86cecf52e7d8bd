import ArgumentParser
import Conformance

/// `verify-file --sources JSON`: the parent's `SourceSpecification`s as `IsolatedVerifier.encode`
/// wrote them. Only `dcn verify` passes it, so ArgumentParser's "invalid value" is detail enough.
struct SpecificationList: ExpressibleByArgument {
    let specifications: [SourceSpecification]

    init?(argument: String) {
        guard let specifications = try? IsolatedVerifier.decodeSpecifications(argument) else { return nil }
        self.specifications = specifications
    }
}
