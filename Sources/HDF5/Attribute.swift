import CHDF5

/// An attribute as read: its stored type, shape and value.
public struct Attribute: Equatable, Sendable {
    public var name: String
    public var type: StoredType
    /// [] for a scalar (and for an empty attribute with a null dataspace).
    public var shape: [Int]
    public var value: AttributeValue

    /// An attribute value, e.g. an expected value to compare a read one with.
    public init(name: String, type: StoredType, shape: [Int], value: AttributeValue) {
        self.name = name
        self.type = type
        self.shape = shape
        self.value = value
    }
}

/// The values of an attribute, flattened in row-major order.
public enum AttributeValue: Equatable, Sendable {
    /// Any signed integer width, and unsigned ones that fit in Int64.
    case integers([Int64])
    /// Unsigned 64-bit values of which at least one is above Int64.max (the whole attribute then uses this case).
    case unsignedIntegers([UInt64])
    /// float16/32/64, widened.
    case floats([Double])
    /// Fixed or variable length, padding stripped.
    case strings([String])
    case booleans([Bool])
    /// Anything else, described.
    case unsupported(String)
}

extension Group {
    /// Attribute names in name order.
    public func attributeNames() throws(HDF5Error) -> [String] {
        let site = try site(path, "list attributes")
        let count = chdf5_num_attrs(id)
        if count < 0 { throw site.stackError("cannot count attributes") }
        // HDF5 1.10 dereferences NULL (in H5A__attr_release_table) when an attribute message
        // fails to decode while it builds the attribute table that every by-index call needs;
        // h5dump crashes the same way. Looking up a name no attribute has decodes every message
        // on a path that fails cleanly, so a corrupt header is caught here first.
        if count > 0, H5Aexists(id, "\u{1}probe") < 0 {
            throw site.stackError("cannot decode attributes")
        }
        var names: [String] = []
        for index in 0..<hsize_t(count) {
            names.append(decodeCString(try site.name(at: index, of: id, "attribute name", H5Aget_name_by_idx)))
        }
        return names
    }

    /// Reads an attribute; nil when the attribute does not exist. A type the module cannot
    /// represent gives `.unsupported` rather than an error, so listing a file never fails on it.
    public func attribute(_ name: String) throws(HDF5Error) -> Attribute? {
        let site = try site(attributePath(name), "read attribute")
        guard try site.check(tri: H5Aexists(id, name), "H5Aexists failed") else { return nil }
        return try withOpened(name, .attribute, site) { (aid, fileType, space) throws(HDF5Error) in
            let stored = classify(fileType)
            guard let shape = try dataspaceShape(space, site) else {
                return Attribute(name: name, type: stored, shape: [], value: .unsupported("empty attribute (null dataspace)"))
            }
            let value = try readValue(aid, fileType: fileType, stored: stored, space: space, shape: shape, site)
            return Attribute(name: name, type: stored, shape: shape, value: value)
        }
    }

    private func readValue(_ aid: hid_t, fileType: hid_t, stored: StoredType, space: hid_t, shape: [Int],
                           _ site: Site) throws(HDF5Error) -> AttributeValue {
        switch stored {
        case .integer(let bits, let signed):
            guard bits <= 64 else { return .unsupported("\(stored) is wider than 64 bits") }
            let count = try checkedCount(shape, elementSize: 8, site)
            if signed || bits < 64 {
                let values: [Int64] = try readNumbers(aid, count: count, type: chdf5_T_NATIVE_INT64(), site)
                return .integers(values)
            }
            let values: [UInt64] = try readNumbers(aid, count: count, type: chdf5_T_NATIVE_UINT64(), site)
            if values.allSatisfy({ $0 <= UInt64(Int64.max) }) { return .integers(values.map { Int64($0) }) }
            return .unsignedIntegers(values)
        case .float:
            let count = try checkedCount(shape, elementSize: 8, site)
            let values: [Double] = try readNumbers(aid, count: count, type: chdf5_T_NATIVE_DOUBLE(), site)
            return .floats(values)
        case .boolean:
            let count = try checkedCount(shape, elementSize: 1, site)
            let values: [Int8] = try readNumbers(aid, count: count, type: fileType, native: true, site)
            return .booleans(values.map { $0 != 0 })
        case .string(let format):
            if format.length == nil {
                return .strings(try readVariableStrings(aid, format: format, space: space, shape: shape, site))
            }
            return .strings(try readFixedStrings(aid, fileType: fileType, format: format, shape: shape, site))
        case .other(let text):
            return .unsupported(text)
        }
    }

