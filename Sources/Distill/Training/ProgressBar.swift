#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// A one-line progress bar on standard error: `epoch 3/10 [=====>    ] 234/469  loss 0.3121  1,820 img/s`.
///
/// On a terminal it redraws in place at most ten times a second; when standard error is not a
/// terminal (logs, CI) it prints a plain line every `plainEvery` steps and at the end, so logs stay
/// readable.
public final class ProgressBar {
    public let label: String
    public let total: Int
    private let width = 28
    private let isTerminal: Bool
    private let plainEvery: Int
    private var lastDraw: Double = 0
    private let start: Double
    private var items = 0

    public init(label: String, total: Int, plainEvery: Int = 100) {
        self.label = label
        self.total = max(total, 1)
        self.plainEvery = plainEvery
        isTerminal = isatty(STDERR_FILENO) != 0
        start = ProgressBar.now()
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Reports that `step` of `total` steps are done, having processed `items` more items.
    public func update(step: Int, items newItems: Int = 0, metrics: [(String, Double)] = []) {
        items += newItems
        let t = ProgressBar.now()
        let done = step >= total
        if isTerminal {
            guard done || t - lastDraw >= 0.1 else { return }
            lastDraw = t
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line(step: step, elapsed: t - start, metrics: metrics) + (done ? "\n" : "")).utf8))
        } else if done || step % plainEvery == 0 {
            FileHandle.standardError.write(Data((line(step: step, elapsed: t - start, metrics: metrics) + "\n").utf8))
        }
    }

    func line(step: Int, elapsed: Double, metrics: [(String, Double)]) -> String {
        let filled = min(width, width * step / total)
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        var s = "\(label) [\(bar)] \(step)/\(total)"
        for (k, v) in metrics { s += "  \(k) \(String(format: "%.4f", v))" }
        if items > 0 && elapsed > 0 { s += "  \(Int(Double(items) / elapsed)) img/s" }
        s += "  \(String(format: "%.1f", elapsed))s"
        return s
    }
}
