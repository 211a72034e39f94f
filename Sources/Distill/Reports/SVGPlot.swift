/// One named curve of a line chart: points in data coordinates and optional symmetric error bars.
/// `errors[i]` is the half-width of the bar at `points[i]` (drawn as y ± errors[i]); a NaN point
/// leaves a gap in the line, and a non-finite error draws no bar.
public struct Series {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var errors: [Double]?

    public init(name: String, points: [(x: Double, y: Double)], errors: [Double]? = nil) {
        self.name = name
        self.points = points
        self.errors = errors
    }
}

/// Dependency-free SVG 1.1 charts for experiment reports: line charts (learning curves,
/// temperature sweeps), grouped bar charts (accuracy vs agreement) and heat maps (loss landscapes).
///
/// Every chart is a standalone document (`xmlns`, `viewBox`, escaped text), drawn with a sans-serif
/// font, the Okabe–Ito colour-blind-safe palette (Okabe & Ito, "Color Universal Design", 2008) and
/// viridis for heat maps. Numbers are formatted by this file's own code (no locale, no printf), so
/// the same input gives the same bytes on every platform. Non-finite values are skipped, and
/// empty or degenerate input draws empty axes instead of failing: no coordinate is ever NaN.
public enum SVGPlot {
    /// Okabe–Ito colours, reordered so the first few stand out on white as lines (yellow last).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]

    static func colour(_ i: Int) -> String { palette[i % palette.count] }

    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"
    static let gridColour = "#e3e3e3"
    static let axisColour = "#333333"
    static let textColour = "#222222"
}

// MARK: - Text and numbers

extension SVGPlot {
    /// XML-escapes `s` for element content and attribute values; control characters that XML 1.0
    /// forbids become spaces.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if ch.value < 0x20 || ch.value == 0xFFFE || ch.value == 0xFFFF { out += " " } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// Estimated rendered width of `s` at `size` px (0.62 em per character, a little wider than
    /// DejaVu Sans' average so layouts err on the roomy side).
    static func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.62 }

    /// `s` cut to at most `maxWidth` px (estimated) with a trailing ellipsis.
    static func truncate(_ s: String, maxWidth: Double, size: Double) -> String {
        let maxChars = Int(maxWidth / (size * 0.62))
        if s.count <= maxChars { return s }
        if maxChars <= 1 { return "…" }
        return String(s.prefix(maxChars - 1)) + "…"
    }

    /// 10^e as a Double by repeated multiplication (exact for 0 ≤ e ≤ 22; no libm).
    static func pow10(_ e: Int) -> Double {
        var r = 1.0
        if e >= 0 { for _ in 0..<min(e, 400) { r *= 10 } } else { for _ in 0..<min(-e, 400) { r /= 10 } }
        return r
    }

    /// ⌊log10 |x|⌋ for finite nonzero x, checked against exact powers of ten.
    static func exponent10(_ x: Double) -> Int {
        let a = abs(x)
        guard a.isFinite, a > 0 else { return 0 }
        var e = 0
        var p = 1.0
        while p * 10 <= a, e < 400 { p *= 10; e += 1 }
        while p > a, e > -400 { p /= 10; e -= 1 }
        return e
    }

    /// `x` with exactly `decimals` decimals (0…15), half away from zero; `minus` is the sign used
    /// for negatives ("-" in tables, U+2212 on axes). Never prints "-0". Non-finite: "NaN", "∞".
    static func fixed(_ x: Double, _ decimals: Int, minus: String = "-") -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x < 0 ? minus + "∞" : "∞") }
        let d = max(0, min(decimals, 15))
        let p = pow10(d)
        let scaled = (abs(x) * p).rounded()
        guard scaled < 9e15 else { return scientific(x, decimals: 6, minus: minus) }
        let n = UInt64(scaled)
        let unit = UInt64(p)
        var s = String(n / unit)
        if d > 0 {
            let frac = String(n % unit)
            s += "." + String(repeating: "0", count: d - frac.count) + frac
        }
        return (x < 0 && n != 0 ? minus : "") + s
    }

    /// `fixed` with trailing zeros (and a bare decimal point) removed: 0.9100 → "0.91".
    static func trimmed(_ x: Double, maxDecimals: Int, minus: String = "-") -> String {
        var s = fixed(x, maxDecimals, minus: minus)
        guard s.contains("."), x.isFinite, !s.contains("e") else { return s }
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == minus + "0" ? "0" : s
    }

    /// `x` as mantissa × 10^e, "2.5e-5", with at most `decimals` mantissa decimals (trimmed).
    static func scientific(_ x: Double, decimals: Int, minus: String = "-") -> String {
        guard x.isFinite else { return fixed(x, 0, minus: minus) }
        if x == 0 { return "0" }
        var e = exponent10(x)
        var m = abs(x) / pow10(e)
        let p = pow10(decimals)
        if (m * p).rounded() >= 10 * p { m /= 10; e += 1 }
        let sign = x < 0 ? minus : ""
        let exp = e < 0 ? minus + String(-e) : String(e)
        return sign + trimmed(m, maxDecimals: decimals) + "e" + exp
    }

    /// A pixel coordinate: two decimals, trailing zeros trimmed, clamped to ±100000 px, and 0 for
    /// non-finite input (so "nan"/"inf" never reach an attribute).
    static func coord(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        return trimmed(min(max(x, -1e5), 1e5), maxDecimals: 2)
    }

    /// Unicode superscript of an integer, for tick labels such as 2⁻³ and 10⁵.
    static func superscript(_ n: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        let body = String(String(abs(n)).map { digits[Int(String($0))!] })
        return (n < 0 ? "⁻" : "") + body
    }

    /// A 32-bit FNV-1a hash in hex, for deterministic element ids (clip paths) that differ between
    /// charts inlined into one page.
    static func hashID(_ s: String) -> String {
        var h: UInt32 = 2_166_136_261
        for b in s.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}

