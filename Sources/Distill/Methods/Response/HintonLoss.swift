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
/// Options beside the paper's form: `t2 = false` leaves out the T² factor (torchdistill's
/// `KDLoss` returns the bare batch-mean KL when its α is 0 or no targets are given);
/// `standardize = true` z-scores both logits per row before dividing by T (logit
/// standardisation, Sun et al., CVPR 2024, `ResponseTerms.standardized`; the authors' CIFAR-100
/// recipe pairs it with T = 2 and a soft-term weight of 9, set those explicitly). The CE term
/// always sees the raw student logits.
///
/// Unlabelled rows (label −1, transfer data) contribute to the soft term only: the CE term is
/// the mean over the labelled rows (PyTorch `cross_entropy(ignore_index=-1)`), and is 0 when the
/// batch has no labelled row. With α = 1 the labels are not read at all; that is the registry's
/// `kd` method, the pure soft term, meant to be combined with a separate `ce` term.
public final class HintonLoss: DistillationLoss {
    public let name: String
    public let temperature: Float
    public let alpha: Float
    /// Whether the soft term is multiplied by T² (the paper; default true).
    public let t2: Bool
    /// Whether both logits are z-scored per row before the softmax (Sun et al. 2024; default false).
    public let standardize: Bool

    public init(temperature: Float = 4, alpha: Float = 0.9, name: String = "hinton", t2: Bool = true, standardize: Bool = false) {
        ensure(temperature > 0 && temperature.isFinite, "\(name): temperature \(temperature) must be positive")
        ensure(alpha >= 0 && alpha <= 1, "\(name): alpha \(alpha) is outside [0, 1]")
        self.temperature = temperature; self.alpha = alpha; self.name = name; self.t2 = t2; self.standardize = standardize
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let s = batch.studentLogits
        var total: Tensor? = nil
        if alpha > 0 {
            let soft = ResponseTerms.softKL(student: s, teacher: batch.teacherLogits, temperature: temperature, t2: t2, standardize: standardize)
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