    /// Reads `count` elements converted to `type` (a copy of it, or its native form when
    /// `native`, which for h5py's bool enum is a 1-byte enum that reads as raw 0/1 bytes).
    private func readNumbers<T>(_ aid: hid_t, count: Int, type: hid_t, native: Bool = false,
                                _ site: Site) throws(HDF5Error) -> [T] {
        let memoryType = try site.check(native ? H5Tget_native_type(type, H5T_DIR_ASCEND) : H5Tcopy(type),
                                        "cannot make memory type")
        defer { H5Tclose(memoryType) }
        guard H5Tget_size(memoryType) == MemoryLayout<T>.stride else {
            throw site.error("memory type has \(H5Tget_size(memoryType)) bytes, expected \(MemoryLayout<T>.stride)")
        }
        var status: herr_t = 0
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0 else { return }
            status = H5Aread(aid, memoryType, buffer.baseAddress)
            initialized = status >= 0 ? count : 0
        }
        try site.check(status, "H5Aread failed")
        return values
    }

    private func readVariableStrings(_ aid: hid_t, format: StringFormat, space: hid_t, shape: [Int],
                                     _ site: Site) throws(HDF5Error) -> [String] {
        let count = try checkedCount(shape, elementSize: MemoryLayout<UnsafeMutablePointer<CChar>?>.stride, site)
        // Same character set as stored: HDF5 refuses to convert between ASCII and UTF-8.
        let memoryType = try makeStringType(format, site)
        defer { H5Tclose(memoryType) }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        guard count > 0 else { return [] }
        try site.check(H5Aread(aid, memoryType, &pointers), "H5Aread failed")
        // HDF5 malloc'ed every string; give them back whatever happens next.
        defer { _ = chdf5_reclaim(memoryType, space, &pointers) }
        return pointers.map { pointer in
            guard let pointer else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
        }
    }

    private func readFixedStrings(_ aid: hid_t, fileType: hid_t, format: StringFormat, shape: [Int],
                                  _ site: Site) throws(HDF5Error) -> [String] {
        let size = format.length ?? 0
        guard size > 0 else { throw site.error("fixed-length string of size 0") }
        let count = try checkedCount(shape, elementSize: size, site)
        let memoryType = try site.check(H5Tcopy(fileType), "cannot make memory type")
        defer { H5Tclose(memoryType) }
        var bytes = [UInt8](repeating: 0, count: count * size)
        guard count > 0 else { return [] }
        try site.check(H5Aread(aid, memoryType, &bytes), "H5Aread failed")
        return (0..<count).map { index in
            var element = bytes[index * size ..< (index + 1) * size]
            switch format.padding {
            case .nullTerminated:
                if let end = element.firstIndex(of: 0) { element = element[..<end] }
            case .nullPadded:
                while element.last == 0 { element = element.dropLast() }
            case .spacePadded:
                while element.last == 0x20 || element.last == 0 { element = element.dropLast() }
            }
            return String(decoding: element, as: UTF8.self)
        }
    }

    /// Writes a numeric attribute, replacing one of the same name. `scalar` gives it a
    /// scalar dataspace (values.count must be 1); otherwise it is one-dimensional.
    public func setAttribute<T: HDF5Element>(_ name: String, _ values: [T], scalar: Bool = false) throws(HDF5Error) {
        let site = try site(attributePath(name), "write attribute")
        guard let kind = ElementKind(T.self) else { throw site.error("\(T.self) is not a supported element type") }
        if scalar && values.count != 1 {
            throw site.error("a scalar attribute needs exactly 1 value, got \(values.count)")
        }
        let fileType = try kind.fileType(site)
        defer { H5Tclose(fileType) }
        let memoryType = try kind.memoryType(site)
        defer { H5Tclose(memoryType) }
        try writeAttribute(name, shape: scalar ? [] : [values.count], fileType: fileType, site) { aid throws(HDF5Error) in
            guard !values.isEmpty else { return }
            let status = values.withUnsafeBytes { H5Awrite(aid, memoryType, $0.baseAddress) }
            try site.check(status, "H5Awrite failed")
        }
    }

    /// Writes a scalar string attribute, replacing one of the same name. A fixed `format`
    /// must hold the UTF-8 bytes of `string` (plus the terminating NUL when null-terminated);
    /// a string containing NUL is refused because no format could read it back unchanged.
    public func setAttribute(_ name: String, string: String, format: StringFormat = .variableUTF8) throws(HDF5Error) {
        let site = try site(attributePath(name), "write attribute")
        let utf8 = Array(string.utf8)
        if utf8.contains(0) { throw site.error("string contains a NUL character") }
        if format.charset == .ascii, utf8.contains(where: { $0 >= 0x80 }) {
            throw site.error("string is not ASCII but the format's charset is ASCII")
        }
        if let length = format.length {
            let needed = utf8.count + (format.padding == .nullTerminated ? 1 : 0)
            guard length >= 1, needed <= length else {
                throw site.error("string needs \(needed) bytes but the fixed length is \(length)")
            }
        }
        let type = try makeStringType(format, site)
        defer { H5Tclose(type) }
        try writeAttribute(name, shape: [], fileType: type, site) { aid throws(HDF5Error) in
            let status: herr_t
            if let length = format.length {
                let pad: UInt8 = format.padding == .spacePadded ? 0x20 : 0
                let bytes = utf8 + [UInt8](repeating: pad, count: length - utf8.count)
                status = bytes.withUnsafeBytes { H5Awrite(aid, type, $0.baseAddress) }
            } else {
                status = string.withCString { cString in
                    var pointer: UnsafePointer<CChar>? = cString
                    return H5Awrite(aid, type, &pointer)
                }
            }
            try site.check(status, "H5Awrite failed")
        }
    }

    /// Writes a scalar bool the way h5py does (an enum of int8, FALSE=0, TRUE=1), replacing
    /// an attribute of the same name.
    public func setAttribute(_ name: String, bool: Bool) throws(HDF5Error) {
        let site = try site(attributePath(name), "write attribute")
        let type = try makeBoolType(site)
        defer { H5Tclose(type) }
        try writeAttribute(name, shape: [], fileType: type, site) { aid throws(HDF5Error) in
            var value: Int8 = bool ? 1 : 0
            try site.check(H5Awrite(aid, type, &value), "H5Awrite failed")
        }
    }

    /// Creates attribute `name` (deleting an existing one first) and hands it to `body`.
    private func writeAttribute(_ name: String, shape: [Int], fileType: hid_t, _ site: Site,
                                _ body: (hid_t) throws(HDF5Error) -> Void) throws(HDF5Error) {
        if try site.check(tri: H5Aexists(id, name), "H5Aexists failed") {
            try site.check(H5Adelete(id, name), "H5Adelete failed")
        }
        let space = try makeDataspace(shape, site)
        defer { H5Sclose(space) }
        let aid = try site.check(H5Acreate2(id, name, fileType, space, chdf5_P_DEFAULT(), chdf5_P_DEFAULT()),
                                 "H5Acreate2 failed")
        defer { H5Aclose(aid) }
        try body(aid)
    }
}
