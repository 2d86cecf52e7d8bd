import Evaluation
import Suites

/// The coverage table (`SuiteCoverage`) of the accuracy report and the HTML page: one row per
/// parameter with its distinct values, and one per sampling-position class.
enum CoverageSection {
    struct Row {
        var name: String
        /// "3×3 (40), 1×1 (6)": each value with the cases that have it.
        var values: String
        var distinct: Int
    }

    /// What the table says above its rows.
    static func introduction(_ coverage: SuiteCoverage) -> String {
        "The distinct values the run's \(coverage.cases) valid cases cover, each with its number of cases, and the classes "
            + "the \(coverage.coordinates) coordinates of their sampling positions (base + offset, SPEC section 1) fall in: "
            + "integer (0 ≤ p ≤ S − 1), near-integer (within 2⁻¹⁰, not one), boundary (−1 ≤ p < 0 or S − 1 < p < S), "
            + "outside (p < −1 or p ≥ S), large (an offset of at least the image's size S). The classes overlap."
    }

    static func parameterRows(_ coverage: SuiteCoverage) -> [Row] {
        coverage.parameters.map { parameter in
            Row(name: parameter.name, values: parameter.values.map { "\($0.value) (\($0.cases))" }.joined(separator: ", "),
                distinct: parameter.values.count)
        }
    }

    /// One row per position class: cases with a coordinate in it, and coordinates.
    static func positionRows(_ coverage: SuiteCoverage) -> [(label: String, cases: Int, coordinates: Int)] {
        SuiteCoverage.PositionClass.allCases.map { positionClass in
            let count = coverage.positions(positionClass)
            return (positionClass.label, count.cases, count.coordinates)
        }
    }

    static func markdown(_ report: VerifyReport) -> String {
        guard let coverage = report.coverage else { return "" }
        var out = "\n## Coverage\n\n" + introduction(coverage) + "\n\n"
        out += "| parameter | distinct | values (cases) |\n|---|---:|---|\n"
        for row in parameterRows(coverage) { out += "| \(row.name) | \(row.distinct) | \(row.values) |\n" }
        out += "\n| position class | cases | coordinates |\n|---|---:|---:|\n"
        for row in positionRows(coverage) { out += "| \(row.label) | \(row.cases) | \(row.coordinates) |\n" }
        return out
    }

    static func html(_ report: VerifyReport) -> String {
        guard let coverage = report.coverage else { return "" }
        let h = HTMLReport.h
        var out = "<h3>Coverage</h3>\n<p class=\"meta\">\(h(introduction(coverage)))</p>\n"
        out += "<div class=\"scroll\"><table id=\"coverage-table\">\n<thead><tr><th class=\"l\">parameter</th><th>distinct</th><th class=\"l\">values (cases)</th></tr></thead>\n<tbody>\n"
        for row in parameterRows(coverage) {
            out += "<tr><td class=\"l\">\(h(row.name))</td><td>\(row.distinct)</td><td class=\"l wrap\">\(h(row.values))</td></tr>\n"
        }
        out += "</tbody></table>\n<table id=\"position-classes\">\n<thead><tr><th class=\"l\">position class</th><th>cases</th><th>coordinates</th></tr></thead>\n<tbody>\n"
        for row in positionRows(coverage) {
            out += "<tr><td class=\"l\">\(h(row.label))</td><td class=\"\(row.cases > 0 ? "pass" : "fail")\">\(row.cases)</td><td>\(row.coordinates)</td></tr>\n"
        }
        return out + "</tbody></table></div>\n"
    }
}
