import DistillCore
import DistillNN

/// Supervised cross-entropy with the ground-truth labels, as an objective term (`ce`), so that
/// every objective is a sum of registry terms (e.g. `ce` + 0.9·`kd`).
///
///     ℓᵢ = (1 − ε)·(−log pᵢ[yᵢ]) + ε·(1/C) Σ_c (−log pᵢ[c]),   p = softmax(z_s)
///
/// Label smoothing ε (default 0) follows Szegedy et al., "Rethinking the Inception Architecture
/// for Computer Vision", CVPR 2016, with PyTorch's `label_smoothing` semantics. The mean is over
/// the labelled rows (label −1 rows are skipped, PyTorch `ignore_index=-1`); a batch without any
/// labelled row gives 0. The teacher is not used. Shapes: student logits [N, C], labels [N].
public final class CrossEntropyTerm: TaskLossTerm {
    public let name = "ce"
    public let labelSmoothing: Float

    public init(labelSmoothing: Float = 0) {
        ensure(labelSmoothing >= 0 && labelSmoothing <= 1, "ce: label smoothing \(labelSmoothing) is outside [0, 1]")
        self.labelSmoothing = labelSmoothing
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name, needsTeacher: false)
        ResponseTerms.checkLabels(batch, method: name)
        return ResponseTerms.labelledCrossEntropy(batch.studentLogits, labels: batch.labels, smoothing: labelSmoothing)
    }
}
