import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Distill

/// SVG charts (well-formedness, element counts, escaping, determinism, degenerate input, ticks) and
/// Markdown tables / mean ± std formatting.
final class ReportTests: XCTestCase {
    // MARK: Helpers

    /// Parses `svg` as XML and checks the root is an SVG 1.1 element with a viewBox.
    func assertWellFormed(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let doc = try XMLDocument(data: Data(svg.utf8), options: [])
            let root = doc.rootElement()
            XCTAssertEqual(root?.localName, "svg", file: file, line: line)
            XCTAssertEqual(root?.uri, "http://www.w3.org/2000/svg", file: file, line: line)
            let attributes = Dictionary((root?.attributes ?? []).map { ($0.name ?? "", $0.stringValue ?? "") }) { a, _ in a }
            XCTAssertNotNil(attributes["viewBox"], "\(attributes)", file: file, line: line)
            XCTAssertEqual(attributes["version"], "1.1", file: file, line: line)
        } catch {
            XCTFail("not well-formed XML: \(error)\n\(svg.prefix(2000))", file: file, line: line)
        }
    }

    /// Number of elements `<name ` / `<name>` / `<name/>` in `svg`.
    func count(_ name: String, in svg: String) -> Int {
        ["<\(name) ", "<\(name)>", "<\(name)/>"].reduce(0) { $0 + svg.components(separatedBy: $1).count - 1 }
    }

    /// Every geometric attribute value is a finite number list (no nan / inf anywhere in them).
    func assertFiniteCoordinates(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        let names = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "points", "d", "transform", "stroke-width"]
        for name in names {
            for part in svg.components(separatedBy: " \(name)=\"").dropFirst() {
                let value = String(part.prefix { $0 != "\"" })
                let lower = value.lowercased()
                XCTAssertFalse(lower.contains("nan") || lower.contains("inf"), "\(name)=\"\(value)\"", file: file, line: line)
                let allowed = Set("0123456789.-, MLrotate()")
                XCTAssertTrue(value.allSatisfy { allowed.contains($0) }, "\(name)=\"\(value)\"", file: file, line: line)
            }
        }
        XCTAssertFalse(svg.contains("NaN"), "NaN in the document", file: file, line: line)
    }

    func check(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        assertWellFormed(svg, file: file, line: line)
        assertFiniteCoordinates(svg, file: file, line: line)
    }

    static func learningCurves() -> String {
        let epochs = (0..<30).map(Double.init)
        func curve(_ a: Double, _ b: Double) -> [(x: Double, y: Double)] { epochs.map { (x: $0, y: a - b * Foundation.exp(-$0 / 6)) } }
        return SVGPlot.lineChart(title: "CIFAR-10 ResNet-20 student: test accuracy", xLabel: "epoch", yLabel: "accuracy",
                                 series: [Series(name: "teacher (ResNet-56)", points: curve(0.93, 0.5)),
                                          Series(name: "student, CE only", points: curve(0.90, 0.55)),
                                          Series(name: "student, KD T=4", points: curve(0.915, 0.55),
                                                 errors: epochs.map { 0.004 + 0.01 * Foundation.exp(-$0 / 8) })])
    }

    static func temperatureSweep() -> String {
        let ts = [1.0, 2, 4, 8, 16]
        return SVGPlot.lineChart(title: "Temperature sweep (5 seeds) <α = 0.9>", xLabel: "temperature T", yLabel: "test accuracy",
                                 series: [Series(name: "Hinton KD", points: zip(ts, [0.9021, 0.9113, 0.9148, 0.9102, 0.9034]).map { (x: $0, y: $1) },
                                                 errors: [0.0021, 0.0018, 0.0012, 0.0025, 0.003]),
                                          Series(name: "DKD", points: zip(ts, [0.9063, 0.9141, 0.917, .nan, 0.9088]).map { (x: $0, y: $1) })],
                                 logX: true)
    }

    static func bars() -> String {
        SVGPlot.barChart(title: "Accuracy vs agreement", yLabel: "fraction",
                         categories: ["Hinton KD", "FitNets", "Attention transfer", "DKD"],
                         series: [(name: "top-1 accuracy", values: [0.9148, 0.9012, 0.9087, 0.917], errors: [0.0012, 0.003, 0.002, 0.0015]),
                                  (name: "teacher agreement", values: [0.951, 0.922, 0.934, 0.958], errors: nil)],
                         yRange: 0.8...1.0)
    }

    static func landscape() -> String {
        let xs = stride(from: -1.0, through: 1.5, by: 0.1).map { $0 }
        let ys = stride(from: -1.0, through: 1.0, by: 0.1).map { $0 }
        let z = ys.map { y in xs.map { x in 0.3 + (x - 0.6) * (x - 0.6) + 2 * y * y + 0.15 * Foundation.sin(5 * x) } }
        return SVGPlot.heatMap(title: "Loss landscape (student plane)", xLabel: "direction 1", yLabel: "direction 2",
                               x: xs, y: ys, z: z, contours: [0.5, 1, 1.5, 2, 3],
                               markers: [(label: "init", x: -0.9, y: 0.8), (label: "student", x: 0.55, y: 0.0),
                                         (label: "teacher", x: 0.65, y: 0.05)])
    }

    /// Writes the example charts to $DISTILL_PLOT_DIR when it is set (for looking at them).
    func testRenderExamples() throws {
        let charts = [
            "learning_curves": Self.learningCurves(), "temperature_sweep": Self.temperatureSweep(),
            "bars": Self.bars(), "landscape": Self.landscape(),
            "empty_line": SVGPlot.lineChart(title: "", xLabel: "x", yLabel: "y", series: []),
            "single_point": SVGPlot.lineChart(title: "One point", xLabel: "x", yLabel: "y",
                                              series: [Series(name: "s", points: [(3, 0.5)], errors: [0.1])], logX: true),
            "negative_bars": SVGPlot.barChart(title: "Gain over cross-entropy with a rather long title that will not fit at all in the width",
                                              yLabel: "Δ accuracy (points)",
                                              categories: (0..<8).map { "a rather long category name \($0)" },
                                              series: [(name: "", values: (0..<8).map { Double($0) - 3.5 }, errors: nil)]),
            "nan_heatmap": SVGPlot.heatMap(title: "Missing cells", xLabel: "a", yLabel: "b", x: [0, 1, 2], y: [10, 20],
                                           z: [[1, .nan, 3], [4, 5]], contours: [2.5], markers: [(label: "far away", x: 100, y: 15)]),
        ]
        for (_, svg) in charts { check(svg) }
        guard let dir = ProcessInfo.processInfo.environment["DISTILL_PLOT_DIR"] else { return }
        for (name, svg) in charts { try svg.write(toFile: dir + "/" + name + ".svg", atomically: true, encoding: .utf8) }
    }

    // MARK: Line chart

    func testLineChartDrawsEverySeriesPointAndGap() {
        let a = Series(name: "a", points: [(0, 1), (1, 2), (2, .nan), (3, 4), (4, 5)])
        let b = Series(name: "b", points: [(0, 2), (1, 1), (2, 0)], errors: [0.1, .nan, 0.2])
        let svg = SVGPlot.lineChart(title: "t", xLabel: "x", yLabel: "y", series: [a, b])
        check(svg)
        XCTAssertEqual(count("polyline", in: svg), 3, "a splits at its NaN into two runs; b is one")
        XCTAssertEqual(count("circle", in: svg), 4 + 3 + 2, "finite points plus one legend marker per series")
        XCTAssertEqual(count("line", in: svg) - count("polyline", in: svg) >= 6 + 2, true, "two error bars (3 lines each) and legend lines")
        XCTAssertTrue(svg.contains(">a</text>") && svg.contains(">b</text>"), "legend names")
        XCTAssertTrue(svg.contains("clip-path=\"url(#clip-"))
    }

    func testLogXUsesPowersOfTwoForTemperatures() {
        let svg = Self.temperatureSweep()
        check(svg)
        for t in ["1", "2", "4", "8", "16"] { XCTAssertTrue(svg.contains(">\(t)</text>"), "tick \(t)") }
        XCTAssertTrue(svg.contains("&lt;α = 0.9&gt;"))
        XCTAssertEqual(count("polyline", in: svg), 1 + 1, "Hinton one run; DKD's NaN leaves a run of 3 and an isolated point")
    }

    func testLongSeriesDropMarkersButKeepIsolatedPoints() {
        var pts = (0..<100).map { (x: Double($0), y: Double($0 % 7)) }
        pts[50] = (x: 50, y: .nan)
        pts[52] = (x: 52, y: .nan)  // point 51 is isolated
        let svg = SVGPlot.lineChart(title: "", xLabel: "", yLabel: "", series: [Series(name: "", points: pts)])
        check(svg)
        XCTAssertEqual(count("circle", in: svg), 1, "only the isolated point; unnamed series has no legend")
        XCTAssertEqual(count("polyline", in: svg), 2)
    }

    func testYRangeIsRespected() {
        let svg = SVGPlot.lineChart(title: "", xLabel: "", yLabel: "", series: [Series(name: "s", points: [(0, 0.5), (1, 1.7)])],
                                    yRange: 0...1)
        check(svg)
        XCTAssertTrue(svg.contains(">1.0</text>") && svg.contains(">0.0</text>"))
        XCTAssertFalse(svg.contains(">1.2</text>"), "no ticks beyond the requested range")
    }

    // MARK: Bar chart

    func testBarChartDrawsEveryBar() {
        let svg = SVGPlot.barChart(title: "acc", yLabel: "fraction", categories: ["a", "b", "c"],
                                   series: [(name: "acc", values: [0.9, 0.8, 0.7], errors: [0.01, 0.02, 0.03]),
                                            (name: "agr", values: [0.95, .nan, 0.75], errors: nil)])
        check(svg)
        XCTAssertEqual(count("rect", in: svg), 1 + 5 + 2, "background, five finite bars, two legend boxes")
        XCTAssertEqual(svg.components(separatedBy: "stroke=\"#333333\" stroke-width=\"1.2\"").count - 1, 9, "three error bars")
        for cat in ["a", "b", "c"] { XCTAssertTrue(svg.contains(">\(cat)</text>")) }
    }

    /// Issue 13: a gain of 100 test errors in 10,000 (0.01) is visible: the axis zooms onto the
    /// values, each bar carries its value, and the teacher is a dashed reference line.
    func testZoomedBarChartShowsValuesAndTheTeacher() throws {
        let values = [0.8812, 0.8912], agreement = [0.9301, 0.9405]
        let range = SVGPlot.zoomedRange(values + agreement, references: [0.9120])
        XCTAssertLessThan(range.upperBound - range.lowerBound, 0.2)
        XCTAssertTrue(range.contains(0.8812) && range.contains(0.9405) && range.lowerBound >= 0 && range.upperBound <= 1)
        let svg = SVGPlot.barChart(title: "acc", yLabel: "fraction (axis zoomed)", categories: ["alone", "distilled"],
                                   series: [(name: "accuracy", values: values, errors: nil), (name: "agreement", values: agreement, errors: nil)],
                                   yRange: range, valueLabels: { String(format: "%.4f", $0) }, references: [(name: "teacher accuracy 0.9120", value: 0.9120)])
        check(svg)
        for v in ["0.8812", "0.8912", "0.9301", "0.9405", "teacher accuracy 0.9120"] { XCTAssertTrue(svg.contains(">\(v)</text>"), v) }
        XCTAssertTrue(svg.contains("stroke-dasharray"))
        // the two accuracy bars differ in height by at least a tenth of the plot, not by 1 %
        let heights = svg.components(separatedBy: "<rect ").dropFirst().compactMap { r -> Double? in
            guard r.contains("fill=\"\(SVGPlot.colour(0))\""), let h = r.components(separatedBy: "height=\"").dropFirst().first?.split(separator: "\"").first else { return nil }
            return Double(h)
        }
        XCTAssertGreaterThanOrEqual(heights.count, 2, svg)
        XCTAssertGreaterThan(abs(heights[1] - heights[0]), 30, "\(heights)")
        XCTAssertEqual(SVGPlot.zoomedRange([]), 0...1)
    }

    func testBarChartNegativeValuesAndLongLabels() {
        let cats = (0..<8).map { "a rather long category name \($0)" }
        let svg = SVGPlot.barChart(title: "gain over CE", yLabel: "Δ accuracy", categories: cats,
                                   series: [(name: "", values: (0..<8).map { Double($0) - 3.5 }, errors: nil)])
        check(svg)
        XCTAssertTrue(svg.contains("rotate(-35"), "long labels are rotated")
        XCTAssertEqual(count("rect", in: svg), 1 + 8)
    }

    // MARK: Heat map

    func testHeatMapCellsContoursAndMarkers() {
        let x = [0.0, 1, 2, 3], y = [0.0, 1, 2]
        let z = y.map { yy in x.map { xx in xx + yy } }
        let svg = SVGPlot.heatMap(title: "L", xLabel: "a", yLabel: "b", x: x, y: y, z: z, contours: [1.5, 2.5, 99],
                                  markers: [(label: "init", x: 0, y: 0), (label: "student", x: 2, y: 1), (label: "teacher", x: .nan, y: 1)])
        check(svg)
        XCTAssertEqual(count("rect", in: svg), 1 + 12 + 64 + 1, "background, cells, colour-bar bands and frame")
        XCTAssertEqual(count("path", in: svg), 2 * 2, "two levels inside the z range, each an outline and a line")
        XCTAssertEqual(count("circle", in: svg), 2, "the NaN marker is skipped")
        XCTAssertTrue(svg.contains(">init</text>") && svg.contains(">student</text>"))
        XCTAssertFalse(svg.contains(">teacher</text>"))
    }

    func testMarchingSquaresOnAPlane() {
        // z = column index over a 3 × 3 grid: the 0.5 contour is the vertical line x = 0.5.
        let segs = SVGPlot.marchingSquares(nx: 3, ny: 3, level: 0.5, value: { _, j in Double(j) }) { i, j in (Double(j), Double(i)) }
        XCTAssertEqual(segs.count, 2)
        for s in segs {
            XCTAssertEqual(s.0, 0.5, accuracy: 1e-12)
            XCTAssertEqual(s.2, 0.5, accuracy: 1e-12)
            XCTAssertEqual(abs(s.1 - s.3), 1, accuracy: 1e-12)
        }
        // A saddle (checkerboard) gives two segments in its one cell.
        let saddle = SVGPlot.marchingSquares(nx: 2, ny: 2, level: 0.5, value: { i, j in Double((i + j) % 2) }) { i, j in (Double(j), Double(i)) }
        XCTAssertEqual(saddle.count, 2)
    }

    // MARK: Escaping, determinism, degenerate input

    func testTextIsEscaped() {
        let nasty = "A<B & \"C\" 'd' > e\u{1}"
        let svgs = [
            SVGPlot.lineChart(title: nasty, xLabel: nasty, yLabel: nasty, series: [Series(name: nasty, points: [(0, 1), (1, 2)])]),
            SVGPlot.barChart(title: nasty, yLabel: nasty, categories: [nasty], series: [(name: nasty, values: [1], errors: nil)]),
            SVGPlot.heatMap(title: nasty, xLabel: nasty, yLabel: nasty, x: [0, 1], y: [0, 1], z: [[0, 1], [1, 2]],
                            markers: [(label: nasty, x: 0.5, y: 0.5)]),
        ]
        for svg in svgs {
            check(svg)
            XCTAssertTrue(svg.contains("A&lt;B &amp; &quot;C&quot; &apos;d&apos; &gt; e"))
            XCTAssertFalse(svg.contains("A<B"))
        }
    }

    func testOutputIsDeterministic() {
        XCTAssertEqual(Self.learningCurves(), Self.learningCurves())
        XCTAssertEqual(Self.temperatureSweep(), Self.temperatureSweep())
        XCTAssertEqual(Self.bars(), Self.bars())
        XCTAssertEqual(Self.landscape(), Self.landscape())
    }

    func testDegenerateInputsDrawWithoutNaN() {
        let inf = Double.infinity
        let lines: [[Series]] = [
            [], [Series(name: "empty", points: [])], [Series(name: "one", points: [(3, 0.5)], errors: [0.1])],
            [Series(name: "flat", points: [(0, 2), (1, 2), (2, 2)])], [Series(name: "nan", points: [(.nan, .nan), (0, .nan)])],
            [Series(name: "inf", points: [(0, inf), (1, -inf), (inf, 1), (2, 1e308), (3, -1e308)], errors: [inf, inf, inf, inf, inf])],
            [Series(name: "x", points: [(0, 0), (0, 0)])], [Series(name: "short errors", points: [(0, 1), (1, 2)], errors: [])],
        ]
        for s in lines {
            check(SVGPlot.lineChart(title: "", xLabel: "x", yLabel: "y", series: s))
            check(SVGPlot.lineChart(title: "log", xLabel: "x", yLabel: "y", series: s, logX: true))
            check(SVGPlot.lineChart(title: "range", xLabel: "", yLabel: "", series: s, yRange: 1...1, width: 10, height: -5))
        }
        check(SVGPlot.lineChart(title: "neg log", xLabel: "", yLabel: "", series: [Series(name: "s", points: [(-1, 1), (0, 2)])], logX: true))
        check(SVGPlot.lineChart(title: "huge y range", xLabel: "", yLabel: "", series: [Series(name: "s", points: [(0, 1)])],
                                yRange: -1e308...1e308))

        check(SVGPlot.barChart(title: "", yLabel: "", categories: [], series: []))
        check(SVGPlot.barChart(title: "", yLabel: "", categories: ["a", "b"], series: [(name: "s", values: [], errors: nil)]))
        check(SVGPlot.barChart(title: "", yLabel: "", categories: ["a"], series: [(name: "s", values: [.nan], errors: [inf])]))
        check(SVGPlot.barChart(title: "", yLabel: "", categories: ["a", "b"], series: [(name: "s", values: [0, 0], errors: nil)]))
        check(SVGPlot.barChart(title: "", yLabel: "", categories: ["a"], series: [(name: "s", values: [inf], errors: nil)], yRange: 0...0))

        check(SVGPlot.heatMap(title: "", xLabel: "", yLabel: "", x: [], y: [], z: []))
        check(SVGPlot.heatMap(title: "", xLabel: "", yLabel: "", x: [1], y: [2], z: [[3]], contours: [3], markers: [(label: "m", x: 1, y: 2)]))
        check(SVGPlot.heatMap(title: "", xLabel: "", yLabel: "", x: [0, 1], y: [0, 1], z: [[1, 1], [1, 1]], contours: [1]))
        check(SVGPlot.heatMap(title: "", xLabel: "", yLabel: "", x: [0, .nan, 2], y: [0, 0], z: [[.nan, inf], [1]],
                              contours: [.nan, 1], markers: [(label: "far", x: 1e9, y: -1e9)]))
        check(SVGPlot.heatMap(title: "", xLabel: "", yLabel: "", x: [0, 1], y: [0, 1], z: [[.nan, .nan], [.nan, .nan]]))
    }

    // MARK: Ticks and numbers

    func testNiceLinearTicks() {
        func ticks(_ lo: Double, _ hi: Double, _ target: Int = 5, expand: Bool = true) -> [String] {
            SVGPlot.linearTicks(lo, hi, target: target, expand: expand).labels
        }
        XCTAssertEqual(ticks(0, 1), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(ticks(0.853, 0.947), ["0.84", "0.86", "0.88", "0.90", "0.92", "0.94", "0.96"])
        XCTAssertEqual(ticks(0, 100), ["0", "20", "40", "60", "80", "100"])
        XCTAssertEqual(ticks(-3, 7), ["−4", "−2", "0", "2", "4", "6", "8"])
        XCTAssertEqual(ticks(0, 1, expand: false), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(ticks(0.05, 0.95, 4, expand: false), ["0.25", "0.50", "0.75"])
        XCTAssertEqual(ticks(1e-6, 5e-6, 4), ["1e−6", "2e−6", "3e−6", "4e−6", "5e−6"])
        XCTAssertEqual(ticks(0, 3e7, 3), ["0", "1e7", "2e7", "3e7"])
        let flat = SVGPlot.linearTicks(5, 5, target: 5, expand: true)
        XCTAssertTrue(flat.lo < 5 && flat.hi > 5)
        let zero = SVGPlot.linearTicks(0, 0, target: 5, expand: true)
        XCTAssertEqual(zero.lo, -1)
        XCTAssertEqual(zero.hi, 1)
        let bad = SVGPlot.linearTicks(.nan, .infinity, target: 5, expand: true)
        XCTAssertEqual(bad.lo, 0)
        XCTAssertEqual(bad.hi, 1)
        XCTAssertEqual(SVGPlot.linearTicks(0, 3, target: 10, expand: true, integerStep: true).labels, ["0", "1", "2", "3"])
    }

    func testLogTicks() {
        XCTAssertEqual(SVGPlot.logTicks(1, 16).labels, ["1", "2", "4", "8", "16"])
        XCTAssertEqual(SVGPlot.logTicks(0.5, 20).labels, ["0.5", "1", "2", "4", "8", "16", "32"])
        XCTAssertEqual(SVGPlot.logTicks(3, 3).labels, ["1", "2", "4", "8"])
        XCTAssertEqual(SVGPlot.logTicks(1e-4, 1).labels, ["0.0001", "0.001", "0.01", "0.1", "1"])
        XCTAssertEqual(SVGPlot.logTicks(1, 1e8).labels, ["1", "100", "10000", "10⁶", "10⁸"])
        XCTAssertEqual(SVGPlot.logTicks(1, 256, maxTicks: 5).labels, ["1", "4", "16", "64", "256"])
        XCTAssertEqual(SVGPlot.logTicks(1, 1024).labels, ["1", "10", "100", "1000", "10000"], "10 doublings: decades")
        XCTAssertEqual(SVGPlot.logTicks(-1, 0).labels, ["1", "2", "4", "8", "16"], "bad bounds fall back to [1, 10]")
    }

    func testNumberFormatting() {
        XCTAssertEqual(SVGPlot.fixed(0.125, 2), "0.13")
        XCTAssertEqual(SVGPlot.fixed(-0.0001, 2), "0.00")
        XCTAssertEqual(SVGPlot.fixed(-1.5, 0, minus: "−"), "−2")
        XCTAssertEqual(SVGPlot.fixed(1234.5678, 3), "1234.568")
        XCTAssertEqual(SVGPlot.fixed(0.000123, 6), "0.000123")
        XCTAssertEqual(SVGPlot.trimmed(0.9100000000001, maxDecimals: 4), "0.91")
        XCTAssertEqual(SVGPlot.trimmed(-0.0000001, maxDecimals: 2), "0")
        XCTAssertEqual(SVGPlot.scientific(0.000025, decimals: 3), "2.5e-5")
        XCTAssertEqual(SVGPlot.scientific(9.9996e9, decimals: 3), "1e10")
        XCTAssertEqual(SVGPlot.coord(.nan), "0")
        XCTAssertEqual(SVGPlot.coord(1e300), "100000")
        XCTAssertEqual(SVGPlot.coord(12.3456), "12.35")
        XCTAssertEqual(SVGPlot.superscript(-12), "⁻¹²")
        XCTAssertEqual(SVGPlot.viridis(0), "#440154")
        XCTAssertEqual(SVGPlot.viridis(1), "#fde725")
        XCTAssertEqual(SVGPlot.viridis(.nan), SVGPlot.viridis(0.5))
    }

    // MARK: Markdown and statistics

    func testMeanStd() {
        XCTAssertEqual(MarkdownTable.meanStd([0.91, 0.92, 0.93]), "0.9200 ± 0.0100")
        XCTAssertEqual(MarkdownTable.meanStd([0.5]), "0.5000")
        XCTAssertEqual(MarkdownTable.meanStd([0.9, 0.92], digits: 2, percent: true), "91.00% ± 1.41%")
        XCTAssertEqual(MarkdownTable.meanStd([0.9123], digits: 1, percent: true), "91.2%")
        XCTAssertEqual(MarkdownTable.meanStd([1, 2, 3, 4], digits: 0), "3 ± 1")
        XCTAssertEqual(MarkdownTable.meanStd([-0.25, -0.35], digits: 2), "-0.30 ± 0.07")
        XCTAssertEqual(MarkdownTable.meanStd([]), "—")
        XCTAssertEqual(MarkdownTable.meanStd([1, .nan]), "NaN ± NaN")
        XCTAssertEqual(Statistics.mean([1, 2, 3, 4]), 2.5)
        XCTAssertEqual(Statistics.sampleStd([1, 2, 3, 4]), (5.0 / 3).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(Statistics.sampleStd([7]), 0)
        XCTAssertTrue(Statistics.mean([]).isNaN)
    }

    func testMarkdownTableAlignment() {
        let table = MarkdownTable.render(header: ["Method", "Top-1", "Agreement", "Note"],
                                         rows: [["KD", "91.48 ± 0.12", "95.1%", "T=4"],
                                                ["FitNets", "-90.1", "", "a|b"],
                                                ["DKD", "1e-3", "−2.5% ± 0.1%"]])
        let expected = """
        | Method  |        Top-1 |    Agreement | Note |
        | ------- | -----------: | -----------: | ---- |
        | KD      | 91.48 ± 0.12 |        95.1% | T=4  |
        | FitNets |        -90.1 |              | a\\|b |
        | DKD     |         1e-3 | −2.5% ± 0.1% |      |

        """
        XCTAssertEqual(table, expected)
        XCTAssertEqual(MarkdownTable.render(header: [], rows: []), "")
        XCTAssertEqual(MarkdownTable.render(header: ["a"], rows: []), "| a   |\n| --- |\n")
        XCTAssertTrue(MarkdownTable.isNumber("0.9123 ± 0.0021"))
        XCTAssertTrue(MarkdownTable.isNumber("+12%"))
        XCTAssertFalse(MarkdownTable.isNumber("12 ± "))
        XCTAssertFalse(MarkdownTable.isNumber("1.2.3"))
        XCTAssertFalse(MarkdownTable.isNumber("e5"))
        XCTAssertFalse(MarkdownTable.isNumber("ResNet-20"))
    }
}
