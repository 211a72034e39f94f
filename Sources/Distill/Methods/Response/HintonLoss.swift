import DistillCore
import DistillNN

/// Knowledge distillation with softened targets (Hinton, Vinyals & Dean, "Distilling the
/// Knowledge in a Neural Network", NIPS 2014 Deep Learning Workshop, arXiv:1503.02531):
///
///     L = α · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − α) · CE(y, softmax(z_s))
///
/// KL is summed over classes and averaged over the batch (DESIGN.md, PyTorch
/// `kl_div(reduction: "batchmean")`); the T² factor keeps the soft gradients' scale independent
/// of T, as the paper recommends. Shapes: student and teacher logits [N, C], labels [N].
/// Defaults T = 4, α = 0.9 (the common CIFAR setting of RepDistiller / torchdistill).
///
/// Unlabelled rows (label −1, transfer data) contribute to the soft term only: the CE term is
/// the mean over the labelled rows (PyTorch `cross_entropy(ignore_index=-1)`), and is 0 when the
/// batch has no labelled row. With α = 1 the labels are not read at all; that is the registry's
/// `kd` method, the pure soft term, meant to be combined with a separate `ce` term.
public final class HintonLoss: DistillationLoss {
    public let name: String
    public let temperature: Float
    public let alpha: Float

    public init(temperature: Float = 4, alpha: Float = 0.9, name: String = "hinton") {
        ensure(temperature > 0 && temperature.isFinite, "\(name): temperature \(temperature) must be positive")
        ensure(alpha >= 0 && alpha <= 1, "\(name): alpha \(alpha) is outside [0, 1]")
        self.temperature = temperature; self.alpha = alpha; self.name = name
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let s = batch.studentLogits
        var total: Tensor? = nil
        if alpha > 0 {
            let soft = ResponseTerms.softKL(student: s, teacher: batch.teacherLogits, temperature: temperature)
            total = alpha == 1 ? soft : soft * alpha
        }
        if alpha < 1 {
            ResponseTerms.checkLabels(batch, method: name)
            let hard = ResponseTerms.labelledCrossEntropy(s, labels: batch.labels) * (1 - alpha)
            total = total.map { $0 + hard } ?? hard
        }
        return total!
    }
}
