import Foundation

/// How far a long reference evaluation has got: `done` of `total` units of work, increasing
/// from call to call, the last call with done == total.
///
/// The units are the evaluation's own (ReferenceKernel's `evaluate` and `evaluateBackward`
/// say which): only the ratio, and the sum over several evaluations, mean something. Calls are
/// made from the worker threads but never two at once, at most about 200 times per evaluation.
/// A generator that shows one line for a case's forward and backward adds the two
/// (`ReferenceKernel.progressTotals`):
///
///     let (forward, backward) = ReferenceKernel.progressTotals(problem)
///     let y = reference.evaluate(problem, inputs) { done, _ in line.show(done, of: forward + backward) }
///     let g = reference.evaluateBackward(problem, inputs, gy: gy) { done, _ in line.show(forward + done, of: forward + backward) }
public typealias ReferenceProgress = @Sendable (_ done: Int, _ total: Int) -> Void

/// Shares the work items of one reference evaluation among threads, and reports progress.
///
/// Each item is computed whole by one thread, in one order that does not depend on which
/// thread runs it, so the results are the same bits for every thread count; items are handed
/// out in turn, so that a thread slowed down by the machine's other jobs just takes fewer.
struct ReferenceWork: Sendable {
    /// Evaluations with fewer units than this run on the calling thread: starting threads costs
    /// more than they save (the golden suite's and the fuzzer's problems are mostly this small).
    static let minimumUnitsToShare = 1 << 14

    let threads: Int
    private let counter: ProgressCounter?

    /// `total` units of work for `progress`, shared by up to `threads` threads when there are at least
    /// `minimumUnitsToShare` of them.
    init(threads: Int, total: Int, minimumUnitsToShare: Int = Self.minimumUnitsToShare, progress: ReferenceProgress?) {
        self.threads = total < minimumUnitsToShare ? 1 : max(1, threads)
        counter = progress.map { ProgressCounter(total: total, report: $0) }
    }

    /// Runs `worker` on up to `threads` threads (never more than `count`); each instance takes
    /// items of 0..<count from `nextItem` until it returns nil. A worker allocates its scratch
    /// once, for all the items it takes.
    func share(_ count: Int, _ worker: @Sendable (_ nextItem: () -> Int?) -> Void) {
        let parts = min(threads, count)
        guard parts > 1 else {
            var next = 0
            worker { () -> Int? in
                guard next < count else { return nil }
                defer { next += 1 }
                return next
            }
            return
        }
        let items = ItemCounter(count: count)
        DispatchQueue.concurrentPerform(iterations: parts) { _ in worker(items.next) }
    }

    /// Counts `units` more units of work done.
    func finished(_ units: Int) {
        counter?.add(units)
    }
}

/// The next item to hand out, shared by the threads of one `ReferenceWork.share`.
private final class ItemCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = 0
    private let count: Int

    init(count: Int) {
        self.count = count
    }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard taken < count else { return nil }
        taken += 1
        return taken - 1
    }
}

/// Units done, reported about every 1/200 of the total; the lock makes the reports one at a time
/// and in increasing order.
private final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var reported = 0
    private let total: Int
    private let step: Int
    private let report: ReferenceProgress

    init(total: Int, report: @escaping ReferenceProgress) {
        self.total = total
        self.report = report
        step = max(1, total / 200)
    }

    func add(_ units: Int) {
        lock.lock()
        defer { lock.unlock() }
        done += units
        guard done - reported >= step || done == total else { return }
        reported = done
        report(done, total)
    }
}
