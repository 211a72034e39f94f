import DistillCore
import DistillNN

/// Shared pieces of the response-based losses: shape checks, the temperature-scaled KL term, and
/// cross-entropy restricted to labelled rows.
enum ResponseTerms {
    /// Checks that student and teacher logits are both [N, C] with the same N and C.
    static func checkLogits(_ batch: DistillationBatch, method: String, needsTeacher: Bool = true) {
        let s = batch.studentLogits
        ensure(s.rank == 2, "\(method): student logits must be [N, C], got \(Shape.describe(s.shape))")
        if needsTeacher {
            ensure(batch.teacherLogits.shape == s.shape,
                   "\(method): student logits \(Shape.describe(s.shape)) and teacher logits \(Shape.describe(batch.teacherLogits.shape)) differ")
        }
    }

    /// Checks that the labels are [N] for logits [N, C].
    static func checkLabels(_ batch: DistillationBatch, method: String) {
        ensure(batch.labels.shape == [batch.studentLogits.shape[0]],
               "\(method): labels \(Shape.describe(batch.labels.shape)) do not match student logits \(Shape.describe(batch.studentLogits.shape))")
    }

    /// Rows whose label is not `Dataset.unlabelledMarker` (−1), in order.
    static func labelledRows(_ labels: IntTensor) -> [Int] {
        var rows: [Int] = []
        rows.reserveCapacity(labels.count)
        for (i, y) in labels.scalars.enumerated() where y != -1 { rows.append(i) }
        return rows
    }

    /// A zero scalar that is still connected to the tape through `x` (so `backward()` works and
    /// gives a zero gradient), for batches where a term has nothing to average over.
    static func zero(on x: Tensor) -> Tensor { (x * 0).sum() }

    /// The soft term of Hinton et al.: T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)), KL summed over
    /// classes and averaged over the batch (DESIGN.md; PyTorch `kl_div(reduction: "batchmean")`).
    /// Without `t2` the factor T² is left out (torchdistill's `KDLoss` when its α is 0); with
    /// `standardize` both logits are z-scored per row first (`standardized`, Sun et al. 2024).
    /// The teacher distribution is a constant. Shapes: both [N, C]; result a scalar.
    static func softKL(student s: Tensor, teacher t: Tensor, temperature T: Float, t2: Bool = true, standardize: Bool = false) -> Tensor {
        let p = withoutGradients { (prepared(t.detached(), standardize) / T).softmax(alongAxis: 1) }
        let zs = prepared(s, standardize)
        let logQ = (T == 1 ? zs : zs / T).logSoftmax(alongAxis: 1)
        let kl = klDivergence(logQ: logQ, p: p)
        return T == 1 || !t2 ? kl : kl * (T * T)
    }

    /// Logit standardisation (Sun, Ren, Li, Wang & Cao, "Logit Standardization in Knowledge
    /// Distillation", CVPR 2024): each row z of [N, C] logits becomes (z − mean(z)) / (std(z) + ε),
    /// std the unbiased standard deviation over the C classes (PyTorch `std`, C − 1 in the
    /// denominator) and ε = 1e-7, as the authors' `normalize` in their released code. The
    /// temperature that follows is the paper's base temperature τ: softmax(Z(z)/τ).
    static func standardized(_ z: Tensor, eps: Float = 1e-7) -> Tensor {
        ensure(z.rank == 2 && z.shape[1] >= 2, "logit standardisation needs logits [N, C] with C ≥ 2, got \(Shape.describe(z.shape))")
        let c = z - z.mean(alongAxis: 1, keepDims: true)
        let std = ((c * c).sum(alongAxis: 1, keepDims: true) / Float(z.shape[1] - 1)).sqrt()
        return c / (std + eps)
    }

    /// `z` standardised when `standardize`, else `z` itself.
    static func prepared(_ z: Tensor, _ standardize: Bool) -> Tensor { standardize ? standardized(z) : z }

    /// Mean cross-entropy (with label smoothing ε) over the labelled rows only, the semantics of
    /// PyTorch `F.cross_entropy(ignore_index=-1, label_smoothing=ε)`: the mean is taken over the
    /// labelled rows, and a batch without any labelled row gives 0 (on the tape).
    static func labelledCrossEntropy(_ s: Tensor, labels: IntTensor, smoothing eps: Float = 0) -> Tensor {
        let rows = labelledRows(labels)
        if rows.count == labels.count { return crossEntropy(logits: s, labels: labels, labelSmoothing: eps) }
        if rows.isEmpty { return zero(on: s) }
        let sub = s.indexSelect(alongAxis: 0, indices: IntTensor(rows))
        return crossEntropy(logits: sub, labels: IntTensor(rows.map { labels.scalars[$0] }), labelSmoothing: eps)
    }
}
