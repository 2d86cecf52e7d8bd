import Evaluation
import Foundation

/// The renderer of a `KillMatrix`: its Markdown, for people (the JSON, written by `ReportJSON`, is for scripts).
public enum KillMatrixReport {
    public static func markdown(_ m: KillMatrix, command: String? = nil) -> String {
        var out = "# Mutant kill matrix\n\n"
        if let command { out += "`\(command)`\n\n" }
        out += summaryLine(m) + "\n\n"
        if let correct = m.summary.correct {
            out += m.summary.correctFailures.isEmpty
                ? "The correct build (**\(correct)**) passes every case.\n\n"
                : "**The correct build (\(correct)) fails \(m.summary.correctFailures.count) cases**: \(names(m.summary.correctFailures, m)). Its kills mean nothing until it passes.\n\n"
        }
        if !m.summary.survivors.isEmpty {
            out += "**Survivors** (no case kills them): \(m.summary.survivors.map { "`\($0)`" }.joined(separator: ", ")).\n\n"
        }
        out += "A case kills a mutant when its result is not a pass: an output or gradient outside the bound, an error-case "
            + "mismatch, a failed call" + (m.summary.repeats > 1 ? ", or bits that differ between runs (`--repeat \(m.summary.repeats)`)" : "")
            + ". Forward and backward are separate runs (`--pass forward`, `--pass backward`).\n\n"
        out += "## Mutants\n\n| mutant | killed | forward kills | backward kills | nondeterministic |\n|---|---|---:|---:|---:|\n"
        for mutant in m.mutants {
            out += "| `\(mutant.name)` | \(mutant.killed ? "yes" : "**no**") | \(mutant.forward.count) | \(mutant.backward.count) | \(mutant.nondeterministic.count) |\n"
        }
        out += "\n## Cases that kill each mutant\n\n"
        for mutant in m.mutants {
            let parts = [("forward", mutant.forward), ("backward", mutant.backward), ("nondeterministic", mutant.nondeterministic)]
                .filter { !$0.1.isEmpty }.map { "\($0.0): \(names($0.1, m))" }
            out += "- **\(mutant.name)**: " + (parts.isEmpty ? "none (survives)" : parts.joined(separator: "; ")) + "\n"
        }
        out += "\n## Cases and the mutants only they kill\n\n"
        out += "Cases that kill nothing are left out (\(m.cases.count { $0.kills == 0 }) of \(m.cases.count)).\n\n"
        out += "| case | mutants killed | only this case kills |\n|---|---:|---|\n"
        for item in m.cases where item.kills > 0 {
            out += "| \(name(item.reference, m)) | \(item.kills) | \(item.onlyKiller.map { "`\($0)`" }.joined(separator: ", ")) |\n"
        }
        return out
    }

    /// "42 of 42 mutants killed (100%): 27 by a forward case, 33 by a backward case, 1 by the determinism mode."
    public static func summaryLine(_ m: KillMatrix) -> String {
        let s = m.summary
        let share = s.mutants == 0 ? "–" : String(format: "%.0f%%", 100 * Double(s.killed) / Double(s.mutants))
        var line = "**\(s.killed) of \(s.mutants) mutants killed (\(share))**: \(s.killedByForward) by a forward case, \(s.killedByBackward) by a backward case"
        if s.repeats > 1 { line += ", \(s.killedByDeterminism) by the determinism mode" }
        return line + "."
    }

    /// A case's name, with its file when the matrix spans several.
    static func name(_ reference: KillMatrix.CaseReference, _ m: KillMatrix) -> String {
        m.files.count > 1 ? "\(reference.file): \(reference.caseName)" : reference.caseName
    }

    static func names(_ references: [KillMatrix.CaseReference], _ m: KillMatrix) -> String {
        references.map { name($0, m) }.joined(separator: ", ")
    }
}
