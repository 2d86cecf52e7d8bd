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

    /// Elements whose bytes differ from (`differing`) or equal (`!differing`) `reference(i)`'s.
    private func elements(differing: Bool, from reference: (Int) -> UnsafeRawPointer) -> (count: Int, first: Int?) {
        var matched = 0
        var first: Int?
        for index in 0..<count where (memcmp(data + index * elementSize, reference(index), elementSize) != 0) == differing {
            matched += 1
            if first == nil { first = index }
        }
        return (matched, first)
    }

    /// The output elements that still hold `fill`'s bits.
    func unwritten<T>(fill: T) -> GuardViolation? {
        withUnsafeBytes(of: fill) { fillBytes in
            violation(.notWritten, elements(differing: false) { _ in fillBytes.baseAddress! })
        }
    }

    /// The input elements that differ from `original`.
    func changed<T>(from original: [T]) -> GuardViolation? {
        original.withUnsafeBytes { bytes in
            violation(.inputWritten, elements(differing: true) { bytes.baseAddress! + $0 * elementSize })
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

/// The buffers of one plugin call, checked after it (`GuardedBuffer`).
struct GuardedCall<T> {
    /// nil where the plugin gets NULL (no bias).
    let inputs: [(buffer: GuardedBuffer, original: [T])?]
    let outputs: [GuardedBuffer?]
    let fill: T

    /// `inputs` as (name, shape, values); `outputs` as (name, shape, count), nil values or counts for NULL.
    init(inputs: [(String, [Int], [T]?)], outputs: [(String, [Int], Int?)], fill: T) {
        self.inputs = inputs.map { name, shape, values in
            values.map { (GuardedBuffer(input: name, shape: shape, copying: $0), $0) }
        }
        self.outputs = outputs.map { name, shape, count in
            count.map { GuardedBuffer(output: name, shape: shape, count: $0, fill: fill) }
        }
        self.fill = fill
    }

    var inputAddresses: [UnsafeRawPointer?] { inputs.map { $0.map { UnsafeRawPointer($0.buffer.data) } } }
    var outputAddresses: [UnsafeMutableRawPointer?] { outputs.map { $0?.data } }

    /// What the checks caught; outputs are checked for unwritten elements only after a successful call.
    func violations(succeeded: Bool) -> [GuardViolation] {
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
