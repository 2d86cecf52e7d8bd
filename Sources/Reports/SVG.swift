import Foundation
import Bench
import Evaluation
import Formats
import Scoring
import Suites

/// Small helpers for the hand-written SVG charts of the reports: plain SVG 1.1,
/// no scripts, no network, readable in any browser.
public enum SVG {
    public static let palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac"]

    /// Text and attribute values escaped by `XMLText`, the escaper of every report.
    private static func escape(_ text: String) -> String { XMLText.escape(text) }

    /// A coordinate with one decimal.
    public static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The opening of a document with a white background and a title.
    public static func header(width: Double, height: Double, title: String) -> String {
        var svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<title>\(escape(title))</title>\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        return svg
    }

    /// One line of a log–log chart: points (x, y) with x, y > 0; dashed for reference lines.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool

        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    /// A log–log line chart with decade grid lines and a legend below the plot.
    public static func logLogChart(title: String, subtitle: String, xLabel: String, yLabel: String, series: [Series]) -> String {
        let (left, right, top, plotWidth, plotHeight) = (72.0, 24.0, 52.0, 560.0, 320.0)
        let legendRow = 18.0
        let height = top + plotHeight + 56 + legendRow * Double(series.count)
        let width = left + plotWidth + right
        let points = series.flatMap(\.points).filter { $0.x > 0 && $0.y > 0 && $0.x.isFinite && $0.y.isFinite }
        let xRange = decades(points.map(\.x)), yRange = decades(points.map(\.y))
        func px(_ x: Double) -> Double { left + plotWidth * (log10(x) - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) }
        func py(_ y: Double) -> Double { top + plotHeight * (1 - (log10(y) - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)) }

        var svg = header(width: width, height: height, title: title)
        svg += "<text x=\"\(f(left))\" y=\"22\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg += "<text x=\"\(f(left))\" y=\"38\" fill=\"#555555\">\(escape(subtitle))</text>\n"
        for decade in Int(xRange.lowerBound)...Int(xRange.upperBound) {
            let x = px(pow(10, Double(decade)))
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#dddddd\"/>\n"
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">1e\(decade)</text>\n"
        }
        for decade in Int(yRange.lowerBound)...Int(yRange.upperBound) {
            let y = py(pow(10, Double(decade)))
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#dddddd\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">1e\(decade)</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333333\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 34))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let color = palette[index % palette.count]
            let visible = line.points.filter { $0.x > 0 && $0.y > 0 && $0.x.isFinite && $0.y.isFinite }
            let path = visible.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let dash = line.dashed ? " stroke-dasharray=\"5 4\"" : ""
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>\n"
            if !line.dashed {
                for point in visible {
                    svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(color)\"><title>\(escape("\(line.name): \(String(format: "%.3g", point.y)) at \(Int(point.x))"))</title></circle>\n"
                }
            }
            let ly = top + plotHeight + 56 + Double(index) * legendRow
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + 24))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>\n"
            svg += "<text x=\"\(f(left + 30))\" y=\"\(f(ly))\">\(escape(line.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Whole decades (log10) covering the values.
    private static func decades(_ values: [Double]) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        let lower = floor(log10(low)), upper = ceil(log10(high))
        return lower...max(upper, lower + 1)
    }
}

extension SVG {
    /// A standalone SVG document as an element to inline in HTML: the XML declaration removed.
    public static func inline(_ document: String) -> String {
        guard document.hasPrefix("<?xml"), let end = document.range(of: "?>\n") else { return document }
        return String(document[end.upperBound...])
    }

    /// One row of a band chart: a value with the interval it may lie in.
    public struct Band: Sendable {
        public var label: String
        public var low: Double
        public var value: Double
        public var high: Double
        public var color: String

        public init(label: String, low: Double, value: Double, high: Double, color: String) {
            self.label = label
            self.low = low
            self.value = value
            self.high = high
            self.color = color
        }
    }

    /// Horizontal intervals on a log axis, one row each, with dashed vertical reference lines
    /// (e.g. 1 and a limit): for ratios and their noise bands.
    public static func bandChart(title: String, rows: [Band], references: [(value: Double, label: String)]) -> String {
        let (left, right, top, rowHeight, plotWidth) = (220.0, 24.0, 40.0, 18.0, 520.0)
        let height = top + rowHeight * Double(max(rows.count, 1)) + 36
        let values = rows.flatMap { [$0.low, $0.value, $0.high] } + references.map(\.value)
        let finite = values.filter { $0 > 0 && $0.isFinite }
        let lowest = log10(min(finite.min() ?? 0.5, 0.5)), highest = log10(max(finite.max() ?? 2, 2))
        func px(_ v: Double) -> Double {
            let clamped = min(max(v.isFinite && v > 0 ? log10(v) : highest, lowest), highest)
            return left + plotWidth * (clamped - lowest) / (highest - lowest)
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(f(left + plotWidth + right))\" height=\"\(f(height))\" "
        svg += "viewBox=\"0 0 \(f(left + plotWidth + right)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\n"
        svg += "<title>\(escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        svg += "<text x=\"\(f(left))\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>\n"
        let bottom = top + rowHeight * Double(rows.count)
        for tick in [0.25, 0.5, 1, 2, 4, 8] where log10(tick) >= lowest && log10(tick) <= highest {
            svg += "<line x1=\"\(f(px(tick)))\" y1=\"\(f(top - 6))\" x2=\"\(f(px(tick)))\" y2=\"\(f(bottom))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(px(tick)))\" y=\"\(f(bottom + 14))\" text-anchor=\"middle\">\(String(format: "%g×", tick))</text>\n"
        }
        for reference in references {
            svg += "<line x1=\"\(f(px(reference.value)))\" y1=\"\(f(top - 10))\" x2=\"\(f(px(reference.value)))\" y2=\"\(f(bottom))\" stroke=\"#888888\" stroke-dasharray=\"4 3\"/>\n"
            svg += "<text x=\"\(f(px(reference.value) + 3))\" y=\"\(f(top - 12))\" fill=\"#555555\">\(escape(reference.label))</text>\n"
        }
        for (index, row) in rows.enumerated() {
            let y = top + rowHeight * (Double(index) + 0.5)
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(row.label))</text>\n"
            svg += "<line x1=\"\(f(px(row.low)))\" y1=\"\(f(y))\" x2=\"\(f(px(row.high)))\" y2=\"\(f(y))\" stroke=\"\(row.color)\" stroke-width=\"5\" stroke-linecap=\"round\" opacity=\"0.45\"/>\n"
            svg += "<circle cx=\"\(f(px(row.value)))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(row.color)\"><title>\(escape(String(format: "%@: %.3g× (band %.3g× – %.3g×)", row.label, row.value, row.low, row.high)))</title></circle>\n"
        }
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(bottom + 30))\" text-anchor=\"middle\" fill=\"#555555\">time of B / time of A (log scale; left is faster)</text>\n"
        return svg + "</svg>\n"
    }
}
