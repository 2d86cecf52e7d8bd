@testable import Conformance
import DeformConv
import Foundation
import XCTest

/// reports/index.html: the page's content, that it needs nothing from the network, and that a real
/// headless browser renders its tables and charts without a console message.
final class HTMLReportTests: XCTestCase {
    /// A verify report of two kernels on two cases, one failing, and a bench with a peer, compared with a slower run.
    static func inputs() throws -> HTMLReport.Inputs {
        var verify = CompareTests.verify([("basic-3x3", "naive", .pass, 0.4), ("groups-2", "naive", .pass, 0.2),
                                          ("basic-3x3", "simd", .pass, 0.5), ("groups-2", "simd", .fail, 3.5)])
        verify.kernels = [SourceIdentity(NaiveKernel())]
        verify.kernels.append(SourceIdentity(NaiveKernel()))
        verify.kernels[1].name = "simd"
        verify.summary.cases = 2
        verify.summary.files = 1
        for index in verify.results.indices { verify.results[index].tags = index % 2 == 0 ? ["basic", "float32"] : ["groups", "float32"] }
        var bench = CompareTests.bench(CompareTests.rows)
        bench.results.append(BenchResult(shape: "small:ic64ih32oc64kh3ph1pw1", kernel: "onnxruntime", threads: 2, medianMs: 1.1, minMs: 1, gflops: 0.9,
                                         source: "peer", version: "1.20"))
        bench.command = "dcn bench --shape small:mb1ic64ih32oc64kh3ph1pw1 <escaped & quoted \">"
        let baseline = CompareTests.verify([("basic-3x3", "naive", .pass, 0.4), ("groups-2", "naive", .pass, 0.2),
                                            ("basic-3x3", "simd", .pass, 0.5), ("groups-2", "simd", .pass, 0.5)])
        let comparison = try Comparison(a: CompareSide(verify: baseline, verifyPath: "reports/baseline/accuracy.json",
                                                       bench: CompareTests.bench(CompareTests.rows, scale: 0.7), benchPath: "reports/baseline/performance.json"),
                                        b: CompareSide(verify: verify, verifyPath: "reports/accuracy.json", bench: bench, benchPath: "reports/performance.json"))
        return HTMLReport.Inputs(verify: verify, verifyPath: "reports/accuracy.json", bench: bench, benchPath: "reports/performance.json",
                                 comparison: comparison, comparisonSource: "test", generated: Date(timeIntervalSince1970: 1_790_000_000))
    }

    static let tableIDs = ["glance-table", "accuracy-table", "performance-table", "comparison-runs", "comparison-kernels",
                           "comparison-times", "comparison-cases", "machine-table"]

    func testThePageShowsEveryKernelAndNeedsNoNetwork() throws {
        let page = HTMLReport.page(try Self.inputs())
        for id in Self.tableIDs { XCTAssertTrue(page.contains("<table id=\"\(id)\""), id) }
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(page.contains("<style>"), "inline CSS")
        XCTAssertEqual(page.components(separatedBy: "<svg ").count - 1, 2, "the bench chart and the comparison's band chart, inline")
        XCTAssertFalse(page.contains("<?xml"), "inline SVG carries no XML declaration")
        // Nothing to fetch: no script, stylesheet, image, frame or font; links only within the page.
        for forbidden in ["<script", "<link", "<img", "<iframe", "url(", "@import", "https:", "src="] {
            XCTAssertFalse(page.contains(forbidden), forbidden)
        }
        XCTAssertEqual(page.components(separatedBy: "http:").count - 1, page.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1,
                       "http: appears only in SVG namespaces")
        for href in page.components(separatedBy: "href=\"").dropFirst() { XCTAssertTrue(href.hasPrefix("#"), String(href.prefix(30))) }
        XCTAssertTrue(page.contains("&lt;escaped &amp; quoted &quot;&gt;"), "text is escaped")
        // The state of each kernel: simd fails a case, newly, and is slower than the baseline.
        XCTAssertTrue(page.contains("1 failing, 1 newly failing, slower on 2 shapes"), page)
        XCTAssertTrue(page.contains("REGRESSION"))
        XCTAssertTrue(page.contains("onnxruntime <span class=\"muted\">(peer)</span>"))
        XCTAssertTrue(page.contains("Test CPU"))
    }

    func testThePageAndAccuracyMarkdownRenderTheSameTagTable() throws {
        // These results carry a ratio but no statistics (a report written without them): each
        // renderer once patched its own table, and they disagreed. Both now render the one table.
        let inputs = try Self.inputs()
        let verify = try XCTUnwrap(inputs.verify)
        let rows = AccuracyReport.tagTable(verify)
        XCTAssertEqual(rows.first { $0.kernel == "simd" && $0.tag == "all" }?.results.worstRatio, 3.5, "the worst ratio of the results")
        let page = HTMLReport.page(inputs)
        let markdown = AccuracyReport.markdown(verify, command: "dcn verify test")
        for row in rows {
            let ratio = AccuracyReport.format(ratio: row.results.worstRatio)
            XCTAssertNotEqual(ratio, "–", "\(row.kernel) \(row.tag) lost its ratio")
            XCTAssertTrue(page.contains(">\(row.results.passed)/\(row.results.cases) · \(ratio)</td>"), "page: \(row.kernel) \(row.tag)")
            let tag = row.tag == "all" ? "**all**" : row.tag
            XCTAssertTrue(markdown.contains("| \(row.kernel) | \(tag) | \(row.results.cases) | \(row.results.passed) | \(ratio) |"), "markdown: \(row.kernel) \(row.tag)")
        }
    }

