import DistillCore
import DistillNN

/// Probabilistic knowledge transfer (Passalis & Tefas, "Learning Deep Representations with
/// Probabilistic Knowledge Transfer", ECCV 2018) with the cosine-similarity kernel.
///
/// Features are flattened to [N, D] (Dₛ and Dₜ may differ) and normalised with ε = 1e-7 added to
/// the norm; the conditional probabilities are row-normalised shifted cosine similarities, and
/// the loss is the KL divergence averaged over all N² entries (diagonal included), exactly as
/// RepDistiller's `PKT` / the authors' `cosine_similarity_loss`:
///
///     x̂ᵢ = xᵢ / (‖xᵢ‖₂ + ε),   Kᵢⱼ = (x̂ᵢᵀ x̂ⱼ + 1) / 2,   pᵢⱼ = Kᵢⱼ / Σⱼ Kᵢⱼ
///     L = Σ_pairs (1/N²) Σᵢⱼ pᵗᵢⱼ · log((pᵗᵢⱼ + ε) / (pˢᵢⱼ + ε)),   ε = 1e-7
///
/// RepDistiller applies it to the penultimate (pooled) feature with weight β = 30000 (objective
/// weight); the loss is unweighted.
///
/// Options: `student`, `teacher` (default `fc:input`, the pooled feature), `point`.
/// Refuses in `prepare`: different batch sizes.
public final class ProbabilisticKnowledgeTransferLoss: DistillationLoss {
    public let name = "pkt"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public static let eps: Float = 1e-7

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap]) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [2, 3, 4, 5], what: "batched features [N, ...]")
    }

    /// The conditional probability matrix p [N, N] of flattened features x [N, ...].
    public static func conditionalProbabilities(_ x: Tensor) -> Tensor {
        let f = x.reshaped([x.shape[0], -1])
        let xn = f / ((f * f).sum(alongAxis: 1, keepDims: true).sqrt() + eps)
        let k = (Tensor.matmul(xn, xn, transposeB: true) + 1) / 2
        return k / k.sum(alongAxis: 1, keepDims: true)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        FeatureSupport.sumOverLayers(self, batch, matchingSpatialSize: false) { _, s, t in
            let ps = Self.conditionalProbabilities(s)
            let pt = Self.conditionalProbabilities(t.detached())
            return (pt * ((pt + Self.eps).log() - (ps + Self.eps).log())).mean()
        }
    }
}
