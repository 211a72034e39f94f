import Foundation

/// Tick positions, their labels, and the domain [lo, hi] of one axis. A log axis maps positions
/// through log2 (any base gives the same picture); its ticks are powers of 2 or of 10.
struct Ticks {
    var lo: Double
    var hi: Double
    var values: [Double]
    var labels: [String]
    var log: Bool
}

/// Maps data values on one axis to pixels; a degenerate domain or a non-finite value maps to the
/// middle of the pixel range, so no coordinate is ever NaN.
struct Scale {
    let d0: Double, d1: Double, p0: Double, p1: Double, log: Bool

    init(_ t: Ticks, _ p0: Double, _ p1: Double) {
        log = t.log
        d0 = t.log ? Foundation.log2(t.lo) : t.lo
        d1 = t.log ? Foundation.log2(t.hi) : t.hi
        self.p0 = p0
        self.p1 = p1
    }

    func callAsFunction(_ v: Double) -> Double {
        let t = log ? (v > 0 ? Foundation.log2(v) : -.infinity) : v
        guard t.isFinite, d0.isFinite, d1.isFinite, d1 != d0 else { return (p0 + p1) / 2 }
        return p0 + (t - d0) / (d1 - d0) * (p1 - p0)
    }
}

/// The plot area in pixels; y grows downwards, so y0 is the top edge.
struct PlotRect {
    var x0: Double, y0: Double, x1: Double, y1: Double
}

extension SVGPlot {
    // MARK: Ticks

