import CHDF5
import Foundation

/// The type an object is stored with, as HDF5 reports it.
public enum StoredType: Equatable, Sendable, CustomStringConvertible {
    /// IEEE-style float; `bits` is the stored size (16 for h5py's half type, 32, 64; other
    /// widths are reported as they are).
    case float(bits: Int)
    /// Two's complement (`signed`) or unsigned integer of 8, 16, 32 or 64 bits.
    case integer(bits: Int, signed: Bool)
    /// h5py's bool: an enum of int8 with members FALSE=0, TRUE=1.
    case boolean
    /// Fixed- or variable-length string.
    case string(StringFormat)
    /// Compound, opaque, other enums, references, ... described in words.
    case other(String)

    public var description: String {
        switch self {
        case .float(let bits): return "float\(bits)"
        case .integer(let bits, let signed): return signed ? "int\(bits)" : "uint\(bits)"
        case .boolean: return "bool"
        case .string(let format): return "string (\(format))"
        case .other(let text): return text
        }
    }
}

/// How a string is stored.
public struct StringFormat: Equatable, Sendable, CustomStringConvertible {
    public enum Charset: Sendable { case ascii, utf8 }
    public enum Padding: Sendable { case nullTerminated, nullPadded, spacePadded }
    public var charset: Charset
    /// Size in bytes of a fixed-length string; nil for variable length.
    public var length: Int?
    /// How a fixed-length string fills its bytes; ignored for variable length.
    public var padding: Padding

    /// A format; see `variableUTF8`, `variableASCII` and `fixed` for the usual ones.
    public init(charset: Charset, length: Int?, padding: Padding) {
        self.charset = charset
        self.length = length
        self.padding = padding
    }

    /// Variable-length UTF-8: what h5py writes for a Python `str`.
    public static let variableUTF8 = StringFormat(charset: .utf8, length: nil, padding: .nullTerminated)
    /// Variable-length ASCII.
    public static let variableASCII = StringFormat(charset: .ascii, length: nil, padding: .nullTerminated)
    /// Fixed-length string of `length` bytes (numpy's 'S' dtype is ASCII, null-padded).
    public static func fixed(_ length: Int, charset: Charset = .ascii, padding: Padding = .nullPadded) -> StringFormat {
        StringFormat(charset: charset, length: length, padding: padding)
    }

    // Padding means nothing for variable-length strings, whatever HDF5 recorded for them.
    public static func == (a: StringFormat, b: StringFormat) -> Bool {
        guard a.charset == b.charset, a.length == b.length else { return false }
        return a.length == nil || a.padding == b.padding
    }

    public var description: String {
        let cs = charset == .utf8 ? "UTF-8" : "ASCII"
        guard let length else { return "variable-length \(cs)" }
        let pad: String
        switch padding {
        case .nullTerminated: pad = "null-terminated"
        case .nullPadded: pad = "null-padded"
        case .spacePadded: pad = "space-padded"
        }
        return "fixed \(length) bytes, \(cs), \(pad)"
    }
}

/// Element types that datasets and attributes can be read into and written from:
/// Float16, Float, Double, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64.
///
/// The protocol has no requirements; the module recognises the conforming types by identity,
/// so a conformance added outside the module is rejected with an `HDF5Error` at run time.
public protocol HDF5Element {}

extension Float16: HDF5Element {}
extension Float: HDF5Element {}
extension Double: HDF5Element {}
extension Int8: HDF5Element {}
extension Int16: HDF5Element {}
extension Int32: HDF5Element {}
extension Int64: HDF5Element {}
extension UInt8: HDF5Element {}
extension UInt16: HDF5Element {}
extension UInt32: HDF5Element {}
extension UInt64: HDF5Element {}

/// The element types the module knows how to describe to HDF5.
enum ElementKind {
    case f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64

    init?<T>(_ type: T.Type) {
        switch ObjectIdentifier(type) {
        case ObjectIdentifier(Float16.self): self = .f16
        case ObjectIdentifier(Float.self): self = .f32
        case ObjectIdentifier(Double.self): self = .f64
        case ObjectIdentifier(Int8.self): self = .i8
        case ObjectIdentifier(Int16.self): self = .i16
        case ObjectIdentifier(Int32.self): self = .i32
        case ObjectIdentifier(Int64.self): self = .i64
        case ObjectIdentifier(UInt8.self): self = .u8
        case ObjectIdentifier(UInt16.self): self = .u16
        case ObjectIdentifier(UInt32.self): self = .u32
        case ObjectIdentifier(UInt64.self): self = .u64
        default: return nil
        }
    }

    /// A new datatype id (the caller closes it) describing elements in memory.
    func memoryType(_ site: Site) throws(HDF5Error) -> hid_t {
        try makeType(from: predefinedTypes.memory, site)
    }

