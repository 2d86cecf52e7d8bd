import DeformConv

/// How far a generation has got, as its progress handler hears it while the float64 reference
/// works: the case, how many of its outputs and backward samples are done, and how much of the
/// whole generation's work, so that a time left can follow the work rather than the case count.
///
/// The handler (`SuiteGenerator.generate`, `InputsSuite.generate`) hears every case once as it
/// starts (nothing done yet), about 200 times per reference evaluation, from the reference's
/// threads but never two at once (`ReferenceProgress`), and once as its file write starts
/// (`writing`, for a valid case). The values increase, except
/// that a weak draw, redrawn (`SuiteGenerator.validCase`), starts its forward again; the case's
/// last report has `outputsDone == outputs` and `backwardDone == backwardSamples`.
public struct GenerationProgress: Sendable, Equatable {
    /// The case being computed, counted from 0, of `cases`.
    public var caseIndex = 0
    public var cases = 1
    public var name: String
    /// Output elements of the case's forward done, of `outputs` (0 for an error case).
    public var outputsDone = 0
    public var outputs = 0
    /// Units of the case's backward done, of `backwardSamples`: samples, each counted twice
    /// (`ReferenceKernel.progressTotals`); 0 of 0 for a case without gradients.
    public var backwardDone = 0
    public var backwardSamples = 0
    /// The case's reference is done and it is being written (compressed) to the file.
    public var writing = false
    /// Work of the whole generation done, of `work`, in multiply-adds (`work(of:backward:)`).
    public var workDone = 0.0
    public var work = 0.0

    /// The case's work in its forward, backward and write, the three adding up to `work`.
    var forwardWork = 0.0, backwardWork = 0.0, writeWork = 0.0

    /// The share of the generation's work done, 0…1.
    public var fractionDone: Double { work > 0 ? min(1, workDone / work) : 0 }

    /// A case of `problem` (nil for an error case) as a generation of its own, nothing done yet.
    init(name: String, problem: DeformConvProblem?, backward: Bool) {
        self.name = name
        guard let problem else { return }
        let totals = ReferenceKernel.progressTotals(problem)
        outputs = totals.forward
        backwardSamples = backward ? totals.backward : 0
        (forwardWork, backwardWork, writeWork) = Self.work(of: problem, backward: backward)
        work = forwardWork + backwardWork + writeWork
    }

    /// A case's work in multiply-adds of the reference: the forward's outputs × reduction length;
    /// the backward as much (measured 24 s against the forward's 29 s for
    /// mb2ic256ih100iw152oc256kh3ph1pw1dg4); the write, gzip on one thread, 12 per byte stored and
    /// per reference thread (measured on 2 cores: 25 MB/s against 0.62 G multiply-adds a second;
    /// the write took 19 s of that case's 72 s, and 9.5 of 10 s with a 64 M-element x and 32 outputs).
    static func work(of p: DeformConvProblem, backward: Bool) -> (forward: Double, backward: Double, write: Double) {
        let forward = Double(p.outputCount) * Double(p.reductionLength)
        let inputs = p.xCount + p.weightCount + p.offsetsCount + (p.hasBias ? p.outputChannels : 0) + (backward ? p.outputCount : 0)
        // y with its three magnitudes, and the gradients, in float64.
        let results = 4 * p.outputCount + (backward ? p.xCount + p.weightCount + p.offsetsCount + (p.hasBias ? p.outputChannels : 0) : 0)
        let bytes = Double(inputs * (p.dtype == .float16 ? 2 : 4) + 8 * results)
        return (forward, backward ? forward : 0, bytes * 12 * Double(ReferenceKernel().threads))
    }

    /// The hook for the case's forward evaluation, reporting to `handler`.
    func forwardHook(_ handler: (@Sendable (GenerationProgress) -> Void)?) -> ReferenceProgress? {
        guard let handler else { return nil }
        let start = self
        return { done, total in
            var now = start
            now.outputsDone = done
            now.workDone = start.forwardWork * Double(done) / Double(max(1, total))
            handler(now)
        }
    }

    /// The hook for the case's backward evaluation, after its forward, reporting to `handler`.
    func backwardHook(_ handler: (@Sendable (GenerationProgress) -> Void)?) -> ReferenceProgress? {
        guard let handler else { return nil }
        let start = self
        return { done, total in
            var now = start
            now.outputsDone = now.outputs
            now.backwardDone = done
            now.workDone = start.forwardWork + start.backwardWork * Double(done) / Double(max(1, total))
            handler(now)
        }
    }

    /// The case with its reference done, as its write starts.
    var writingStarted: GenerationProgress {
        var now = self
        (now.outputsDone, now.backwardDone, now.writing) = (outputs, backwardSamples, true)
        now.workDone = forwardWork + backwardWork
        return now
    }

    /// A handler of one case's own progress that reports it to `handler` as case `index` of
    /// `cases`, after `before` of the generation's `work` (nil without a handler).
    static func placing(_ handler: (@Sendable (GenerationProgress) -> Void)?, at index: Int, of cases: Int,
                        after before: Double, of work: Double) -> (@Sendable (GenerationProgress) -> Void)? {
        guard let handler else { return nil }
        return { caseProgress in
            var now = caseProgress
            (now.caseIndex, now.cases) = (index, cases)
            (now.workDone, now.work) = (before + caseProgress.workDone, work)
            handler(now)
        }
    }
}
