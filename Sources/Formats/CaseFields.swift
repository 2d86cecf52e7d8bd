import DeformConv
import HDF5

/// The attributes and dataset specs of one case group, read the way every reader of a case
/// file reads them (golden and inputs files): each error names the file, the case and the field.
struct CaseFields {
    let path: String
    let name: String
    let group: Group

    func fail(_ field: String, _ message: String) -> GoldenFileError {
        GoldenFileError(file: path, caseName: name, field: field, message: message)
    }

    /// The attribute, or nil when the case has none of that name.
    func attribute(_ field: String) throws(GoldenFileError) -> Attribute? {
        do { return try group.attribute(field) } catch { throw GoldenFileError(error, caseName: name, field: field) }
    }

    func required(_ field: String) throws(GoldenFileError) -> Attribute {
        guard let value = try attribute(field) else { throw fail(field, "required attribute is missing") }
        return value
    }

    /// The spec (shape and stored type) of a dataset, or nil when the case has none of that name.
    func spec(_ field: String) throws(GoldenFileError) -> TensorSpec? {
        guard group.contains(field) else { return nil }
        do {
            let info = try group.datasetInfo(field)
            return TensorSpec(shape: info.shape, dtype: GoldenFileReader.dataType(info.type))
        } catch {
            throw GoldenFileError(error, caseName: name, field: field)
        }
    }

    func requiredSpec(_ field: String) throws(GoldenFileError) -> TensorSpec {
        guard let found = try spec(field) else { throw fail(field, "required dataset is missing") }
        return found
    }
}
