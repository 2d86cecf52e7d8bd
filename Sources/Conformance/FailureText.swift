/// The message of a valid case whose output is outside the bound, built in one place so that
/// `dcn verify`'s reports and `dcn fuzz`'s lines say it the same way (and tests can match it).
public enum FailureText {
    /// "N of M elements outside the bound; worst ratio R", and with `locating` the first failing
    /// (else the worst) element: " at (n …, o …, ho …, wo …): expected …, got …, bound …".
    public static func outsideBound(_ stats: AccuracyStats, locating: Bool = false) -> String {
        var text = "\(stats.failedElements) of \(stats.elements) elements outside the bound; worst ratio \(AccuracyReport.format(ratio: stats.worstRatio))"
        if locating, let e = stats.failures.first ?? stats.worst {
            text += " at (n \(e.n), o \(e.o), ho \(e.ho), wo \(e.wo)): expected \(e.expected), got \(e.got), bound \(AccuracyReport.format(e.bound))"
        }
        return text
    }
}