    /// A new datatype id (the caller closes it) for storing elements in a file: fixed
    /// little-endian types, so files do not depend on the writing machine.
    func fileType(_ site: Site) throws(HDF5Error) -> hid_t {
        try makeType(from: predefinedTypes.file, site)
    }

    /// HDF5's predefined types for the kind: native in memory, little-endian in files. HDF5 < 1.14.4
    /// has no half type, so float16 starts from float32's and `makeType` narrows it.
    private var predefinedTypes: (memory: hid_t, file: hid_t) {
        switch self {
        case .f16, .f32: (chdf5_T_NATIVE_FLOAT(), chdf5_T_IEEE_F32LE())
        case .f64: (chdf5_T_NATIVE_DOUBLE(), chdf5_T_IEEE_F64LE())
        case .i8: (chdf5_T_NATIVE_INT8(), chdf5_T_STD_I8LE())
        case .i16: (chdf5_T_NATIVE_INT16(), chdf5_T_STD_I16LE())
        case .i32: (chdf5_T_NATIVE_INT32(), chdf5_T_STD_I32LE())
        case .i64: (chdf5_T_NATIVE_INT64(), chdf5_T_STD_I64LE())
        case .u8: (chdf5_T_NATIVE_UINT8(), chdf5_T_STD_U8LE())
        case .u16: (chdf5_T_NATIVE_UINT16(), chdf5_T_STD_U16LE())
        case .u32: (chdf5_T_NATIVE_UINT32(), chdf5_T_STD_U32LE())
        case .u64: (chdf5_T_NATIVE_UINT64(), chdf5_T_STD_U64LE())
        }
    }

    private func makeType(from predefined: hid_t, _ site: Site) throws(HDF5Error) -> hid_t {
        self == .f16 ? try makeHalfType(from: predefined, site) : try copyType(predefined, site)
    }
}

/// Copies a predefined type, so that every type id the module holds can be closed the same
/// way (closing a predefined type is an error).
func copyType(_ type: hid_t, _ site: Site) throws(HDF5Error) -> hid_t {
    try site.check(H5Tcopy(type), "cannot copy datatype")
}

/// IEEE half precision built the way h5py builds it for HDF5 < 1.14.4, which has no half
/// type: copy a 32-bit float (which fixes the byte order), then set the bit fields before
/// shrinking the size, because `H5Tset_size(2)` is rejected while the fields of the 32-bit
/// layout still reach past 16 bits; the exponent bias comes last.
func makeHalfType(from base: hid_t, _ site: Site) throws(HDF5Error) -> hid_t {
    let type = try copyType(base, site)
    do {
        try site.check(H5Tset_fields(type, 15, 10, 5, 0, 10), "cannot set half-float fields")
        try site.check(H5Tset_size(type, 2), "cannot set half-float size")
        try site.check(H5Tset_ebias(type, 15), "cannot set half-float exponent bias")
    } catch {
        H5Tclose(type)
        throw error
    }
    return type
}

/// A new string datatype (the caller closes it).
func makeStringType(_ format: StringFormat, _ site: Site) throws(HDF5Error) -> hid_t {
    let type = try copyType(chdf5_T_C_S1(), site)
    do {
        try site.check(H5Tset_size(type, format.length.map { $0 } ?? chdf5_T_VARIABLE()), "cannot set string size")
        try site.check(H5Tset_cset(type, format.charset == .utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII),
                       "cannot set string character set")
        if format.length != nil {
            let pad: H5T_str_t
            switch format.padding {
            case .nullTerminated: pad = H5T_STR_NULLTERM
            case .nullPadded: pad = H5T_STR_NULLPAD
            case .spacePadded: pad = H5T_STR_SPACEPAD
            }
            try site.check(H5Tset_strpad(type, pad), "cannot set string padding")
        }
    } catch {
        H5Tclose(type)
        throw error
    }
    return type
}

/// h5py's bool type: an enum of int8 with FALSE=0 and TRUE=1 (the caller closes it).
func makeBoolType(_ site: Site) throws(HDF5Error) -> hid_t {
    let type = try site.check(H5Tenum_create(chdf5_T_NATIVE_INT8()), "cannot create enum type")
    do {
        var no: Int8 = 0
        var yes: Int8 = 1
        try site.check(H5Tenum_insert(type, "FALSE", &no), "cannot insert enum member FALSE")
        try site.check(H5Tenum_insert(type, "TRUE", &yes), "cannot insert enum member TRUE")
    } catch {
        H5Tclose(type)
        throw error
    }
    return type
}

