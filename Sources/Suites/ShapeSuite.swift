import DeformConv
import Formats
import Scoring

/// Golden cases at the user's own shapes (`dcn generate --shape`): one case per descriptor and
/// dtype, drawn by the same recipes as the built-in suite.
public struct ShapeSuite: Sendable {
    public var descriptors: [ProblemDescriptor]
    public var dtypes: [DataType]
    public var bias: Bool
    public var values: CaseRecipe.Values
    public var offsets: CaseRecipe.Offsets
    public var masks: CaseRecipe.Masks
    /// Adds gy and the exact gradients to every case (SPEC section 7).
    public var backward: Bool

    public init(descriptors: [ProblemDescriptor], dtypes: [DataType] = [.float32], bias: Bool = true,
                values: CaseRecipe.Values = .uniform, offsets: CaseRecipe.Offsets = .uniform,
                masks: CaseRecipe.Masks = .unit, backward: Bool = false) {
        self.descriptors = descriptors
        self.dtypes = dtypes
        self.bias = bias
        self.values = values
        self.offsets = offsets
        self.masks = masks
        self.backward = backward
    }

    /// The recipes, named from the descriptor's name (or its canonical form), with the dtype
    /// appended when more than one dtype is asked for; refused when two cases would share a name,
    /// when a descriptor is not a valid call, or when exact values meet inexact offsets or masks.
    public func recipes() throws(SuiteError) -> [CaseRecipe] {
        if values == .exact {
            let exactOffsets: [CaseRecipe.Offsets] = [.integer, .quarter, .zero, .ones]
            let exactMasks: [CaseRecipe.Masks] = [.ones, .quarter, .allZero]
            guard exactOffsets.contains(offsets), exactMasks.contains(masks) else {
                throw SuiteError(message: "exact values need exact positions and masks: offsets integer or quarter, masks ones or quarter")
            }
        }
        var recipes: [CaseRecipe] = []
        var names: Set<String> = []
        for descriptor in descriptors {
            var body = descriptor
            body.name = nil
            let label = descriptor.name ?? body.description
            for dtype in dtypes {
                let name = dtypes.count > 1 ? "\(label).\(dtype)" : label
                guard names.insert(name).inserted else {
                    throw SuiteError(message: "two cases would be named '\(name)': give the shapes different names (NAME:DESC)")
                }
                do throws(DeformConvError) {
                    _ = try DeformConvProblem(validating: descriptor.geometry.arguments(dtype: dtype, bias: bias))
                } catch {
                    throw SuiteError(message: "shape '\(descriptor)' is not a valid \(dtype) call: \(error.code.rawValue): \(error.message)")
                }
                recipes.append(CaseRecipe(name, body.description, dtype: dtype, bias: bias, values: values, offsets: offsets,
                                          masks: masks, "\(body.description) in \(dtype): values \(values), offsets \(offsets), masks \(masks)"))
            }
        }
        return recipes
    }
}

extension CaseRecipe.Offsets: Equatable {}
extension CaseRecipe.Masks: Equatable {}
