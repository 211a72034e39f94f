import Foundation
import DistillCore

/// Combines the logits of several teachers into one target (an ensemble teacher).
///
/// Hinton et al. (2015) distil an ensemble through its mean predictive distribution; averaging
/// logits (a geometric mean of the distributions, renormalised) is the cheaper alternative.
/// Both return logits [N, C], so they plug into any response loss as the teacher's logits.
public enum EnsembleTarget {
    /// log((1/K) Σₖ softmax(zₖ)): logits whose softmax is the members' mean probabilities.
    ///
    /// Computed stably as logsumexpₖ(log softmax(zₖ)) − log K, with the elementwise maximum over
    /// members subtracted. Rows come out normalised (their logsumexp is 0). Differentiable.
    /// Shapes: K ≥ 1 tensors [N, C] → [N, C].
    public static func meanProbabilities(_ logits: [Tensor]) -> Tensor {
        check(logits, "meanProbabilities")
        let logps = logits.map { $0.logSoftmax(alongAxis: -1) }
        if logps.count == 1 { return logps[0] }
        let m = Tensor.make(logps[0].shape) { o in
            let n = logps[0].count
            logps[0].withUnsafeBufferPointer { p in for i in 0..<n { o[i] = p[i] } }
            for l in logps.dropFirst() {
                l.withUnsafeBufferPointer { p in for i in 0..<n { o[i] = Swift.max(o[i], p[i]) } }
            }
        }
        var s = (logps[0] - m).exp()
        for l in logps.dropFirst() { s = s + (l - m).exp() }
        return s.log() + m - Float(Foundation.log(Double(logps.count)))
    }

    /// (1/K) Σₖ zₖ: the mean of the members' logits. Shapes: K ≥ 1 tensors [N, C] → [N, C].
    public static func meanLogits(_ logits: [Tensor]) -> Tensor {
        check(logits, "meanLogits")
        var s = logits[0]
        for l in logits.dropFirst() { s = s + l }
        return logits.count == 1 ? s : s / Float(logits.count)
    }

    static func check(_ logits: [Tensor], _ op: String) {
        ensure(!logits.isEmpty, "EnsembleTarget.\(op): needs at least one member's logits")
        for l in logits {
            ensure(l.shape == logits[0].shape && l.rank >= 1,
                   "EnsembleTarget.\(op): member logits \(Shape.describe(logits[0].shape)) and \(Shape.describe(l.shape)) differ")
        }
    }
}
