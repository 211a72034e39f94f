import Foundation

import DistillCore

/// The model-size checks of `ModelZoo`, against `Limits` (every size in a spec is bounded, and the
/// parameter count computed with overflow-checked arithmetic, before anything is allocated).
enum ModelLimits {
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
        let limit = Limits.maxParameters
        guard let n = parameters, n <= limit else {
            let size = parameters.map { "\(grouped($0)) parameters (\(Limits.describe(bytes: Double($0) * 4)) of float32 weights, about four times that to train)" }
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
}
