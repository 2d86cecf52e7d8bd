import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// The renderer of a verify run's data model, `VerifyReport`: Markdown for people (accuracy.md)
/// and JUnit XML for CI systems; the JSON is the model itself, written by `ReportJSON`.
/// It reads the `VerifyReport` alone and computes nothing the run did not record.
public enum AccuracyReport {
    /// One row of the kernel × tag table.
    public struct TagRow: Sendable {
        public var kernel: String
        public var tag: String
        /// Every result, passed as a whole, and the worst ratio over their outputs.
        public var results = Counts()
        public var maxAbsError: Double?
        public var maxRelError: Double?
        /// Cases whose only part to check was a backward the kernel does not have.
        public var notImplemented = 0
        /// The backward parts checked (SPEC section 7), passed, and the worst ratio over their gradients.
        public var backward = Counts()
        var relSquares = 0.0
        var relElements = 0

        public var rmsRelError: Double? { relElements > 0 ? (relSquares / Double(relElements)).squareRoot() : nil }
    }

    /// Results counted into a row: how many, how many passed, and the worst ratio among them.
    public struct Counts: Sendable {
        public var cases = 0
        public var passed = 0
        public var worstRatio: Double?

        mutating func add(passed: Bool, ratio: Double?) {
            cases += 1
            if passed { self.passed += 1 }
            if let ratio { worstRatio = worse(worstRatio, ratio) }
        }
    }

    /// Per kernel, one row per tag in use plus an "all" row, in SPEC section 4's tag order: the one
    /// table accuracy.md and the HTML page both show. A result's ratio counts even without its
    /// statistics (a report written before they were recorded), so no row hides a ratio it has.
    public static func tagTable(_ report: VerifyReport) -> [TagRow] {
        var rows: [TagRow] = []
        for kernel in report.kernels.map(\.name) {
            let results = report.results.filter { $0.kernel == kernel }
            let tags = ["all"] + GoldenSchema.tags.filter { tag in results.contains { $0.tags.contains(tag) } }
                + Set(results.flatMap(\.tags)).subtracting(GoldenSchema.tags).sorted()
            for tag in tags {
                var row = TagRow(kernel: kernel, tag: tag)
                for result in results where tag == "all" || result.tags.contains(tag) {
                    row.results.add(passed: result.status == .pass, ratio: result.accuracy?.worstRatio ?? result.ratio)
                    if result.status == .notImplemented { row.notImplemented += 1 }
                    if let backward = result.backward, backward.status != .notImplemented {
                        row.backward.add(passed: backward.status == .pass, ratio: backward.ratio)
                    }
                    guard let stats = result.accuracy else { continue }
                    row.maxAbsError = worse(row.maxAbsError, stats.maxAbsError)
                    row.maxRelError = worse(row.maxRelError, stats.maxRelError)
                    row.relSquares += stats.rmsRelError * stats.rmsRelError * Double(stats.elements)
                    row.relElements += stats.elements
                }
                rows.append(row)
            }
        }
        return rows
    }

    /// The worse of a running worst (nil before the first value) and `candidate`, NaN worst of all
    /// (`AccuracyStats.isWorse`).
    static func worse(_ current: Double?, _ candidate: Double) -> Double {
        guard let current else { return candidate }
        return AccuracyStats.isWorse(candidate, than: current) ? candidate : current
    }

    /// A ratio as the reports print it: "0.982", "∞", "NaN", "–" for none (`FailureText.ratio`).
    public static func format(ratio: Double?) -> String { FailureText.ratio(ratio) }

    /// A magnitude as the reports print it: "1.23e-05", "0", "NaN", "–" (`FailureText.magnitude`).
    static func format(_ value: Double?) -> String { FailureText.magnitude(value) }