    func testAPageWithoutReportsSaysSo() {
        let page = HTMLReport.page(HTMLReport.Inputs())
        XCTAssertTrue(page.contains("No verify or bench report was found"))
        XCTAssertTrue(page.contains("No comparison"))
        XCTAssertTrue(page.contains("the machine is not known"))
    }

    // MARK: Headless browser

    static func browser() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for folder in path.split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// Runs the browser headless on a page; kills it after `timeout` seconds.
    func headless(_ browser: String, _ arguments: [String], profile: String, timeout: Double = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                             "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0"] + arguments
        // The log goes to a file: Chromium writes a lot of it, and a pipe read after stdout could fill up.
        let logPath = profile + ".log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let out = Pipe()
        process.standardOutput = out
        process.standardError = log
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        try log.close()
        let stderr = (try? Data(contentsOf: URL(fileURLWithPath: logPath))) ?? Data()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Console messages (errors, warnings, logs) the page caused: Chromium logs each as `CONSOLE`.
    static func consoleMessages(_ log: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
    }

    func testChromiumRendersThePageWithoutConsoleMessages() throws {
        guard let browser = Self.browser() else {
            print("skipped: no headless browser installed (apt-get install chromium); reports/index.html was not rendered")
            throw XCTSkip("skipped: no headless browser installed (apt-get install chromium)")
        }
        let folder = try temporaryFolder(self)
        let page = folder + "/index.html"
        try HTMLReport.write(try Self.inputs(), to: page)

        // 1. The page as written: a screenshot, and not one console message.
        let screenshot = NSTemporaryDirectory() + "dcn-index-screenshot-\(getpid()).png"
        let shot = try headless(browser, ["--screenshot=\(screenshot)", "--window-size=1280,2200", "--hide-scrollbars",
                                          "file://\(page)"], profile: folder + "/profile-1")
        XCTAssertEqual(shot.status, 0, shot.stderr)
        XCTAssertEqual(Self.consoleMessages(shot.stderr), [], "console messages while rendering the page")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual([width, height], [1280, 2200])
        XCTAssertGreaterThan(png.count, 60_000, "a blank page compresses to a few kilobytes; this one has tables and charts")
        print("screenshot of the page: \(screenshot)")

        // 2. The same page with a probe that measures the laid-out tables and charts into the DOM.
        let probe = """
        <script>
        const tables = [...document.querySelectorAll('table')];
        const drawn = tables.filter(t => t.rows.length > 1 && t.getBoundingClientRect().height > 20 && t.getBoundingClientRect().width > 100);
        const charts = [...document.querySelectorAll('svg')].filter(s => s.getBBox().width > 200 && s.getBBox().height > 100);
        const cells = [...document.querySelectorAll('td')].filter(td => td.getBoundingClientRect().width > 0).length;
        const pre = document.createElement('pre');
        pre.id = 'probe';
        pre.textContent = `tables=${tables.length} drawn=${drawn.length} ids=${drawn.map(t => t.id).join(',')} charts=${charts.length} cells=${cells}`;
        document.body.appendChild(pre);
        </script>
        """
        let probed = try String(contentsOfFile: page, encoding: .utf8).replacingOccurrences(of: "</body>", with: probe + "</body>")
        try Data(probed.utf8).write(to: URL(fileURLWithPath: folder + "/probed.html"))
        let dom = try headless(browser, ["--dump-dom", "--window-size=1280,2200", "file://\(folder)/probed.html"], profile: folder + "/profile-2")
        XCTAssertEqual(dom.status, 0, dom.stderr)
        XCTAssertEqual(Self.consoleMessages(dom.stderr), [], "console messages from the probe")
        let line = try XCTUnwrap(dom.stdout.components(separatedBy: "<pre id=\"probe\">").dropFirst().first?.components(separatedBy: "</pre>").first,
                                 "the probe ran: \(dom.stdout.suffix(500))")
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        XCTAssertEqual(fields["tables"], "\(Self.tableIDs.count)", line)
        XCTAssertEqual(fields["drawn"], "\(Self.tableIDs.count)", "every table laid out with rows: \(line)")
        XCTAssertEqual(Set((fields["ids"] ?? "").split(separator: ",").map(String.init)), Set(Self.tableIDs), line)
        XCTAssertEqual(fields["charts"], "2", "both charts drawn: \(line)")
        XCTAssertGreaterThan(Int(fields["cells"] ?? "0") ?? 0, 100, line)
    }
}
