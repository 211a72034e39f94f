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
    /// The teacher distribution is a constant. Shapes: both [N, C]; result a scalar.
    static func softKL(student s: Tensor, teacher t: Tensor, temperature T: Float) -> Tensor {
        let p = withoutGradients { (t.detached() / T).softmax(alongAxis: 1) }
        let logQ = (T == 1 ? s : s / T).logSoftmax(alongAxis: 1)
        let kl = klDivergence(logQ: logQ, p: p)
        return T == 1 ? kl : kl * (T * T)
    }

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
