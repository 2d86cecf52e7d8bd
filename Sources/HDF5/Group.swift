import CHDF5

/// An open group. Names passed to its methods are relative to it (a path such as "a/b" also
/// works); errors name the object by its full path.
public final class Group {
    /// Path of the file as given by the caller.
    public let filePath: String
    /// "/" or "/cases/x".
    public let path: String
    private(set) var id: hid_t

    init(filePath: String, path: String, id: hid_t) {
        self.filePath = filePath
        self.path = path
        self.id = id
    }

    deinit { close() }

    /// Closes the group now rather than when it is released; idempotent.
    public func close() {
        guard id >= 0 else { return }
        chdf5_silence_errors()
        H5Gclose(id)
        id = -1
    }

    /// Full path of a member.
    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return path == "/" ? "/" + name : path + "/" + name
    }

    /// Full path of an attribute of this group, "/cases/x@name".
    func attributePath(_ name: String) -> String { "\(path)@\(name)" }

    /// A site for an operation on a member, failing when the group has been closed.
    func site(_ object: String, _ operation: String) throws(HDF5Error) -> Site {
        let site = Site(file: filePath, object: object, operation: operation)
        guard id >= 0 else { throw site.error("group \(path) is closed") }
        return site
    }

    // MARK: Groups

    /// Creates a member group (without intermediate groups) and returns it open.
    public func createGroup(_ name: String) throws(HDF5Error) -> Group {
        let site = try site(childPath(name), "create group")
        let gcpl = try site.check(H5Pcreate(chdf5_P_GROUP_CREATE()), "cannot create property list")
        defer { H5Pclose(gcpl) }
        // No modification times, so that writing the same content twice gives the same bytes.
        try site.check(H5Pset_obj_track_times(gcpl, false), "cannot switch off time tracking")
        let gid = try site.check(H5Gcreate2(id, name, chdf5_P_DEFAULT(), gcpl, chdf5_P_DEFAULT()), "H5Gcreate2 failed")
        return Group(filePath: filePath, path: childPath(name), id: gid)
    }

    /// Opens a member group.
    public func openGroup(_ name: String) throws(HDF5Error) -> Group {
        let site = try site(childPath(name), "open group")
        let oid = try site.check(H5Oopen(id, name, chdf5_P_DEFAULT()), "H5Oopen failed")
        // Opened as a generic object first, so a dataset of that name gives a clear message.
        guard H5Iget_type(oid) == H5I_GROUP else {
            H5Oclose(oid)
            throw site.error("object is not a group")
        }
        return Group(filePath: filePath, path: childPath(name), id: oid)
    }

    /// What a link in a group leads to; `.other` covers named datatypes, soft and external links.
    public enum MemberKind: Sendable { case group, dataset, other }
    /// One link of a group.
    public struct Member: Sendable {
        public var name: String
        public var kind: MemberKind
        /// A member description, e.g. an expected listing.
        public init(name: String, kind: MemberKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// Members in name order. Soft and external links are listed as `.other` and not followed.
    public func members() throws(HDF5Error) -> [Member] {
        let site = try site(path, "list group")
        var info = H5G_info_t()
        try site.check(H5Gget_info(id, &info), "H5Gget_info failed")
        var result: [Member] = []
        var index: hsize_t = 0
        while index < info.nlinks {
            let buffer = try site.name(at: index, of: id, "link name", H5Lget_name_by_idx)
            let name = decodeCString(buffer)
            let kind: MemberKind
            switch chdf5_link_object_type(id, buffer) {
            case Int32(H5O_TYPE_GROUP.rawValue): kind = .group
            case Int32(H5O_TYPE_DATASET.rawValue): kind = .dataset
            default: kind = .other
            }
            H5Eclear2(chdf5_E_DEFAULT())
            result.append(Member(name: name, kind: kind))
            index += 1
        }
        return result
    }

    /// True when a link of that name exists (false on any error, e.g. a missing intermediate group).
    public func contains(_ name: String) -> Bool {
        guard id >= 0, !name.isEmpty else { return false }
        chdf5_silence_errors()
        defer { H5Eclear2(chdf5_E_DEFAULT()) }
        // H5Lexists checks only the last component; walk the path so "a/b" works when "a" is missing.
        var prefix = name.hasPrefix("/") ? "/" : ""
        for component in name.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + component
            if H5Lexists(id, prefix, chdf5_P_DEFAULT()) <= 0 { return false }
        }
        return true
    }

    // MARK: Datasets

    /// What `datasetInfo` reports about a dataset.
    public struct DatasetInfo: Sendable {
        public var shape: [Int]
        public var type: StoredType
        /// Chunk shape of a chunked dataset, nil otherwise.
        public var chunks: [Int]?
        /// Filter pipeline in order, with h5py's names: "gzip", "shuffle", "fletcher32", "szip",
        /// "nbit", "scaleoffset"; other filters by their HDF5 name or "filter <id>".
        public var filters: [String]
        /// A dataset description, e.g. an expected one.
        public init(shape: [Int], type: StoredType, chunks: [Int]?, filters: [String]) {
            self.shape = shape
            self.type = type
            self.chunks = chunks
            self.filters = filters
        }
    }

    /// Shape, stored type and storage layout of a dataset; reads no data. A dataset with a
    /// null dataspace has shape [0].
    public func datasetInfo(_ name: String) throws(HDF5Error) -> DatasetInfo {
        let site = try site(childPath(name), "read dataset info")
        return try withOpened(name, .dataset, site) { (did, type, space) throws(HDF5Error) in
            let shape = try dataspaceShape(space, site) ?? [0]
            let (chunks, filters) = try storage(of: did, site)
            return DatasetInfo(shape: shape, type: classify(type), chunks: chunks, filters: filters)
        }
    }

    /// The chunk shape (nil unless chunked) and filter pipeline of an open dataset.
    private func storage(of did: hid_t, _ site: Site) throws(HDF5Error) -> (chunks: [Int]?, filters: [String]) {
        let dcpl = try site.check(H5Dget_create_plist(did), "H5Dget_create_plist failed")
        defer { H5Pclose(dcpl) }

        var chunks: [Int]?
        let layout = H5Pget_layout(dcpl)
        if layout == H5D_CHUNKED {
            var dims = [hsize_t](repeating: 0, count: 32)
            let rank = H5Pget_chunk(dcpl, Int32(dims.count), &dims)
            if rank < 0 { throw site.stackError("H5Pget_chunk failed") }
            chunks = dims.prefix(Int(rank)).map { Int(clamping: $0) }
        } else if layout.rawValue < 0 {
            throw site.stackError("H5Pget_layout failed")
        }

        var filters: [String] = []
        let count = H5Pget_nfilters(dcpl)
        if count < 0 { throw site.stackError("H5Pget_nfilters failed") }
        for index in 0..<max(count, 0) {
            var flags: UInt32 = 0
            var elementCount = 16
            var values = [UInt32](repeating: 0, count: 16)
            var nameBuffer = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, UInt32(index), &flags, &elementCount, &values,
                                        nameBuffer.count, &nameBuffer, &config)
            if filter < 0 { throw site.stackError("H5Pget_filter2 failed") }
            filters.append(filterName(filter, decodeCString(nameBuffer)))
        }
        return (chunks, filters)
    }

    /// Opens the attribute or dataset `name` of this group with its stored type and dataspace, all
    /// closed when `body` returns.
    func withOpened<R>(_ name: String, _ kind: ObjectCalls, _ site: Site,
                       _ body: (_ object: hid_t, _ type: hid_t, _ space: hid_t) throws(HDF5Error) -> R) throws(HDF5Error) -> R {
        let object = try site.check(kind.open(id, name), "\(kind.openName) failed")
        defer { kind.close(object) }
        let type = try site.check(kind.getType(object), "\(kind.prefix)get_type failed")
        defer { H5Tclose(type) }
        let space = try site.check(kind.getSpace(object), "\(kind.prefix)get_space failed")
        defer { H5Sclose(space) }
        return try body(object, type, space)
    }

    /// Writes a dataset of the stored type of T (Float16 -> h5py-style 2-byte IEEE float).
    ///
    /// `shape` [] writes a scalar. `chunks` must have the rank of `shape`; `gzipLevel` (0...9)
    /// without `chunks` chunks the whole dataset as one chunk. Fails if the name exists.
    public func write<T: HDF5Element>(_ name: String, shape: [Int], values: [T], chunks: [Int]? = nil,
                                      gzipLevel: Int? = nil) throws(HDF5Error) {
        let site = try site(childPath(name), "write dataset")
        guard let kind = ElementKind(T.self) else { throw site.error("\(T.self) is not a supported element type") }
        let count = try checkedCount(shape, elementSize: MemoryLayout<T>.stride, site)
        guard count == values.count else {
            throw site.error("shape \(shape) holds \(count) elements but \(values.count) values were given")
        }
        let memoryType = try kind.memoryType(site)
        defer { H5Tclose(memoryType) }
        let did = try makeDataset(name, shape: shape, kind: kind, chunks: chunks, gzipLevel: gzipLevel, site)
        defer { H5Dclose(did) }
        guard count > 0 else { return }
        let status = values.withUnsafeBytes {
            H5Dwrite(did, memoryType, chdf5_S_ALL(), chdf5_S_ALL(), chdf5_P_DEFAULT(), $0.baseAddress)
        }
        try site.check(status, "H5Dwrite failed")
    }

    /// Creates a dataset of the stored type of T without writing it, for shapes too large to
    /// hold in memory: nothing is stored, and readers see the fill value (zero). Any shape
    /// HDF5 accepts is allowed, even one whose element count overflows Int. Large shapes need
    /// `chunks`, since HDF5 sizes a contiguous dataset up front.
    public func createDataset<T: HDF5Element>(_ name: String, shape: [Int], of type: T.Type, chunks: [Int]? = nil,
                                              gzipLevel: Int? = nil) throws(HDF5Error) {
        let site = try site(childPath(name), "create dataset")
        guard let kind = ElementKind(T.self) else { throw site.error("\(T.self) is not a supported element type") }
        let did = try makeDataset(name, shape: shape, kind: kind, chunks: chunks, gzipLevel: gzipLevel, site)
        H5Dclose(did)
    }

    /// Creates dataset `name` after checking the layout options; the caller closes the id.
    private func makeDataset(_ name: String, shape: [Int], kind: ElementKind, chunks: [Int]?, gzipLevel: Int?,
                             _ site: Site) throws(HDF5Error) -> hid_t {
        if let level = gzipLevel, !(0...9).contains(level) {
            throw site.error("gzip level \(level) is not in 0...9")
        }
        var chunkShape = chunks
        if chunkShape == nil, gzipLevel != nil { chunkShape = shape.map { max($0, 1) } }
        if let chunkShape {
            guard !shape.isEmpty else { throw site.error("a scalar dataset cannot be chunked or compressed") }
            guard chunkShape.count == shape.count, chunkShape.allSatisfy({ $0 > 0 }) else {
                throw site.error("chunk shape \(chunkShape) does not fit dataset shape \(shape)")
            }
        }
        let space = try makeDataspace(shape, site)
        defer { H5Sclose(space) }
        let dcpl = try site.check(H5Pcreate(chdf5_P_DATASET_CREATE()), "cannot create property list")
        defer { H5Pclose(dcpl) }
        // No modification times (as h5py does), so identical content gives identical files.
        try site.check(H5Pset_obj_track_times(dcpl, false), "cannot switch off time tracking")
        if let chunkShape {
            let dims = chunkShape.map { hsize_t($0) }
            try site.check(H5Pset_chunk(dcpl, Int32(dims.count), dims), "H5Pset_chunk failed")
            if let level = gzipLevel {
                try site.check(H5Pset_deflate(dcpl, UInt32(level)), "H5Pset_deflate failed")
            }
        }
        let fileType = try kind.fileType(site)
        defer { H5Tclose(fileType) }
        return try site.check(H5Dcreate2(id, name, fileType, space, chdf5_P_DEFAULT(), dcpl, chdf5_P_DEFAULT()),
                              "H5Dcreate2 failed")
    }

    /// Reads any numeric dataset (float or integer), converted by HDF5 to T. Shape product must equal the count read.
    /// Throws for string/compound/other stored types, and when the element count overflows Int.
    public func read<T: HDF5Element>(_ name: String, as type: T.Type) throws(HDF5Error) -> (shape: [Int], values: [T]) {
        let site = try site(childPath(name), "read dataset")
        guard let kind = ElementKind(T.self) else { throw site.error("\(T.self) is not a supported element type") }
        let did = try site.check(H5Dopen2(id, name, chdf5_P_DEFAULT()), "H5Dopen2 failed")
        defer { H5Dclose(did) }
        let fileType = try site.check(H5Dget_type(did), "H5Dget_type failed")
        defer { H5Tclose(fileType) }
        let stored = classify(fileType)
        switch stored {
        case .float, .integer: break
        default: throw site.error("stored type \(stored) cannot be read as \(T.self)")
        }
        let space = try site.check(H5Dget_space(did), "H5Dget_space failed")
        defer { H5Sclose(space) }
        guard let shape = try dataspaceShape(space, site) else {
            throw site.error("dataset has a null dataspace (no data)")
        }
        let count = try checkedCount(shape, elementSize: MemoryLayout<T>.stride, site)
        let memoryType = try kind.memoryType(site)
        defer { H5Tclose(memoryType) }
        var status: herr_t = 0
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0 else { return }
            status = H5Dread(did, memoryType, chdf5_S_ALL(), chdf5_S_ALL(), chdf5_P_DEFAULT(), buffer.baseAddress)
            // The element types are trivial, so a half-written buffer can simply be dropped.
            initialized = status >= 0 ? count : 0
        }
        try site.check(status, "H5Dread failed")
        return (shape, values)
    }
}

