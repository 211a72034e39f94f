import DistillCore
import DistillNN

/// Logit regression (Ba & Caruana, "Do Deep Nets Really Need to be Deep?", NeurIPS 2014): the
/// student regresses the teacher's logits (pre-softmax values) with an L2 loss.
///
///     L = (1 / (N·C)) Σᵢ Σ_c (z_s[i, c] − z_t[i, c])²
///
/// The paper minimises ½‖z_s − z_t‖² summed per example; we take the mean over batch and
/// classes, like PyTorch `F.mse_loss` (the same minimiser; the scale differs by 2/C). Labels are
/// not used, so it works on unlabelled transfer data. Shapes: both logits [N, C]. No options.
public final class LogitRegressionLoss: DistillationLoss {
    public let name = "logits"

    public init() {}

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        return mseLoss(batch.studentLogits, batch.teacherLogits.detached())
    }
}
