import Foundation

/// The largest model the tool builds, in one place: specs come from the command line, from
/// experiment files and from the `model` string in a checkpoint's metadata, so every size in them
/// is bounded before anything is allocated, with overflow-checked arithmetic.
///
/// - Every integer option (a width, a depth, a vocabulary) is at most `maxDimension`.
/// - The parameter count is at most `maxParameters`: an eighth of this machine's memory in
///   float32 weights, since training holds about four copies (weights, gradients, two Adam
///   moments) besides activations. `DISTILL_MAX_PARAMETERS` sets it (a count) where more is wanted.
public enum ModelLimits {
    /// The largest single size in a spec (a width, channels, vocabulary, sequence length).
    public static let maxDimension = 1 << 20
    /// Layers, heads, depth: the largest count of repeated blocks in a spec.
    public static let maxRepeats = 1024

    /// The most parameters a model may have on this machine.
    public static var maxParameters: Int {
        if let v = ProcessInfo.processInfo.environment["DISTILL_MAX_PARAMETERS"], let n = Int(v), n > 0 { return n }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory / 32)
    }

    /// a·b + c·d + … with overflow reported as nil.
    static func sumOfProducts(_ terms: [[Int]]) -> Int? {
        var total = 0
        for t in terms {
            var p = 1
            for f in t {
                let (q, o) = p.multipliedReportingOverflow(by: f)
                if o { return nil }
                p = q
            }
            let (s, o) = total.addingReportingOverflow(p)
            if o { return nil }
            total = s
        }
        return total
    }

    /// Refuses a model of `parameters` (nil: more than `Int` holds) parameters above the limit.
    static func check(_ spec: String, parameters: Int?) throws {
        let limit = maxParameters
        guard let n = parameters, n <= limit else {
            let size = parameters.map { "\(grouped($0)) parameters (\(gigabytes(Double($0) * 4)) of float32 weights, about four times that to train)" }
                ?? "more parameters than a 64-bit integer counts"
            throw ModelError.tooLarge(model: spec, detail: "would have \(size); the limit on this machine is \(grouped(limit)) parameters (DISTILL_MAX_PARAMETERS raises it)")
        }
    }

    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    static func gigabytes(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.1f MB", bytes / 1e6)
    }
}