// MARK: - Canvas

/// Accumulates SVG elements; all numbers pass through `SVGPlot.coord` and all text through
/// `SVGPlot.escape`.
struct SVGCanvas {
    let width: Int
    let height: Int
    private(set) var lines: [String] = []

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    private func c(_ x: Double) -> String { SVGPlot.coord(x) }

    mutating func raw(_ s: String) { lines.append(s) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, extra: String = "") {
        lines.append("<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\"\(extra)/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, extra: String = "") {
        lines.append("<rect x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(max(w, 0)))\" height=\"\(c(max(h, 0)))\" fill=\"\(fill)\"\(extra)/>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, extra: String = "") {
        lines.append("<circle cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"\(c(r))\" fill=\"\(fill)\"\(extra)/>")
    }

    mutating func polyline(_ pts: [(Double, Double)], stroke: String, width: Double) {
        let p = pts.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        lines.append("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ s: String, _ x: Double, _ y: Double, size: Double, anchor: Anchor = .start, rotate: Double? = nil,
                       bold: Bool = false, fill: String = SVGPlot.textColour, extra: String = "") {
        var attrs = "x=\"\(c(x))\" y=\"\(c(y))\" font-size=\"\(c(size))\""
        if anchor != .start { attrs += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { attrs += " font-weight=\"bold\"" }
        if let r = rotate { attrs += " transform=\"rotate(\(c(r)) \(c(x)) \(c(y)))\"" }
        lines.append("<text \(attrs) fill=\"\(fill)\"\(extra)>\(SVGPlot.escape(s))</text>")
    }

    /// The complete document: XML declaration, root element with namespace and viewBox, a white
    /// background, a `<title>` for accessibility, then the elements in drawing order.
    func render(title: String) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(width)\" height=\"\(height)\" "
        out += "viewBox=\"0 0 \(width) \(height)\" font-family=\"\(SVGPlot.fontFamily)\">\n"
        out += "<title>\(SVGPlot.escape(title))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        for l in lines { out += l + "\n" }
        out += "</svg>\n"
        return out
    }
}