/// HDF5's calls for one kind of object with a stored type and a dataspace (attribute, dataset).
struct ObjectCalls: Sendable {
    /// The API's prefix in error messages ("H5A"), and its open call's name ("H5Aopen").
    let prefix: String, openName: String
    let open: @Sendable (hid_t, String) -> hid_t
    let close: @Sendable (hid_t) -> Void
    let getType: @Sendable (hid_t) -> hid_t
    let getSpace: @Sendable (hid_t) -> hid_t

    static let attribute = ObjectCalls(prefix: "H5A", openName: "H5Aopen", open: { H5Aopen($0, $1, chdf5_P_DEFAULT()) },
                                       close: { H5Aclose($0) }, getType: { H5Aget_type($0) }, getSpace: { H5Aget_space($0) })
    static let dataset = ObjectCalls(prefix: "H5D", openName: "H5Dopen2", open: { H5Dopen2($0, $1, chdf5_P_DEFAULT()) },
                                     close: { H5Dclose($0) }, getType: { H5Dget_type($0) }, getSpace: { H5Dget_space($0) })
}

/// Creates a scalar (shape []) or simple dataspace; the caller closes it.
func makeDataspace(_ shape: [Int], _ site: Site) throws(HDF5Error) -> hid_t {
    if shape.isEmpty {
        return try site.check(H5Screate(H5S_SCALAR), "H5Screate failed")
    }
    guard shape.count <= 32 else { throw site.error("rank \(shape.count) exceeds HDF5's maximum of 32") }
    guard shape.allSatisfy({ $0 >= 0 }) else { throw site.error("shape \(shape) has a negative dimension") }
    let dims = shape.map { hsize_t($0) }
    return try site.check(H5Screate_simple(Int32(dims.count), dims, nil), "H5Screate_simple failed")
}

private func filterName(_ filter: H5Z_filter_t, _ hdf5Name: String) -> String {
    switch filter {
    case H5Z_FILTER_DEFLATE: return "gzip"
    case H5Z_FILTER_SHUFFLE: return "shuffle"
    case H5Z_FILTER_FLETCHER32: return "fletcher32"
    case H5Z_FILTER_SZIP: return "szip"
    case H5Z_FILTER_NBIT: return "nbit"
    case H5Z_FILTER_SCALEOFFSET: return "scaleoffset"
    default: return hdf5Name.isEmpty ? "filter \(filter)" : hdf5Name
    }
}
