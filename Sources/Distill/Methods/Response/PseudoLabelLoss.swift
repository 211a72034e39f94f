import DistillCore
import DistillNN

/// Hard pseudo-labels from the teacher (Buciluă, Caruana & Niculescu-Mizil, "Model
/// Compression", KDD 2006): the teacher labels (possibly unlabelled) transfer data with its
/// top-1 class and the student is trained on those labels with cross-entropy.
///
///     L = −(1/N) Σᵢ log softmax(z_s[i])[ŷᵢ],   ŷᵢ = argmax_c z_t[i, c]
///
/// Ties go to the first maximal class (as `torch.argmax`). The ground-truth labels are not read,
/// so every row counts, labelled or not. Shapes: both logits [N, C]. No options.
public final class PseudoLabelLoss: DistillationLoss {
    public let name = "pseudo"

    public init() {}

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let pseudo = batch.teacherLogits.argmax(alongAxis: 1)
        return crossEntropy(logits: batch.studentLogits, labels: pseudo)
    }
}
