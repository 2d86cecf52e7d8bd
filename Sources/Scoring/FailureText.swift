import DeformConv
import Foundation
import Formats
/// The message of a valid case whose output is outside the bound, built in one place so that
/// `dcn verify`'s reports and `dcn fuzz`'s lines say it the same way (and tests can match it).
public enum FailureText {
    /// "N of M elements outside the bound; worst ratio R", and with `locating` the first failing
    /// (else the worst) element: " at (n …, o …, ho …, wo …): expected …, got …, bound …".
    public static func outsideBound(_ stats: AccuracyStats, locating: Bool = false) -> String {
        var text = "\(stats.failedElements) of \(stats.elements) elements outside the bound; worst ratio \(ratio(stats.worstRatio))"
        if locating, let e = stats.failures.first ?? stats.worst {
            text += " at (n \(e.n), o \(e.o), ho \(e.ho), wo \(e.wo)): expected \(e.expected), got \(e.got), bound \(magnitude(e.bound))"
        }
        return text
    }

    /// "gx: 3 of 256 elements outside the bound; …; worst ratio R at y_offset[0, 4, 2, 1] (expected …, got …, bound …)",
    /// and with `convention` the one the offsets gradient matches instead (SPEC section 7).
    public static func outsideBound(_ tensors: [GradientStats], convention: DerivativeConvention? = nil) -> String {
        let failing = tensors.filter { !$0.passed }
        var text = failing.map { "\($0.tensor): \($0.failedElements) of \($0.elements) elements outside the bound" }.joined(separator: "; ")
        if let e = failing.compactMap({ $0.failures.first ?? $0.worst }).max(by: { AccuracyStats.isWorse($1.ratio, than: $0.ratio) }) {
            text += "; worst ratio \(ratio(e.ratio)) at \(e.tensor)\(e.index): expected \(e.expected), got \(e.got), bound \(magnitude(e.bound))"
        }
        if let convention {
            text += "; the offsets gradient fails only at integer positions and matches \(convention.summary)"
                + " (a convention difference; the contract is \(DerivativeConvention.fromTheRight.summary))"
        }
        return text
    }

    /// A ratio: three significant digits, "∞", "NaN", or "–" for none.
    public static func ratio(_ ratio: Double?) -> String {
        guard let ratio else { return "–" }
        if ratio.isNaN { return "NaN" }
        if ratio.isInfinite { return "∞" }
        return String(format: "%.3g", ratio)
    }

    /// A magnitude (an error, a bound): "1.23e-05", "0", "NaN", or "–" for none.
    public static func magnitude(_ value: Double?) -> String {
        guard let value else { return "–" }
        if value.isNaN { return "NaN" }
        return value == 0 ? "0" : String(format: "%.2e", value)
    }
}

extension FailureText {
    /// "y: 1 of 48 elements not written (first at index 47, [0, 2, 3, 3])", "wrote 4 bytes past the end
    /// of y", "wrote 1 byte before the start of gx", "wrote into input x: 1 of 64 elements changed (…)".
    public static func guardViolation(_ v: GuardViolation) -> String {
        let first = v.firstIndex.map { index in
            " (first at index \(index)" + (v.firstPosition.map { ", [\($0.map(String.init).joined(separator: ", "))]" } ?? "") + ")"
        } ?? ""
        let bytes = v.count == 1 ? "1 byte" : "\(v.count) bytes"
        switch v.kind {
        case .notWritten: return "\(v.buffer): \(v.count) of \(v.elements) elements not written\(first)"
        case .pastEnd: return "wrote \(bytes) past the end of \(v.buffer)"
        case .beforeStart: return "wrote \(bytes) before the start of \(v.buffer)"
        case .inputWritten: return "wrote into input \(v.buffer): \(v.count) of \(v.elements) elements changed\(first)"
        }
    }

    /// Every violation of one call, "guard check failed: …; …".
    public static func guardViolations(_ violations: [GuardViolation]) -> String {
        "guard check failed: " + violations.map(guardViolation).joined(separator: "; ")
    }
}
