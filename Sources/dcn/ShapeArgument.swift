import ArgumentParser
import Conformance
import DeformConv

/// `--shape DESC`: a problem descriptor (SPEC section 5) that must be a valid float32 problem.
///
/// Parsing happens when the command line is read, but a failure is kept rather than returned as
/// nil: `init?(argument:)` can only make ArgumentParser say "invalid value", while a user needs
/// the reason (an unknown key, groups that do not divide the channels), which `validate()` gives.
struct ShapeArgument: ExpressibleByArgument {
    let parsed: Result<BenchShape, BenchError>
    /// As written on the command line.
    let text: String

    init(argument: String) {
        text = argument
        parsed = Result { () throws(BenchError) in try BenchShape(parsing: argument) }
    }

    /// The shape; bad usage with the descriptor's error when it is not one.
    func shape() throws(ValidationError) -> BenchShape {
        do throws(BenchError) { return try parsed.get() } catch { throw ValidationError(error.description) }
    }

    /// The descriptor, with its name; bad usage as for `shape()`.
    func descriptor() throws(ValidationError) -> ProblemDescriptor {
        try shape().descriptor
    }
}
