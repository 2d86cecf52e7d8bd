import Bench
import Evaluation
import Formats
import Scoring
import Suites
/// The one escaper of the markup the reports write: JUnit XML, the SVG charts and the HTML page.
public enum XMLText {
    /// `text` safe inside an element or a double-quoted attribute value: `&`, `<`, `>` and `"`
    /// escaped, and the control characters XML 1.0 forbids even as references dropped (a case
    /// name or a kernel's message must not make the whole JUnit file unreadable).
    ///
    /// With `attribute`, tab, newline and carriage return become character references too: a
    /// parser normalizes them to spaces in attribute values, so a literal newline in a case name
    /// would not read back as written.
    public static func escape(_ text: String, attribute: Bool = false) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r":
                if attribute { out += "&#\(scalar.value);" } else { out.unicodeScalars.append(scalar) }
            default:
                if scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
