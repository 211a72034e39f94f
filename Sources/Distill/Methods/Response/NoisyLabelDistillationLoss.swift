import DistillCore
import DistillNN

/// Distillation with noisy labels (Li, Yang, Song, Cao, Luo & Li, “Learning from Noisy Labels
/// with Distillation”, ICCV 2017, §3): a teacher trained on a small clean subset softens the
/// noisy labels, and the student is trained with cross-entropy to the blended target
///
///     y_λ = λ·onehot(y) + (1 − λ)·softmax(z_t / T),   L = −(1/N) Σᵢ Σ_c y_λ[i, c] · log softmax(z_s[i])[c]
///
/// (their eq. 2–3, with the teacher's softmax at temperature T as in Hinton et al.). Defaults:
/// λ = 0.5 (the paper derives λ from the noise level and sweeps it; 0.5 is the middle of that
/// sweep, fixed here before any run, not tuned) and T = 1 (the paper's soft labels are the
/// teacher's plain predictions). Rows without a label (−1) take the teacher's target alone.
/// Shapes: both logits [N, C], labels [N].
public final class NoisyLabelDistillationLoss: DistillationLoss {
    public let name = "noisy-label-kd"
    public let lambda: Float
    public let temperature: Float

    public init(lambda: Float = 0.5, temperature: Float = 1) {
        ensure(lambda >= 0 && lambda <= 1, "noisy-label-kd: lambda \(lambda) is outside [0, 1]")
        ensure(temperature > 0 && temperature.isFinite, "noisy-label-kd: temperature \(temperature) must be positive")
        self.lambda = lambda; self.temperature = temperature
    }

    /// y_λ for a batch (a constant: the teacher's outputs carry no gradient).
    func targets(teacherLogits t: Tensor, labels: IntTensor) -> Tensor {
        withoutGradients {
            let n = t.shape[0], c = t.shape[1]
            let soft = (t.detached() / temperature).softmax(alongAxis: 1)
            var weights = [Float](repeating: lambda, count: n), hard = [Float](repeating: 0, count: n * c)
            for (i, y) in labels.scalars.enumerated() {
                if y >= 0 { hard[i * c + y] = 1 } else { weights[i] = 0 }
            }
            let w = Tensor(shape: [n, 1], scalars: weights)
            return Tensor(shape: [n, c], scalars: hard) * w + soft * (1 - w)
        }
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        ResponseTerms.checkLabels(batch, method: name)
        let s = batch.studentLogits
        for y in batch.labels.scalars { ensure(y >= -1 && y < s.shape[1], "\(name): label \(y) is outside 0..<\(s.shape[1])") }
        let target = targets(teacherLogits: batch.teacherLogits, labels: batch.labels)
        return -(s.logSoftmax(alongAxis: 1) * target).sum() / Float(max(s.shape[0], 1))
    }
}
