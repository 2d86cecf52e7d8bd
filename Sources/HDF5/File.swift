import CHDF5

/// An open HDF5 file.
///
/// Groups opened from a file stay usable after the file is closed: HDF5 keeps the file open
/// until its last object is closed (the default "weak" close degree).
public final class File {
    /// How `open` accesses the file.
    public enum Mode: Sendable { case readOnly, readWrite }

    /// Path of the file as given by the caller.
    public let path: String
    private var id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    deinit { close() }

    /// Creates a file, truncating an existing one.
    public static func create(_ path: String) throws(HDF5Error) -> File {
        let site = Site(file: path, object: "/", operation: "create file")
        let id = try site.check(H5Fcreate(path, chdf5_F_ACC_TRUNC(), chdf5_P_DEFAULT(), chdf5_P_DEFAULT()),
                                "H5Fcreate failed")
        return File(path: path, id: id)
    }

    /// Opens an existing file.
    public static func open(_ path: String, mode: Mode = .readOnly) throws(HDF5Error) -> File {
        let site = Site(file: path, object: "/", operation: "open file")
        let flags = mode == .readOnly ? chdf5_F_ACC_RDONLY() : chdf5_F_ACC_RDWR()
        let id = try site.check(H5Fopen(path, flags, chdf5_P_DEFAULT()), "H5Fopen failed")
        return File(path: path, id: id)
    }

    /// The "/" group.
    public var root: Group {
        get throws(HDF5Error) {
            let site = Site(file: path, object: "/", operation: "open group")
            guard id >= 0 else { throw site.error("file is closed") }
            let gid = try site.check(H5Gopen2(id, "/", chdf5_P_DEFAULT()), "H5Gopen2 failed")
            return Group(filePath: path, path: "/", id: gid)
        }
    }

    /// Closes the file; idempotent. Objects still open from it keep it open until they close.
    public func close() {
        guard id >= 0 else { return }
        chdf5_silence_errors()
        H5Fclose(id)
        id = -1
    }

    /// Number of open HDF5 objects of every kind in every file (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL)).
    public static func openObjectCount() -> Int {
        chdf5_silence_errors()
        let all = chdf5_F_OBJ_ALL()
        return Int(H5Fget_obj_count(hid_t(all), all))
    }

    /// Identifiers open in the library by kind, including transient datatypes, dataspaces and
    /// property lists that `openObjectCount` does not see. For leak tests.
    static func openIdentifierCounts() -> [String: Int] {
        chdf5_silence_errors()
        let kinds: [(String, H5I_type_t)] = [
            ("file", H5I_FILE), ("group", H5I_GROUP), ("datatype", H5I_DATATYPE),
            ("dataspace", H5I_DATASPACE), ("dataset", H5I_DATASET), ("attribute", H5I_ATTR),
            ("property list", H5I_GENPROP_LST),
        ]
        var counts: [String: Int] = [:]
        for (name, kind) in kinds {
            var n: hsize_t = 0
            counts[name] = H5Inmembers(kind, &n) >= 0 ? Int(n) : -1
        }
        return counts
    }
}