/// Classifies a datatype. Never throws: whatever cannot be inspected is `.other`, so that a
/// hostile file yields a description rather than a crash.
func classify(_ type: hid_t) -> StoredType {
    defer { H5Eclear2(chdf5_E_DEFAULT()) }
    let size = H5Tget_size(type)
    let cls = H5Tget_class(type)
    switch cls {
    case H5T_FLOAT:
        return size > 0 ? .float(bits: size * 8) : .other("float of unknown size")
    case H5T_INTEGER:
        let sign = H5Tget_sign(type)
        guard size > 0, sign != H5T_SGN_ERROR else { return .other("integer of unknown size") }
        return .integer(bits: size * 8, signed: sign == H5T_SGN_2)
    case H5T_STRING:
        let variable = H5Tis_variable_str(type)
        let cset = H5Tget_cset(type)
        let pad = H5Tget_strpad(type)
        guard variable >= 0, cset != H5T_CSET_ERROR, pad != H5T_STR_ERROR else {
            return .other("string of unknown format")
        }
        let padding: StringFormat.Padding
        switch pad {
        case H5T_STR_NULLPAD: padding = .nullPadded
        case H5T_STR_SPACEPAD: padding = .spacePadded
        default: padding = .nullTerminated
        }
        let charset: StringFormat.Charset = cset == H5T_CSET_UTF8 ? .utf8 : .ascii
        if variable > 0 { return .string(StringFormat(charset: charset, length: nil, padding: .nullTerminated)) }
        return .string(StringFormat(charset: charset, length: size, padding: padding))
    case H5T_ENUM:
        return isH5pyBool(type) ? .boolean : .other("enum of \(size) bytes")
    case H5T_COMPOUND: return .other("compound of \(size) bytes")
    case H5T_OPAQUE: return .other("opaque of \(size) bytes")
    case H5T_BITFIELD: return .other("bitfield of \(size) bytes")
    case H5T_REFERENCE: return .other("reference")
    case H5T_TIME: return .other("time")
    case H5T_VLEN: return .other("variable-length sequence")
    case H5T_ARRAY: return .other("array type")
    default: return .other("unknown type class \(cls.rawValue)")
    }
}

/// True for an enum over a 1-byte integer whose members are exactly FALSE=0 and TRUE=1.
private func isH5pyBool(_ type: hid_t) -> Bool {
    // H5Tget_member_value copies the enum's own size: a corrupt file can declare more bytes
    // than the buffer below holds (seen in the hostile-file test: a stack overwrite).
    guard H5Tget_nmembers(type) == 2, H5Tget_size(type) == 1 else { return false }
    let base = H5Tget_super(type)
    guard base >= 0 else { return false }
    defer { H5Tclose(base) }
    guard H5Tget_class(base) == H5T_INTEGER, H5Tget_size(base) == 1 else { return false }
    var found: [String: Int8] = [:]
    for index in 0..<2 {
        guard let cName = H5Tget_member_name(type, UInt32(index)) else { return false }
        let name = String(cString: cName)
        H5free_memory(cName)
        // Eight bytes although the value is one: HDF5 writes the base type's size.
        var value: Int64 = 0
        guard H5Tget_member_value(type, UInt32(index), &value) >= 0 else { return false }
        found[name] = withUnsafeBytes(of: &value) { Int8(bitPattern: $0[0]) }
    }
    return found == ["FALSE": 0, "TRUE": 1]
}

/// The shape of a dataspace: [] for a scalar, nil for a null (empty) dataspace.
func dataspaceShape(_ space: hid_t, _ site: Site) throws(HDF5Error) -> [Int]? {
    let kind = H5Sget_simple_extent_type(space)
    switch kind {
    case H5S_NULL: return nil
    case H5S_SCALAR: return []
    case H5S_SIMPLE: break
    default: throw site.stackError("cannot read dataspace")
    }
    let rank = H5Sget_simple_extent_ndims(space)
    if rank < 0 { throw site.stackError("cannot read dataspace rank") }
    guard rank <= 32 else { throw site.error("dataspace rank \(rank) exceeds HDF5's maximum of 32") }
    var dims = [hsize_t](repeating: 0, count: Int(rank))
    if rank > 0 {
        try site.check(H5Sget_simple_extent_dims(space, &dims, nil), "cannot read dataspace dimensions")
    }
    var shape: [Int] = []
    for d in dims {
        guard d <= UInt64(Int.max) else { throw site.error("dimension \(d) does not fit in Int") }
        shape.append(Int(d))
    }
    return shape
}

/// Element count of `shape`, refusing counts whose bytes overflow Int or could never fit in
/// memory: a hostile file can declare any shape, and Swift traps on a failed allocation.
func checkedCount(_ shape: [Int], elementSize: Int, _ site: Site) throws(HDF5Error) -> Int {
    var count = 1
    for d in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        if overflow || d < 0 {
            throw site.error("element count of shape \(shape) overflows Int")
        }
        count = product
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: max(elementSize, 1))
    if overflow { throw site.error("byte size of shape \(shape) overflows Int") }
    let memory = ProcessInfo.processInfo.physicalMemory
    if memory > 0 && UInt64(bytes) > memory {
        throw site.error("shape \(shape) needs \(bytes) bytes, more than the \(memory) bytes of physical memory")
    }
    return count
}
