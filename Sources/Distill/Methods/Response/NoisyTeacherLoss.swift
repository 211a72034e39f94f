import DistillCore
import DistillNN

/// Distillation from a noisy teacher (Sau & Balasubramanian, "Deep Model Compression:
/// Distilling Knowledge from Noisy Teachers", arXiv:1610.09650, 2016): the teacher's logits
/// are perturbed with multiplicative Gaussian noise for a fraction α of each mini-batch, a
/// regulariser that simulates learning from several teachers.
///
///     z'ᵢ = z_t[i] ⊙ (1 + ξᵢ),  ξᵢ[c] ~ N(0, σ²) i.i.d.   for the ⌊α·N + ½⌋ perturbed rows
///     z'ᵢ = z_t[i]                                      for the others
///     L = (1/(N·C)) Σ (z_s − z')²                         (loss = "l2", the paper's, default)
///     L = T² · KL(softmax(z'/T) ‖ softmax(z_s/T))         (loss = "kd", option `temperature`)
///
/// The paper's loss is the L2 logit regression of Ba & Caruana on the perturbed logits; like
/// `logits` we take PyTorch's mean reduction. The noise is multiplicative, z(1 + ξ), as we read
/// the paper's formulation, with one ξ per logit (elementwise); the perturbed rows are drawn
/// anew for each batch, uniformly without replacement. Defaults α = 0.5, σ = 0.1 are project
/// defaults (not re-derived from the paper's tables); seed 0: the noise comes from a
/// `SeededGenerator` owned by the loss, so a run with the same seed and the same batch sequence
/// reproduces. Labels are not used.
/// Shapes: both logits [N, C].
public final class NoisyTeacherLoss: DistillationLoss, RandomStateOwner {
    public enum Kind: String, CaseIterable { case l2, kd }

    public let name = "noisy"
    public let alpha: Float, sigma: Float, kind: Kind, temperature: Float
    private var generator: SeededGenerator
    /// The noise generator's state, saved with checkpoints (`RandomStateOwner`).
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }

    public init(alpha: Float = 0.5, sigma: Float = 0.1, kind: Kind = .l2, temperature: Float = 4, seed: UInt64 = 0) {
        ensure(alpha >= 0 && alpha <= 1, "noisy: alpha \(alpha) is outside [0, 1]")
        ensure(sigma >= 0 && sigma.isFinite, "noisy: sigma \(sigma) must be ≥ 0")
        ensure(temperature > 0 && temperature.isFinite, "noisy: temperature \(temperature) must be positive")
        self.alpha = alpha; self.sigma = sigma; self.kind = kind; self.temperature = temperature
        generator = SeededGenerator(seed: seed)
    }

    /// The perturbed teacher logits for one batch (advances the generator). Shape [N, C].
    public func perturb(_ teacher: Tensor) -> Tensor {
        ensure(teacher.rank == 2, "noisy: teacher logits must be [N, C], got \(Shape.describe(teacher.shape))")
        let n = teacher.shape[0], c = teacher.shape[1]
        let k = Int((alpha * Float(n) + 0.5).rounded(.down))
        if k == 0 || sigma == 0 { return teacher.detached() }
        let rows = generator.permutation(n).prefix(k)
        var noise = [Float](repeating: 1, count: n * c)
        for i in rows { for j in 0..<c { noise[i * c + j] = 1 + sigma * generator.nextNormal() } }
        return teacher.detached() * Tensor(shape: [n, c], scalars: noise)
    }

    /// The loss against already perturbed targets (deterministic; what `loss` applies).
    public func loss(student s: Tensor, target: Tensor) -> Tensor {
        switch kind {
        case .l2: return mseLoss(s, target)
        case .kd: return ResponseTerms.softKL(student: s, teacher: target, temperature: temperature)
        }
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        return loss(student: batch.studentLogits, target: perturb(batch.teacherLogits))
    }
}
