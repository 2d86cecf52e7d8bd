import HDF5

/// How every file of cases dcn writes starts (golden, outputs and export files, SPEC section 4):
/// root attributes `format` and `format_version`, then the format's own, then an empty `/cases`.
enum CaseFile {
    /// Creates (or truncates) `path`; `attributes` writes the format's other root attributes, in
    /// the order they are to be stored. Returns the file and its `/cases` group.
    static func creating(_ path: String, format: String, version: Int,
                         attributes: (Group) throws(HDF5Error) -> Void) throws(HDF5Error) -> (file: File, cases: Group) {
        let file = try File.create(path)
        let root = try file.root
        try root.setAttribute("format", string: format)
        try root.setAttribute("format_version", [Int64(version)], scalar: true)
        try attributes(root)
        return (file, try root.createGroup(GoldenSchema.casesGroup))
    }
}
