import Foundation
import Scoring

/// One buffer a plugin gets (include/dcn_kernel.h's guard checks): its elements between two guard
/// regions of `guardBytes` bytes of `guardPattern`, 64-byte aligned so that a vectorized plugin
/// sees the alignment it would from malloc or better.
///
/// Inputs are copies of dcn's arrays, compared with them after the call; outputs are filled with a
/// NaN whose payload no arithmetic produces from finite inputs, so an element still holding those
/// bits was never written. Read-only pages (mprotect) would turn a write into an input into a
/// SIGSEGV that can be named only by a process-wide signal handler reading si_addr; a compared
/// copy names the input and its first changed element without one, in-process as in
/// `verify`'s child, and keeps dcn's own arrays (shared by every source of the run) intact.
struct GuardedBuffer {
    /// 256 bytes: a 64-element float overrun, four AVX-512 vectors, lands inside the guard.
    static let guardBytes = 256
    static let guardPattern: UInt8 = 0xA5

    let name: String
    let shape: [Int]
    let count: Int
    let elementSize: Int
    private let base: UnsafeMutableRawPointer

    /// The elements: what the plugin gets.
    var data: UnsafeMutableRawPointer { base + Self.guardBytes }

    private init<T>(name: String, shape: [Int], count: Int, of _: T.Type) {
        self.name = name
        self.shape = shape
        self.count = count
        elementSize = MemoryLayout<T>.stride
        base = UnsafeMutableRawPointer.allocate(byteCount: count * elementSize + 2 * Self.guardBytes, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: Self.guardBytes)
        (data + count * elementSize).initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: Self.guardBytes)
    }

    /// An output of `count` elements, each `fill`.
    init<T>(output name: String, shape: [Int], count: Int, fill: T) {
        self.init(name: name, shape: shape, count: count, of: T.self)
        data.initializeMemory(as: T.self, repeating: fill, count: count)
    }

    /// A copy of an input.
    init<T>(input name: String, shape: [Int], copying values: [T]) {
        self.init(name: name, shape: shape, count: values.count, of: T.self)
        values.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    func deallocate() { base.deallocate() }

    /// The elements as an array.
    func values<T>(as _: T.Type) -> [T] {
        Array(UnsafeBufferPointer(start: data.bindMemory(to: T.self, capacity: count), count: count))
    }

    /// Writes into either guard region: how far from the buffer's edge the farthest changed byte lies.
    func guardViolations() -> [GuardViolation] {
        var found: [GuardViolation] = []
        let before = UnsafeRawBufferPointer(start: base, count: Self.guardBytes)
        if let first = before.firstIndex(where: { $0 != Self.guardPattern }) {
            found.append(GuardViolation(kind: .beforeStart, buffer: name, count: Self.guardBytes - first, elements: count))
        }
        let after = UnsafeRawBufferPointer(start: data + count * elementSize, count: Self.guardBytes)
        if let last = after.lastIndex(where: { $0 != Self.guardPattern }) {
            found.append(GuardViolation(kind: .pastEnd, buffer: name, count: last + 1, elements: count))
        }
        return found
    }

    /// Elements whose bytes differ from (`differing`) or equal (`!differing`) `reference(i)`'s, as
    /// words of the element's size (a load per element: a memcmp call each made a guarded call of a
    /// 0.7 ms plugin take 1.6 ms).
    private func elements(differing: Bool, from reference: (Int) -> UnsafeRawPointer) -> (count: Int, first: Int?) {
        switch elementSize {
        case 2: scan(UInt16.self, differing: differing, from: reference)
        case 4: scan(UInt32.self, differing: differing, from: reference)
        default: scan(UInt64.self, differing: differing, from: reference)
        }
    }

    private func scan<Word: FixedWidthInteger>(_: Word.Type, differing: Bool,
                                               from reference: (Int) -> UnsafeRawPointer) -> (count: Int, first: Int?) {
        var matched = 0
        var first: Int?
        for index in 0..<count {
            let got = data.loadUnaligned(fromByteOffset: index * elementSize, as: Word.self)
            if (got != reference(index).loadUnaligned(as: Word.self)) == differing {
                matched += 1
                if first == nil { first = index }
            }
        }
        return (matched, first)
    }

    /// The output elements that still hold `fill`'s bits.
    func unwritten<T>(fill: T) -> GuardViolation? {
        withUnsafeBytes(of: fill) { fillBytes in
            violation(.notWritten, elements(differing: false) { _ in fillBytes.baseAddress! })
        }
    }

    /// The input elements that differ from `original` (one memcmp when none does).
    func changed<T>(from original: [T]) -> GuardViolation? {
        original.withUnsafeBytes { bytes in
            guard memcmp(data, bytes.baseAddress!, bytes.count) != 0 else { return nil }
            return violation(.inputWritten, elements(differing: true) { bytes.baseAddress! + $0 * elementSize })
        }
    }

    private func violation(_ kind: GuardViolation.Kind, _ found: (count: Int, first: Int?)) -> GuardViolation? {
        guard let first = found.first else { return nil }
        return GuardViolation(kind: kind, buffer: name, count: found.count, elements: count, firstIndex: first,
                              firstPosition: Self.position(of: first, in: shape))
    }

    /// A flat index in a row-major shape.
    static func position(of index: Int, in shape: [Int]) -> [Int] {
        var rest = index
        var position = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            position[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return position
    }
}

/// The buffers of one plugin call, checked after it; or, unchecked (`dcn bench`, whose times
/// must be the plugin's), dcn's own input arrays and outputs with no check.
struct GuardedCall<T> {
    /// nil where the plugin gets NULL (no bias); empty when unchecked.
    let inputs: [(buffer: GuardedBuffer, original: [T])?]
    /// The input arrays an unchecked call passes as they are.
    let arrays: [[T]?]
    let outputs: [GuardedBuffer?]
    let fill: T
    let checked: Bool

    /// `inputs` as (name, shape, values); `outputs` as (name, shape, count), nil values or counts for NULL.
    init(inputs: [(String, [Int], [T]?)], outputs: [(String, [Int], Int?)], fill: T, checked: Bool = true) {
        self.checked = checked
        arrays = inputs.map(\.2)
        self.inputs = checked ? inputs.map { name, shape, values in
            values.map { (GuardedBuffer(input: name, shape: shape, copying: $0), $0) }
        } : []
        self.outputs = outputs.map { name, shape, count in
            count.map { GuardedBuffer(output: name, shape: shape, count: $0, fill: fill) }
        }
        self.fill = fill
    }

    /// Calls `body` with the inputs' addresses (the copies, or dcn's arrays, valid for the whole call).
    func withInputAddresses<R>(_ body: ([UnsafeRawPointer?]) -> R) -> R {
        if checked { return body(inputs.map { $0.map { UnsafeRawPointer($0.buffer.data) } }) }
        return Self.withAddresses(arrays[...], [], body)
    }

    /// The nested `withUnsafeBytes` a C call with several buffers needs.
    private static func withAddresses<R>(_ arrays: ArraySlice<[T]?>, _ addresses: [UnsafeRawPointer?],
                                         _ body: ([UnsafeRawPointer?]) -> R) -> R {
        guard let first = arrays.first else { return body(addresses) }
        guard let array = first else { return withAddresses(arrays.dropFirst(), addresses + [nil], body) }
        return array.withUnsafeBytes { withAddresses(arrays.dropFirst(), addresses + [$0.baseAddress], body) }
    }

    var outputAddresses: [UnsafeMutableRawPointer?] { outputs.map { $0?.data } }

    /// What the checks caught (nothing when unchecked); outputs are checked for unwritten elements
    /// only after a successful call.
    func violations(succeeded: Bool) -> [GuardViolation] {
        guard checked else { return [] }
        var found: [GuardViolation] = []
        for input in inputs.compactMap({ $0 }) {
            found += input.buffer.guardViolations()
            if let changed = input.buffer.changed(from: input.original) { found.append(changed) }
        }
        for output in outputs.compactMap({ $0 }) {
            found += output.guardViolations()
            if succeeded, let unwritten = output.unwritten(fill: fill) { found.append(unwritten) }
        }
        return found
    }

    /// The outputs' values (nil for NULL).
    var values: [[T]?] { outputs.map { $0?.values(as: T.self) } }

    func deallocate() {
        inputs.forEach { $0?.buffer.deallocate() }
        outputs.forEach { $0?.deallocate() }
    }
}
