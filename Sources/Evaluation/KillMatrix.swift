import DeformConv
import Foundation
import Scoring

/// Which golden cases kill which kernels: the gate's strength as a measurement (issue 18). Each
/// source of a verify run is a mutant (a kernel with one planted bug, tools/mutants/) except an
/// optional correct build; a case kills a mutant when its result is not a pass (an output or a
/// gradient outside the bound, an error-case mismatch, a failed call), per pass, or when the
/// determinism mode (`--repeat N`) finds its bits differ between runs.
///
/// Built from two verify reports, a forward-only and a backward-only run of the same sources and
/// files, so that each kill is attributed to the pass that made it.
public struct KillMatrix: Codable, Sendable {
    /// One golden case.
    public struct CaseReference: Codable, Sendable, Hashable {
        public var file: String
        public var caseName: String
        public init(file: String, caseName: String) {
            self.file = file
            self.caseName = caseName
        }

        enum CodingKeys: String, CodingKey {
            case file, caseName = "case"
        }
    }

    /// One mutant and the cases that kill it, in suite order.
    public struct Mutant: Codable, Sendable {
        public var name: String
        /// Cases whose forward result is not a pass.
        public var forward: [CaseReference]
        /// Cases whose backward result is not a pass.
        public var backward: [CaseReference]
        /// Cases whose output or gradient bits differ between runs (determinism mode only).
        public var nondeterministic: [CaseReference]
        public var killed: Bool { !(forward.isEmpty && backward.isEmpty && nondeterministic.isEmpty) }
        /// Every case that kills it, once each.
        public var killers: Set<CaseReference> { Set(forward + backward + nondeterministic) }
    }

    /// One case: how many mutants it kills, and those no other case kills.
    public struct CaseKills: Codable, Sendable {
        public var reference: CaseReference
        public var kills: Int
        public var onlyKiller: [String]

        enum CodingKeys: String, CodingKey {
            case reference = "case", kills, onlyKiller = "only_killer_of"
        }
    }

    public struct Summary: Codable, Sendable {
        public var mutants: Int
        public var killed: Int
        public var survivors: [String]
        /// Mutants killed by a forward, a backward and a determinism finding (a mutant may count in several).
        public var killedByForward: Int
        public var killedByBackward: Int
        public var killedByDeterminism: Int
        /// Cases of the correct build that are not a pass: none, or the kills mean nothing.
        public var correctFailures: [CaseReference]
        public var correct: String?
        /// Runs per case (`--repeat`); 1 when the determinism mode was off.
        public var repeats: Int

        /// Every mutant killed and the correct build (when given) passes everything.
        public var complete: Bool { survivors.isEmpty && correctFailures.isEmpty }
    }

    public var files: [String]
    public var summary: Summary
    public var mutants: [Mutant]
    /// Every case of the run, in suite order.
    public var cases: [CaseKills]

    /// The matrix of the sources of `forward` (a run with passes [.forward]) and `backward` (the same
    /// sources and files with [.backward]); the source named `correct` is the correct build.
    public init(forward: VerifyReport, backward: VerifyReport, correct: String? = nil, repeats: Int = 1) {
        let order = Self.once((forward.results + backward.results).map { CaseReference(file: $0.file, caseName: $0.caseName) })
        var files: [String] = []
        for reference in order where !files.contains(reference.file) { files.append(reference.file) }
        self.files = files
        func killers(_ report: VerifyReport, _ name: String, _ kills: (CaseResult) -> Bool) -> [CaseReference] {
            report.results.filter { $0.kernel == name && kills($0) }.map { CaseReference(file: $0.file, caseName: $0.caseName) }
        }
        let names = forward.kernels.map(\.name)
        let mutants = names.filter { $0 != correct }.map { name in
            Mutant(name: name, forward: killers(forward, name) { $0.status == .fail },
                   backward: killers(backward, name) { $0.status == .fail },
                   nondeterministic: Self.once(killers(forward, name) { $0.nondeterministic != nil }
                                               + killers(backward, name) { $0.nondeterministic != nil }))
        }
        let failing = { (result: CaseResult) in result.status == .fail || result.nondeterministic != nil }
        let correctFailed = Set(correct.map { killers(forward, $0, failing) + killers(backward, $0, failing) } ?? [])
        let correctFailures = order.filter(correctFailed.contains)
        self.mutants = mutants
        let killerSets = mutants.map(\.killers)
        cases = order.map { reference in
            let killing = mutants.indices.filter { killerSets[$0].contains(reference) }
            return CaseKills(reference: reference, kills: killing.count,
                             onlyKiller: killing.filter { killerSets[$0].count == 1 }.map { mutants[$0].name })
        }
        summary = Summary(mutants: mutants.count, killed: mutants.count(where: \.killed),
                          survivors: mutants.filter { !$0.killed }.map(\.name),
                          killedByForward: mutants.count { !$0.forward.isEmpty },
                          killedByBackward: mutants.count { !$0.backward.isEmpty },
                          killedByDeterminism: mutants.count { !$0.nondeterministic.isEmpty },
                          correctFailures: correctFailures, correct: correct, repeats: repeats)
    }

    /// Runs `verify` twice through `run` (forward only, then backward only: the same sources and
    /// files) and builds the matrix; `run` is a `Verifier` or an `IsolatedVerifier` with those passes.
    public static func measure(correct: String? = nil, repeats: Int = 1,
                               run: (Set<KernelPass>) throws -> VerifyReport) rethrows -> (matrix: KillMatrix, unreadable: [UnreadableFile]) {
        let forward = try run([.forward])
        let backward = try run([.backward])
        return (KillMatrix(forward: forward, backward: backward, correct: correct, repeats: repeats),
                forward.unreadable + backward.unreadable.filter { file in !forward.unreadable.contains { $0.file == file.file } })
    }

    /// `references` without repeats, in order (a case can be nondeterministic in both passes).
    static func once(_ references: [CaseReference]) -> [CaseReference] {
        var seen: Set<CaseReference> = []
        return references.filter { seen.insert($0).inserted }
    }

    /// 0 when every mutant is killed and the correct build passes, else 1.
    public var exitCode: Int32 { summary.complete ? 0 : 1 }
}
