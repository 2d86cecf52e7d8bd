import CHDF5

/// Every HDF5 failure. Names the file and the object path inside it.
public struct HDF5Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// Path of the file as given by the caller.
    public var file: String
    /// Path inside the file, e.g. "/cases/basic-1/x", or "/cases/basic-1@kernel_size" for an
    /// attribute; "/" for the file itself.
    public var object: String
    /// What was attempted: "open file", "read dataset", "read attribute", ...
    public var operation: String
    /// The innermost message of HDF5's error stack, or our own reason when HDF5 was not at fault.
    public var detail: String

    /// "\(file): \(object): cannot \(operation): \(detail)"
    public var description: String { "\(file): \(object): cannot \(operation): \(detail)" }
}

/// The place and purpose of one public operation; turns failed HDF5 calls into `HDF5Error`.
///
/// Creating a `Site` also silences HDF5's automatic error printing: in a thread-safe HDF5
/// build (Debian's is one) that setting is per thread, so doing it once per process would
/// leave other threads printing stacks to stderr.
struct Site {
    let file: String
    let object: String
    let operation: String

    init(file: String, object: String, operation: String) {
        self.file = file
        self.object = object
        self.operation = operation
        chdf5_silence_errors()
    }

    /// An error with our own reason; also drops whatever HDF5 left on its stack.
    func error(_ detail: String) -> HDF5Error {
        H5Eclear2(chdf5_E_DEFAULT())
        return HDF5Error(file: file, object: object, operation: operation, detail: detail)
    }

    /// An error whose detail is the innermost message of HDF5's current error stack.
    /// Must be called before any other HDF5 call, which would clear the stack.
    func stackError(_ fallback: String) -> HDF5Error {
        var buffer = [CChar](repeating: 0, count: 1024)
        let found = chdf5_take_error_detail(&buffer, buffer.count)
        let detail = found != 0 ? decodeCString(buffer) : fallback
        return HDF5Error(file: file, object: object, operation: operation, detail: detail)
    }

    /// Returns `id` when it is a valid identifier, otherwise throws the HDF5 error stack.
    @discardableResult
    func check(_ id: hid_t, _ fallback: @autoclosure () -> String) throws(HDF5Error) -> hid_t {
        if id < 0 { throw stackError(fallback()) }
        return id
    }

    /// Throws the HDF5 error stack when `status` is negative.
    func check(_ status: herr_t, _ fallback: @autoclosure () -> String) throws(HDF5Error) {
        if status < 0 { throw stackError(fallback()) }
    }

    /// Throws the HDF5 error stack when the tri-state result is negative; true when positive.
    func check(tri value: htri_t, _ fallback: @autoclosure () -> String) throws(HDF5Error) -> Bool {
        if value < 0 { throw stackError(fallback()) }
        return value > 0
    }

    /// `H5Aget_name_by_idx` and `H5Lget_name_by_idx`, which take the same arguments.
    typealias NameByIndex = (hid_t, UnsafePointer<CChar>?, H5_index_t, H5_iter_order_t, hsize_t,
                             UnsafeMutablePointer<CChar>?, Int, hid_t) -> Int

    /// The NUL-terminated name of the `index`th `what` (e.g. "attribute name") of `id` in name order:
    /// its length asked first, then read into a buffer of that size. A length of a MiB or more is
    /// refused, since only a hostile file has one and the buffer would be allocated from it.
    func name(at index: hsize_t, of id: hid_t, _ what: String, _ nameByIndex: NameByIndex) throws(HDF5Error) -> [CChar] {
        let length = nameByIndex(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_P_DEFAULT())
        if length < 0 { throw stackError("cannot read \(what) \(index)") }
        guard length < 1 << 20 else { throw error("\(what) \(index) is \(length) bytes long") }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let got = nameByIndex(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_P_DEFAULT())
        if got < 0 { throw stackError("cannot read \(what) \(index)") }
        return buffer
    }
}

/// Decodes a NUL-terminated buffer without trapping on invalid UTF-8 (hostile files).
func decodeCString(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
