/// Summary statistics of repeated runs (seeds), in Double.
public enum Statistics {
    /// Arithmetic mean (1/n) Σ xᵢ; NaN for an empty sample.
    public static func mean(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return .nan }
        return xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample standard deviation √(Σ (xᵢ − x̄)² / (n − 1)) (Bessel's correction, as NumPy's
    /// `std(ddof=1)`); 0 for fewer than two samples.
    public static func sampleStd(_ xs: [Double]) -> Double {
        guard xs.count >= 2 else { return 0 }
        let m = mean(xs)
        let ss = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (ss / Double(xs.count - 1)).squareRoot()
    }
}

/// GitHub-flavoured Markdown tables and "mean ± std" cells for experiment reports. Numbers are
/// formatted by this module's own code (no locale), so output is identical on every platform.
public enum MarkdownTable {
    /// A GitHub-flavoured Markdown table; columns right-aligned when every cell parses as a number
    /// (allowing ± and %).
    ///
    /// The column count is the longest of the header and the rows; short rows are padded with
    /// empty cells. Empty cells do not prevent right alignment, but a column needs at least one
    /// number. `|` in a cell is escaped and line breaks become spaces. Cells are padded to the
    /// column width (in characters) so the source reads as a table too. Ends with a newline.
    public static func render(header: [String], rows: [[String]]) -> String {
        let n = max(header.count, rows.map(\.count).max() ?? 0)
        guard n > 0 else { return "" }
        func clean(_ s: String) -> String {
            var out = ""
            for ch in s {
                switch ch {
                case "|": out += "\\|"
                case "\n", "\r", "\r\n": out += " "
                default: out.append(ch)
                }
            }
            return out
        }
        func padded(_ r: [String]) -> [String] { (0..<n).map { $0 < r.count ? clean(r[$0]) : "" } }
        let head = padded(header)
        let body = rows.map(padded)
        let numeric = (0..<n).map { j -> Bool in
            let cells = body.map { $0[j].trimmingSpaces }
            return cells.contains { !$0.isEmpty } && cells.allSatisfy { $0.isEmpty || isNumber($0) }
        }
        let widths = (0..<n).map { j in max(3, ([head] + body).map { $0[j].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            let parts = (0..<n).map { j -> String in
                let fill = String(repeating: " ", count: widths[j] - cells[j].count)
                return numeric[j] ? fill + cells[j] : cells[j] + fill
            }
            return "| " + parts.joined(separator: " | ") + " |"
        }
        let rule = "|" + (0..<n).map { j in
            numeric[j] ? " " + String(repeating: "-", count: widths[j] - 1) + ": " : " " + String(repeating: "-", count: widths[j]) + " "
        }.joined(separator: "|") + "|"
        return ([line(head), rule] + body.map(line)).joined(separator: "\n") + "\n"
    }

    /// "0.9123 ± 0.0021" from samples (sample std, n−1; a single sample prints without ±), with
    /// `digits` decimals; percent: multiply by 100 and add "%".
    ///
    /// With `percent` both numbers carry the sign: "91.23% ± 0.21%". An empty sample gives "—",
    /// and a non-finite mean prints as "NaN" or "∞". Rounding is half away from zero.
    public static func meanStd(_ xs: [Double], digits: Int = 4, percent: Bool = false) -> String {
        guard !xs.isEmpty else { return "—" }
        let scale = percent ? 100.0 : 1
        let suffix = percent ? "%" : ""
        let d = max(0, min(digits, 15))
        let m = SVGPlot.fixed(Statistics.mean(xs) * scale, d) + suffix
        guard xs.count >= 2 else { return m }
        return m + " ± " + SVGPlot.fixed(Statistics.sampleStd(xs) * scale, d) + suffix
    }

    /// Whether `s` reads as a number: an optional sign (+, -, −), digits with an optional decimal
    /// part and exponent, an optional %, optionally followed by "±" and a second such number; or
    /// NaN / ∞.
    static func isNumber(_ s: String) -> Bool {
        let parts = s.split(separator: "±", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        return parts.allSatisfy { isPlainNumber(String($0).trimmingSpaces) }
    }

    private static func isPlainNumber(_ s: String) -> Bool {
        var chars = Array(s)
        if chars.last == "%" { chars.removeLast() }
        if let f = chars.first, f == "+" || f == "-" || f == "−" { chars.removeFirst() }
        let body = String(chars)
        if body == "NaN" || body == "nan" || body == "∞" || body == "inf" { return true }
        var i = 0
        var digits = 0
        while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1; digits += 1 }
        if i < chars.count, chars[i] == "." {
            i += 1
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1; digits += 1 }
        }
        guard digits > 0 else { return false }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            i += 1
            if i < chars.count, chars[i] == "+" || chars[i] == "-" { i += 1 }
            var expDigits = 0
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1; expDigits += 1 }
            guard expDigits > 0 else { return false }
        }
        return i == chars.count
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (no Foundation).
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