    public static func markdown(_ report: VerifyReport, command: String) -> String {
        var out = "# Accuracy report\n\n"
        let s = report.summary
        out += "`\(command)`\n\n"
        out += "**\(s.failed == 0 && report.unreadable.isEmpty ? "PASS" : "FAIL")**: \(s.passed) passed, \(s.failed) failed"
        out += " (\(s.cases) cases in \(s.files) file\(s.files == 1 ? "" : "s") × \(report.kernels.count) kernel\(report.kernels.count == 1 ? "" : "s")"
        if !report.unreadable.isEmpty { out += "; \(report.unreadable.count) file(s) unreadable" }
        if let count = s.nondeterministic { out += "; \(count) nondeterministic" }
        out += ")\n\n"
        out += """
        An element passes when |y_kernel − y| ≤ γ_{R+8}(u_acc)·y_abs + 8·u_s·y_abs + 2·u_s·y_pos + 2·η·y_tiny + ½·ulp_out(y) \
        (SPEC section 3, η half the smallest subnormal of the kernel's working precision); the ratio is error/bound, ≤ 1 passes. Exact cases allow no error at all for float32 kernels. \
        An error case passes when the kernel path raises exactly the expected class and code. \
        A worst ratio close to 1 on float16 outputs (and for the reference) is the final rounding to the output type, \
        ½ ulp, which the bound allows exactly; for scale, MindSpore 2.10's own float32 CPU output scores at most 0.2.\n\n
        """
        out += "| kernel | u_acc | u_s | what it is |\n|---|---|---|---|\n"
        for kernel in report.kernels {
            out += "| \(kernel.name) | 2^\(Int(log2(kernel.uAcc))) | 2^\(Int(log2(kernel.uS))) | \(kernel.summary) |\n"
        }
        out += "\n## Kernel × tag\n\n"
        out += "| kernel | tag | cases | passed | worst ratio | max abs error | max rel error | RMS rel error | not implemented | backward passed | backward worst ratio |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in tagTable(report) {
            let tag = row.tag == "all" ? "**all**" : row.tag
            let backward = row.backward.cases > 0 ? "\(row.backward.passed)/\(row.backward.cases) | \(format(ratio: row.backward.worstRatio))" : "– | –"
            out += "| \(row.kernel) | \(tag) | \(row.results.cases) | \(row.results.passed) | \(format(ratio: row.results.worstRatio)) | \(format(row.maxAbsError)) | \(format(row.maxRelError)) | \(format(row.rmsRelError)) | \(row.notImplemented) | \(backward) |\n"
        }
        out += failuresSection(report)
        out += nondeterminismSection(report)
        out += BackwardSection.markdown(report)
        out += underflowSection(report)
        out += float16Section(report)
        out += CoverageSection.markdown(report)
        let weak = Set(report.results.filter { $0.weak == true }.map { "\($0.file): \($0.caseName)" }).sorted()
        out += "\n## Weak cases\n\nValid cases where more than half the outputs equal their bias (every tap outside or masked to zero): they test little.\n\n"
        out += weak.isEmpty ? "None.\n" : weak.map { "- \($0)\n" }.joined()
        return out
    }

    private static func failuresSection(_ report: VerifyReport) -> String {
        var out = "\n## Failures\n\n"
        let failures = report.results.filter { $0.status == .fail }
        if failures.isEmpty && report.unreadable.isEmpty { return out + "None.\n" }
        for file in report.unreadable {
            out += "- **unreadable file** \(file.file): \(file.message)\n"
        }
        for result in failures {
            out += "- **\(result.caseName)** (\(result.file)) with **\(result.kernel)**: \(result.message ?? "failed")\n"
            guard let elements = result.accuracy?.failures, !elements.isEmpty else { continue }
            out += "\n  | n | o | ho | wo | expected | got | bound | ratio |\n  |---:|---:|---:|---:|---:|---:|---:|---:|\n"
            for e in elements {
                out += "  | \(e.n) | \(e.o) | \(e.ho) | \(e.wo) | \(e.expected) | \(e.got) | \(format(e.bound)) | \(format(ratio: e.ratio)) |\n"
            }
            out += "\n"
        }
        return out
    }

    /// What determinism mode did, for the Markdown and HTML sections.
    public static func determinismIntroduction(_ info: DeterminismInfo) -> String {
        "Each computing source ran each case \(info.repeats) times, and sources that take a thread count also \(info.repeats) times at "
            + info.threadCounts.map(String.init).joined(separator: " and ") + " threads; a result is nondeterministic when "
            + "a bit of its output or of a gradient differed between runs ("
            + nondeterminismRule(info.requireDeterministic) + ")."
    }

    /// Determinism mode (`verify --repeat N`): the results whose bits differed between runs. Absent when the mode was off.
    private static func nondeterminismSection(_ report: VerifyReport) -> String {
        guard let info = report.determinism else { return "" }
        var out = "\n## Nondeterministic results\n\n" + determinismIntroduction(info) + "\n\n"
        if !info.notRepeated.isEmpty {
            out += "Not repeated (recorded results): \(info.notRepeated.joined(separator: ", ")).\n\n"
        }
        let found = report.results.filter { $0.nondeterministic != nil }
        if found.isEmpty { return out + "None.\n" }
        for result in found {
            out += "- **\(result.caseName)** (\(result.file)) with **\(result.kernel)**: \(result.nondeterministic ?? "")\n"
        }
        return out
    }

    /// Where the gradual-underflow term 2·η·y_tiny decides: elements within the bound only because of it.
    private static func underflowSection(_ report: VerifyReport) -> String {
        var out = "\n## Gradual underflow\n\n"
        out += "Output elements within the bound only because of its term 2·η·y_tiny (SPEC section 3): a half-precision "
        out += "kernel's roundings into half's subnormal range, which no relative term covers.\n\n"
        var rows = ""
        for kernel in report.kernels.map(\.name) {
            let decided = report.results.filter { $0.kernel == kernel && ($0.accuracy?.passedByUnderflowTerm ?? 0) > 0 }
            guard !decided.isEmpty else { continue }
            let elements = decided.reduce(0) { $0 + ($1.accuracy?.passedByUnderflowTerm ?? 0) }
            rows += "| \(kernel) | \(elements) | \(decided.count) | \(decided.prefix(5).map(\.caseName).joined(separator: ", "))\(decided.count > 5 ? ", …" : "") |\n"
        }
        if rows.isEmpty { return out + "The term decides no element of this run.\n" }
        return out + "| kernel | elements | cases | for example |\n|---|---:|---:|---|\n" + rows
    }

    private static func float16Section(_ report: VerifyReport) -> String {
        let buckets = AccuracyStats.ulpBuckets.map(\.0)
        var out = "\n## Float16 outputs: error in ulps of float16\n\n"
        out += "Worst error relative to the case's max |y|, for comparison with MindSpore 2.10's float16 path "
        out += "(0.3% of max |y| on a 16-channel 3×3 case, SPEC section 1).\n\n"
        out += "| kernel | elements | worst error / max abs y | " + buckets.map { "\($0) ulp" }.joined(separator: " | ") + " |\n"
        out += "|---|---:|---:|" + String(repeating: "---:|", count: buckets.count) + "\n"
        var any = false
        for kernel in report.kernels.map(\.name) {
            var totals: [String: Int] = [:]
            var worstScaled = 0.0
            for result in report.results where result.kernel == kernel {
                guard let stats = result.accuracy, let histogram = stats.ulpHistogram else { continue }
                for (bucket, count) in histogram { totals[bucket, default: 0] += count }
                if stats.maxAbsExpected > 0 { worstScaled = max(worstScaled, stats.maxAbsError / stats.maxAbsExpected) }
            }
            let elements = totals.values.reduce(0, +)
            guard elements > 0 else { continue }
            any = true
            out += "| \(kernel) | \(elements) | \(String(format: "%.3f%%", 100 * worstScaled)) | " + buckets.map { "\(totals[$0] ?? 0)" }.joined(separator: " | ") + " |\n"
        }
        return any ? out : ""
    }

    /// JUnit XML: one test suite per kernel, one test case per golden case.
    public static func junit(_ report: VerifyReport) -> String {
        // Attribute values keep their newlines as references, so a case name reads back as written.
        func escape(_ text: String) -> String { XMLText.escape(text, attribute: true) }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"dcn verify\" tests=\"\(report.results.count + report.unreadable.count)\" failures=\"\(report.summary.failed + report.unreadable.count)\" skipped=\"\(report.summary.notImplemented)\">\n"
        for kernel in report.kernels.map(\.name) {
            let results = report.results.filter { $0.kernel == kernel }
            let failures = results.count { $0.status == .fail } + report.unreadable.count
            let time = results.reduce(0) { $0 + ($1.seconds ?? 0) }
            let skipped = results.count { $0.status == .notImplemented }
            xml += "  <testsuite name=\"\(escape(kernel))\" tests=\"\(results.count + report.unreadable.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\" time=\"\(time)\">\n"
            for file in report.unreadable {
                xml += "    <testcase classname=\"\(escape(file.file)).\(escape(kernel))\" name=\"(file)\">\n"
                xml += "      <failure message=\"unreadable file\">\(XMLText.escape(file.message))</failure>\n    </testcase>\n"
            }
            for result in results {
                let name = escape(result.caseName)
                xml += "    <testcase classname=\"\(escape(result.file)).\(escape(kernel))\" name=\"\(name)\" time=\"\(result.seconds ?? 0)\">"
                if result.status == .fail {
                    xml += "\n      <failure message=\"\(escape(result.message ?? "failed"))\">\(XMLText.escape(detail(result)))</failure>\n    "
                } else if result.status == .notImplemented {
                    // Counted apart, never a pass: JUnit's skipped, with the reason.
                    xml += "\n      <skipped message=\"\(escape(result.message ?? "not implemented"))\"/>\n    "
                }
                if let finding = result.nondeterministic {
                    // A failure (in the message) with --require-deterministic; otherwise a warning CI shows with the case.
                    xml += "\n      <system-out>\(XMLText.escape(nondeterministicWarning(finding, failed: result.status == .fail)))</system-out>\n    "
                }
                xml += "</testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// "nondeterministic (a warning; --require-deterministic makes it a failure): forward y[3] differs …".
    static func nondeterministicWarning(_ finding: String, failed: Bool) -> String {
        "nondeterministic (" + nondeterminismRule(failed) + "): " + finding
    }

    /// What a nondeterministic result counts as.
    static func nondeterminismRule(_ required: Bool) -> String {
        required ? "a failure: --require-deterministic" : "a warning; --require-deterministic makes it a failure"
    }

    private static func detail(_ result: CaseResult) -> String {
        var lines = ["expect: \(result.expect)\(result.expectedErrorCode.map { " (\($0))" } ?? "")"]
        if let code = result.errorCode { lines.append("raised: \(result.errorClass ?? "") (\(code))") }
        for e in result.accuracy?.failures ?? [] {
            lines.append("n=\(e.n) o=\(e.o) ho=\(e.ho) wo=\(e.wo) expected=\(e.expected) got=\(e.got) bound=\(e.bound) ratio=\(format(ratio: e.ratio))")
        }
        for e in (result.backward?.tensors ?? []).flatMap(\.failures) {
            lines.append("backward \(e.tensor)\(e.index) expected=\(e.expected) got=\(e.got) bound=\(e.bound) ratio=\(format(ratio: e.ratio))")
        }
        return lines.joined(separator: "\n")
    }
}
