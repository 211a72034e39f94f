extension SVGPlot {
    /// Line chart with markers, axes with nice ticks, gridlines, a legend (right of the plot, when
    /// any series is named) and optional error bars (± errors[i]); NaN points are skipped (gap).
    ///
    /// Points with a non-finite coordinate, or x ≤ 0 when `logX`, break the line; markers are drawn
    /// for series of at most 60 usable points (longer curves are lines only, isolated points keep a
    /// marker). The x axis uses integer steps when every x is an integer (epochs), and with `logX`
    /// powers of two for up to 8 doublings (temperatures 1, 2, 4, 8, 16), else decades. The y range
    /// is `yRange` (data outside it is clipped) or the data and error bars widened to nice ticks.
    /// Output: a standalone SVG 1.1 document of `width` × `height` px (at least 200 × 150).
    public static func lineChart(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false,
                                 yRange: ClosedRange<Double>? = nil, width: Int = 640, height: Int = 400) -> String {
        let W = max(width, 200), H = max(height, 150)
        var c = SVGCanvas(width: W, height: H)
        func usable(_ p: (x: Double, y: Double)) -> Bool {
            p.x.isFinite && p.y.isFinite && abs(p.x) <= 1e300 && abs(p.y) <= 1e300 && (!logX || p.x > 0)
        }
        func error(_ s: Series, _ i: Int) -> Double? {
            guard let e = s.errors, i < e.count, e[i].isFinite, abs(e[i]) <= 1e300, e[i] != 0 else { return nil }
            return abs(e[i])
        }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (i, p) in s.points.enumerated() where usable(p) {
                xs.append(p.x)
                ys.append(p.y)
                if let e = error(s, i) { ys += [p.y - e, p.y + e] }
            }
        }

        let top = title.isEmpty ? 16.0 : 40.0
        let bottom = xLabel.isEmpty ? 32.0 : 52.0
        let yTarget = max(2, Int((Double(H) - top - bottom) / 55))
        let yTicks: Ticks
        if let r = yRange, r.lowerBound.isFinite, r.upperBound.isFinite, r.upperBound > r.lowerBound {
            yTicks = linearTicks(r.lowerBound, r.upperBound, target: yTarget, expand: false)
        } else {
            // 2% headroom so that extreme points and error bars do not sit on the frame.
            let (lo, hi) = (ys.min() ?? 0, ys.max() ?? 1)
            let pad = ys.isEmpty ? 0 : (hi - lo) * 0.02
            yTicks = linearTicks(lo - pad, hi + pad, target: yTarget, expand: true)
        }
        let names = series.map(\.name)
        let showLegend = names.contains { !$0.isEmpty }
        let legendW = showLegend ? legendWidth(names, cap: Double(W) * 0.3) : 0
        let left = 10 + (yLabel.isEmpty ? 0 : 18) + maxLabelWidth(yTicks) + 8
        var right = showLegend ? legendW + 24 : 16

        let integerX = !xs.isEmpty && xs.allSatisfy { $0 == $0.rounded() }
        var xTarget = max(2, Int((Double(W) - left - right) / 80))
        var xTicks: Ticks
        repeat {
            xTicks = logX ? logTicks(xs.min() ?? 1, xs.max() ?? 10, maxTicks: xTarget + 1)
                : linearTicks(xs.min() ?? 0, xs.max() ?? 1, target: xTarget, expand: true, integerStep: integerX)
            let spacing = (Double(W) - left - right) / Double(max(xTicks.values.count - 1, 1))
            if maxLabelWidth(xTicks) + 10 <= spacing || xTarget <= 2 { break }
            xTarget -= 1
        } while true
        right = max(right, textWidth(xTicks.labels.last ?? "", size: tickFont) / 2 + 6)
        let r = PlotRect(x0: left, y0: top, x1: Double(W) - right, y1: Double(H) - bottom)
        // Inset the x data range a little so that end points and their error bars clear the axes.
        let inset = min(12, (r.x1 - r.x0) * 0.03)
        let sx = Scale(xTicks, r.x0 + inset, r.x1 - inset), sy = Scale(yTicks, r.y1, r.y0)

        drawTitle(&c, title)
        drawXGrid(&c, r, xTicks, sx)
        drawYGrid(&c, r, yTicks, sy)
        let clip = "clip-" + hashID("line|\(title)|\(W)x\(H)|\(names.joined(separator: "|"))")
        c.raw("<defs><clipPath id=\"\(clip)\"><rect x=\"\(coord(r.x0 - 6))\" y=\"\(coord(r.y0 - 6))\" "
            + "width=\"\(coord(r.x1 - r.x0 + 12))\" height=\"\(coord(r.y1 - r.y0 + 12))\"/></clipPath></defs>")
        c.raw("<g clip-path=\"url(#\(clip))\">")
        for (si, s) in series.enumerated() {
            let col = colour(si)
            c.raw("<g><title>\(escape(s.name))</title>")
            var runs: [[(Double, Double)]] = [[]]
            var indices: [[Int]] = [[]]
            for (i, p) in s.points.enumerated() {
                if usable(p) {
                    runs[runs.count - 1].append((sx(p.x), sy(p.y)))
                    indices[indices.count - 1].append(i)
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                    indices.append([])
                }
            }
            for run in runs where run.count >= 2 { c.polyline(run, stroke: col, width: 2) }
            let markers = indices.reduce(0) { $0 + $1.count } <= 60
            for (run, idx) in zip(runs, indices) {
                for (pt, i) in zip(run, idx) {
                    if let e = error(s, i) {
                        let (lo, hi) = (sy(s.points[i].y - e), sy(s.points[i].y + e))
                        c.line(pt.0, lo, pt.0, hi, stroke: col, width: 1.2)
                        c.line(pt.0 - 3, lo, pt.0 + 3, lo, stroke: col, width: 1.2)
                        c.line(pt.0 - 3, hi, pt.0 + 3, hi, stroke: col, width: 1.2)
                    }
                    if markers || run.count == 1 {
                        c.circle(pt.0, pt.1, r: 3.5, fill: col, extra: " stroke=\"#ffffff\" stroke-width=\"1\"")
                    }
                }
            }
            c.raw("</g>")
        }
        c.raw("</g>")
        if xs.isEmpty { drawNoData(&c, r) }
        drawYAxis(&c, r, yTicks, sy, label: yLabel)
        drawXAxis(&c, r, xTicks, sx, label: xLabel)
        if showLegend {
            drawLegend(&c, names, series.indices.map(colour), swatch: .line, x: r.x1 + 16, y: r.y0 + 8, width: legendW)
        }
        return c.render(title: title)
    }

    /// Grouped bar chart: one group per category, one bar per series (values aligned with
    /// categories), optional error bars (± errors[i], drawn in dark grey).
    ///
    /// Bars rise from 0 (or from the nearest edge of `yRange` when 0 is outside it) and are cut at
    /// the plot edges; a non-finite value draws no bar. The auto y range includes 0 and the error
    /// bars. Category labels are rotated 35° when they do not fit their group. A legend is drawn when
    /// there are several series or the single one is named.
    /// Output: a standalone SVG 1.1 document of `width` × `height` px (at least 200 × 150).
    ///
    /// `valueLabels` formats each bar's value above it (nil: none); `references` are horizontal
    /// dashed lines with their label at the right end (the teacher's accuracy, say).
    public static func barChart(title: String, yLabel: String, categories: [String],
                                series: [(name: String, values: [Double], errors: [Double]?)],
                                yRange: ClosedRange<Double>? = nil, width: Int = 640, height: Int = 400,
                                valueLabels: ((Double) -> String)? = nil,
                                references: [(name: String, value: Double)] = []) -> String {
        let W = max(width, 200), H = max(height, 150)
        var c = SVGCanvas(width: W, height: H)
        let nCat = categories.count
        func value(_ s: Int, _ i: Int) -> Double? {
            let v = series[s].values
            guard i < v.count, v[i].isFinite, abs(v[i]) <= 1e300 else { return nil }
            return v[i]
        }
        func error(_ s: Int, _ i: Int) -> Double? {
            guard let e = series[s].errors, i < e.count, e[i].isFinite, abs(e[i]) <= 1e300, e[i] != 0 else { return nil }
            return abs(e[i])
        }
        var ys: [Double] = [0]
        for s in series.indices {
            for i in 0..<nCat {
                guard let v = value(s, i) else { continue }
                ys.append(v)
                if let e = error(s, i) { ys += [v - e, v + e] }
            }
        }
        let hasData = ys.count > 1

        let top = title.isEmpty ? 16.0 : 40.0
        let names = series.map(\.name)
        let showLegend = series.count > 1 || names.contains { !$0.isEmpty }
        let legendW = showLegend ? legendWidth(names, cap: Double(W) * 0.3) : 0
        let right = showLegend ? legendW + 24 : 16

        // Category labels: horizontal (wrapped onto two lines if needed) when they fit their group,
        // else rotated 35° and cut so that they take at most 30% of the height.
        let maxRotated = (Double(H) * 0.3 - 9) / 0.574
        let labels = categories.map { truncate($0, maxWidth: maxRotated, size: tickFont) }
        let widest = labels.map { textWidth($0, size: tickFont) }.max() ?? 0
        var bottom = 30.0
        // The plot width depends on the left margin, which depends on the y ticks, which depend on
        // the bottom margin; one estimate with the horizontal-label bottom margin is close enough.
        let yTarget0 = max(2, Int((Double(H) - top - bottom) / 55))
        let yTicks0 = yTicksFor(yRange, ys, target: yTarget0)
        let left0 = 10 + (yLabel.isEmpty ? 0 : 18) + maxLabelWidth(yTicks0) + 8
        let groupW0 = (Double(W) - left0 - right) / Double(max(nCat, 1))
        let wrapped = categories.map { wrap($0, maxWidth: groupW0 - 6, size: tickFont) }
        let rotate = wrapped.contains { $0 == nil }
        if rotate {
            bottom = 18 + widest * 0.574 + 9
        } else if wrapped.contains(where: { ($0?.count ?? 0) > 1 }) {
            bottom = 44
        }
        let yTarget = max(2, Int((Double(H) - top - bottom) / 55))
        let yTicks = yTicksFor(yRange, ys, target: yTarget)
        var left = 10 + (yLabel.isEmpty ? 0 : 18) + maxLabelWidth(yTicks) + 8
        if rotate, let first = labels.first {
            left = max(left, textWidth(first, size: tickFont) * 0.82 - groupW0 / 2 + 8)
        }
        let r = PlotRect(x0: left, y0: top, x1: Double(W) - right, y1: Double(H) - bottom)
        let sy = Scale(yTicks, r.y1, r.y0)
        let groupW = (r.x1 - r.x0) / Double(max(nCat, 1))
        let barW = groupW * 0.8 / Double(max(series.count, 1))

        drawTitle(&c, title)
        drawYGrid(&c, r, yTicks, sy)
        let base = min(max(0, yTicks.lo), yTicks.hi)
        let py0 = sy(base)
        func clampY(_ y: Double) -> Double { min(max(y, r.y0), r.y1) }
        for s in series.indices {
            let col = colour(s)
            c.raw("<g><title>\(escape(series[s].name))</title>")
            for i in 0..<nCat {
                guard let v = value(s, i) else { continue }
                let x = r.x0 + groupW * (Double(i) + 0.1) + barW * Double(s)
                let py = clampY(sy(v))
                let gap = barW > 6 ? 1.0 : 0
                c.rect(x + gap / 2, min(py, py0), barW - gap, abs(py - py0), fill: col)
            }
            for i in 0..<nCat {
                guard let v = value(s, i), let e = error(s, i) else { continue }
                let cx = r.x0 + groupW * (Double(i) + 0.1) + barW * (Double(s) + 0.5)
                let (lo, hi) = (clampY(sy(v - e)), clampY(sy(v + e)))
                let cap = min(barW * 0.25, 5)
                c.line(cx, lo, cx, hi, stroke: "#333333", width: 1.2)
                c.line(cx - cap, lo, cx + cap, lo, stroke: "#333333", width: 1.2)
                c.line(cx - cap, hi, cx + cap, hi, stroke: "#333333", width: 1.2)
            }
            c.raw("</g>")
        }
        if let format = valueLabels {
            for s in series.indices {
                for i in 0..<nCat {
                    guard let v = value(s, i) else { continue }
                    let cx = r.x0 + groupW * (Double(i) + 0.1) + barW * (Double(s) + 0.5)
                    let y = clampY(sy(v + (error(s, i) ?? 0))) - 4
                    c.text(format(v), cx, max(y, r.y0 + 9), size: tickFont * 0.85, anchor: .middle)
                }
            }
        }
        for ref in references where ref.value.isFinite && ref.value >= yTicks.lo && ref.value <= yTicks.hi {
            let y = sy(ref.value)
            c.line(r.x0, y, r.x1, y, stroke: "#444444", width: 1.2, extra: " stroke-dasharray=\"5,4\"")
            c.text(ref.name, r.x1 - 4, y - 4, size: tickFont * 0.85, anchor: .end, fill: "#444444",
                   extra: " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"")   // a halo: legible over bars
        }
        if !hasData { drawNoData(&c, r) }
        drawYAxis(&c, r, yTicks, sy, label: yLabel)
        c.line(r.x0, r.y1, r.x1, r.y1, stroke: axisColour)
        if base > yTicks.lo { c.line(r.x0, py0, r.x1, py0, stroke: axisColour) }
        for (i, l) in labels.enumerated() {
            let cx = r.x0 + groupW * (Double(i) + 0.5)
            if rotate {
                c.text(l, cx + 3, r.y1 + 14, size: tickFont, anchor: .end, rotate: -35)
            } else {
                for (k, part) in (wrapped[i] ?? [l]).enumerated() {
                    c.text(part, cx, r.y1 + 18 + 13 * Double(k), size: tickFont, anchor: .middle)
                }
            }
        }
        if showLegend {
            drawLegend(&c, names, series.indices.map(colour), swatch: .box, x: r.x1 + 16, y: r.y0 + 8, width: legendW)
        }
        return c.render(title: title)
    }

    /// `s` broken at spaces into at most two lines of at most `maxWidth` px each (estimated), or
    /// nil when it does not fit.
    static func wrap(_ s: String, maxWidth: Double, size: Double) -> [String]? {
        var lines: [String] = []
        var current = ""
        for word in s.split(separator: " ") {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if textWidth(candidate, size: size) <= maxWidth {
                current = candidate
            } else {
                if !current.isEmpty { lines.append(current) }
                current = String(word)
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines.count <= 2 && lines.allSatisfy({ textWidth($0, size: size) <= maxWidth }) ? lines : nil
    }

    /// A y range zoomed onto `values` (and `references`) with a margin of a quarter of their
    /// spread on each side (at least 0.01), kept inside `bounds`: differences of a few tenths of
    /// a percent between bars become visible, where a 0…1 axis would show equal bars.
    public static func zoomedRange(_ values: [Double], references: [Double] = [], bounds: ClosedRange<Double> = 0...1) -> ClosedRange<Double> {
        let v = (values + references).filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return bounds }
        let margin = max((hi - lo) * 0.25, 0.01)
        let a = max(bounds.lowerBound, lo - margin), b = min(bounds.upperBound, hi + margin)
        return a < b ? a...b : bounds
    }

    /// The y ticks of a bar chart: `yRange` when it is a finite non-empty range, else the values
    /// (0 included) widened to nice ticks.
    static func yTicksFor(_ yRange: ClosedRange<Double>?, _ ys: [Double], target: Int) -> Ticks {
        if let r = yRange, r.lowerBound.isFinite, r.upperBound.isFinite, r.upperBound > r.lowerBound {
            return linearTicks(r.lowerBound, r.upperBound, target: target, expand: false)
        }
        return linearTicks(ys.min() ?? 0, ys.max() ?? 1, target: target, expand: true)
    }
}