    /// The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is ≥ `raw` (1 for bad input).
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let p = pow10(exponent10(raw))
        let f = raw / p
        for m in [1.0, 2.0, 2.5, 5.0] where f <= m * (1 + 1e-9) { return m * p }
        return 10 * p
    }

    /// The fewest decimals that print `step` exactly (0.25 → 2, 5 → 0), at most 12.
    static func stepDecimals(_ step: Double) -> Int {
        for d in 0...12 {
            let s = step * pow10(d)
            if abs(s - s.rounded()) <= 1e-6 * s { return d }
        }
        return 12
    }

    /// Nice linear ticks: multiples k·step of a 1-2-2.5-5 step giving about `target` intervals over
    /// [lo, hi]. `expand` widens the domain outwards to the first and last tick (auto ranges);
    /// otherwise the domain is [lo, hi] as given and only ticks inside it are kept. An empty or
    /// all-equal range is widened by 10% of its magnitude (or to [−1, 1] around 0); non-finite
    /// bounds give [0, 1]. `integerStep` keeps the step ≥ 1 (epochs, counts).
    static func linearTicks(_ lo: Double, _ hi: Double, target: Int, expand: Bool, integerStep: Bool = false) -> Ticks {
        var a = lo, b = hi
        if !(a.isFinite && b.isFinite) { a = 0; b = 1 }
        a = min(max(a, -1e300), 1e300)
        b = min(max(b, -1e300), 1e300)
        if a > b { swap(&a, &b) }
        let mag = max(abs(a), abs(b))
        if b - a <= mag * 1e-9 {
            let d = mag == 0 ? 1 : mag * 0.1
            a -= d
            b += d
        }
        var step = niceStep((b - a) / Double(max(target, 1)))
        if integerStep { step = max(step, 1) }
        let k0 = expand ? (a / step + 1e-9).rounded(.down) : (a / step - 1e-9).rounded(.up)
        let k1 = expand ? (b / step - 1e-9).rounded(.up) : (b / step + 1e-9).rounded(.down)
        var values: [Double] = []
        if k1 >= k0, k1 - k0 <= 200 {
            var k = k0
            while k <= k1 {
                values.append(k == 0 ? 0 : k * step)
                k += 1
            }
        }
        let (dlo, dhi) = expand && values.count >= 2 ? (k0 * step, k1 * step) : (a, b)
        return Ticks(lo: dlo, hi: dhi, values: values, labels: linearLabels(values, step: step), log: false)
    }

    /// Labels with the decimals of the step (0.91, not 0.9100000000001), a typographic minus, and
    /// scientific notation for very large or very fine ticks.
    static func linearLabels(_ values: [Double], step: Double) -> [String] {
        let d = stepDecimals(step)
        let maxAbs = values.map { abs($0) }.max() ?? 0
        if (d >= 5 && maxAbs < 1e-3) || maxAbs >= 1e7 {
            let e = exponent10(step)
            let decimals = min(max(exponent10(maxAbs) - e, 0) + stepDecimals(step / pow10(e)), 8)
            return values.map { scientific($0, decimals: decimals, minus: "−") }
        }
        return values.map { fixed($0, d, minus: "−") }
    }

    /// Log-axis ticks covering [lo, hi] (positive). Up to 8 doublings starting no lower than 2⁻⁶
    /// get powers of two (temperature sweeps 1, 2, 4, 8, 16); wider ranges get decades. At most
    /// about `maxTicks` ticks (a stride of several powers when needed); the domain ends on ticks.
    /// Non-positive or non-finite bounds give [1, 10]; an all-equal range is widened to [x/2, 2x].
    static func logTicks(_ lo: Double, _ hi: Double, maxTicks: Int = 8) -> Ticks {
        var a = lo, b = hi
        if !(a.isFinite && b.isFinite && a > 0 && b > 0) { a = 1; b = 10 }
        a = min(max(a, 1e-300), 1e300)
        b = min(max(b, 1e-300), 1e300)
        if a > b { swap(&a, &b) }
        if b <= a * (1 + 1e-9) { a /= 2; b *= 2 }
        let m = max(maxTicks - 1, 1)
        let e2lo = Int(a.exponent)
        let e2hi = b.significand == 1 ? Int(b.exponent) : Int(b.exponent) + 1
        if e2hi - e2lo <= 8, e2lo >= -6 {
            let stride = max(1, (e2hi - e2lo + m - 1) / m)
            let top = e2lo + ((e2hi - e2lo + stride - 1) / stride) * stride
            let ks = Array(Swift.stride(from: e2lo, through: top, by: stride))
            let values = ks.map { Double(sign: .plus, exponent: $0, significand: 1) }
            let labels = zip(ks, values).map { k, v in k > 20 ? "2" + superscript(k) : trimmed(v, maxDecimals: 6) }
            return Ticks(lo: values.first!, hi: values.last!, values: values, labels: labels, log: true)
        }
        let d0 = exponent10(a)
        let d1 = pow10(exponent10(b)) == b ? exponent10(b) : exponent10(b) + 1
        let stride = max(1, (d1 - d0 + m - 1) / m)
        let top = d0 + ((d1 - d0 + stride - 1) / stride) * stride
        let ks = Array(Swift.stride(from: d0, through: top, by: stride))
        let values = ks.map { pow10($0) }
        let labels = zip(ks, values).map { k, v in (-4...5).contains(k) ? trimmed(v, maxDecimals: 4) : "10" + superscript(k) }
        return Ticks(lo: values.first!, hi: values.last!, values: values, labels: labels, log: true)
    }

    // MARK: Frame

    static let tickFont = 11.0
    static let labelFont = 12.0
    static let titleFont = 15.0

    /// Widest tick label in px.
    static func maxLabelWidth(_ t: Ticks) -> Double {
        t.labels.map { textWidth($0, size: tickFont) }.max() ?? 0
    }

    /// The title, centred; shrunk (down to 11 px) and then cut with an ellipsis to fit the width.
    static func drawTitle(_ c: inout SVGCanvas, _ title: String) {
        guard !title.isEmpty else { return }
        let avail = Double(c.width) - 20
        var size = titleFont
        while size > 11, textWidth(title, size: size) > avail { size -= 1 }
        let s = truncate(title, maxWidth: avail, size: size)
        c.text(s, Double(c.width) / 2, 24, size: size, anchor: .middle, bold: true)
    }

    /// Horizontal gridlines at the y ticks that fall inside the plot.
    static func drawYGrid(_ c: inout SVGCanvas, _ r: PlotRect, _ t: Ticks, _ s: Scale) {
        for v in t.values {
            let y = s(v)
            if y >= r.y0 - 0.5, y <= r.y1 + 0.5 { c.line(r.x0, y, r.x1, y, stroke: gridColour) }
        }
    }

    /// Vertical gridlines at the x ticks that fall inside the plot.
    static func drawXGrid(_ c: inout SVGCanvas, _ r: PlotRect, _ t: Ticks, _ s: Scale) {
        for v in t.values {
            let x = s(v)
            if x >= r.x0 - 0.5, x <= r.x1 + 0.5 { c.line(x, r.y0, x, r.y1, stroke: gridColour) }
        }
    }

    /// Left axis line, tick marks, right-aligned tick labels and the rotated axis label.
    static func drawYAxis(_ c: inout SVGCanvas, _ r: PlotRect, _ t: Ticks, _ s: Scale, label: String) {
        c.line(r.x0, r.y0, r.x0, r.y1, stroke: axisColour)
        for (v, l) in zip(t.values, t.labels) {
            let y = s(v)
            guard y >= r.y0 - 0.5, y <= r.y1 + 0.5 else { continue }
            c.line(r.x0 - 5, y, r.x0, y, stroke: axisColour)
            c.text(l, r.x0 - 8, y + 4, size: tickFont, anchor: .end)
        }
        if !label.isEmpty {
            let x = r.x0 - 14 - maxLabelWidth(t) - 4
            let s = truncate(label, maxWidth: r.y1 - r.y0, size: labelFont)
            c.text(s, x, (r.y0 + r.y1) / 2, size: labelFont, anchor: .middle, rotate: -90)
        }
    }

    /// Bottom axis line, tick marks, centred tick labels and the axis label.
    static func drawXAxis(_ c: inout SVGCanvas, _ r: PlotRect, _ t: Ticks, _ s: Scale, label: String) {
        c.line(r.x0, r.y1, r.x1, r.y1, stroke: axisColour)
        for (v, l) in zip(t.values, t.labels) {
            let x = s(v)
            guard x >= r.x0 - 0.5, x <= r.x1 + 0.5 else { continue }
            c.line(x, r.y1, x, r.y1 + 5, stroke: axisColour)
            c.text(l, x, r.y1 + 18, size: tickFont, anchor: .middle)
        }
        drawXLabel(&c, r, label, below: 40)
    }

    /// The x-axis label centred under the plot, `below` px under its bottom edge.
    static func drawXLabel(_ c: inout SVGCanvas, _ r: PlotRect, _ label: String, below: Double) {
        guard !label.isEmpty else { return }
        let s = truncate(label, maxWidth: r.x1 - r.x0 + 40, size: labelFont)
        c.text(s, (r.x0 + r.x1) / 2, r.y1 + below, size: labelFont, anchor: .middle)
    }

    /// A "no data" note centred in an empty plot.
    static func drawNoData(_ c: inout SVGCanvas, _ r: PlotRect) {
        c.text("no data", (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2, size: labelFont, anchor: .middle, fill: "#888888")
    }

    // MARK: Legend

    enum LegendSwatch { case line, box }

    static let legendRow = 18.0

    /// Width in px of a legend listing `names` (swatch, gap, widest name), capped at `cap`.
    static func legendWidth(_ names: [String], cap: Double) -> Double {
        let w = (names.map { textWidth($0, size: labelFont) }.max() ?? 0) + 30
        return min(w, cap)
    }

    /// A legend at (x, y) with one row per entry: a swatch in the entry's colour and its name, cut
    /// to `width`.
    static func drawLegend(_ c: inout SVGCanvas, _ names: [String], _ colours: [String], swatch: LegendSwatch,
                           x: Double, y: Double, width: Double) {
        for (i, (name, col)) in zip(names, colours).enumerated() {
            let cy = y + Double(i) * legendRow
            switch swatch {
            case .line:
                c.line(x, cy, x + 20, cy, stroke: col, width: 2)
                c.circle(x + 10, cy, r: 3, fill: col)
            case .box:
                c.rect(x + 4, cy - 6, 12, 12, fill: col)
            }
            c.text(truncate(name, maxWidth: width - 28, size: labelFont), x + 26, cy + 4, size: labelFont)
        }
    }
}
