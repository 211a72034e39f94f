import DistillCore
import DistillNN

/// DIST: knowledge distillation from a stronger teacher by matching relations, not values
/// (Huang, You, Wang, Qian & Xu, "Knowledge Distillation from A Stronger Teacher", NeurIPS 2022).
///
///     Y_s = softmax(z_s/τ), Y_t = softmax(z_t/τ)                        [N, C]
///     ρ(a, b) = ⟨a − ā, b − b̄⟩ / (‖a − ā‖₂ · ‖b − b̄‖₂ + ε)               (Pearson correlation)
///     inter = τ² · (1 − (1/N) Σᵢ ρ(Y_s[i, :], Y_t[i, :]))               (each row: the classes of one example)
///     intra = τ² · (1 − (1/C) Σⱼ ρ(Y_s[:, j], Y_t[:, j]))               (each column: one class across the batch)
///     L = β · inter + γ · intra
///
/// as the authors' released `DIST` module (github.com/hunto/DIST_KD): ε = 1e-8 added to the
/// product of the norms, the τ² factor on both terms, the teacher a constant. Defaults β = γ = 1,
/// τ = 1: the module's defaults and the paper's ImageNet setting (the paper's CIFAR-100 runs use
/// a higher temperature, τ = 4 as we recall it, with β = γ = 2: set them explicitly; check the
/// paper's appendix before citing those). The paper's full objective adds the CE term with its own
/// weight: combine with `ce` in the objective. The intra-class term needs N ≥ 2 (a Pearson
/// correlation over one example is 0/ε = 0). `standardize = true` z-scores both logits per row
/// before the softmax (logit standardisation, Sun et al., CVPR 2024; `ResponseTerms.standardized`).
/// Labels are not used. Shapes: student and teacher logits [N, C].
public final class DISTLoss: DistillationLoss {
    public let name = "dist"
    public let beta: Float, gamma: Float, temperature: Float
    public let standardize: Bool

    public init(beta: Float = 1, gamma: Float = 1, temperature: Float = 1, standardize: Bool = false) {
        ensure(temperature > 0 && temperature.isFinite, "dist: temperature \(temperature) must be positive")
        ensure(beta >= 0 && gamma >= 0, "dist: weights beta \(beta) and gamma \(gamma) must be ≥ 0")
        self.beta = beta; self.gamma = gamma; self.temperature = temperature; self.standardize = standardize
    }

    /// The Pearson correlation of matching rows of two [R, K] matrices: [R].
    static func pearson(_ a: Tensor, _ b: Tensor, eps: Float = 1e-8) -> Tensor {
        let ca = a - a.mean(alongAxis: 1, keepDims: true), cb = b - b.mean(alongAxis: 1, keepDims: true)
        let na = (ca * ca).sum(alongAxis: 1).sqrt(), nb = (cb * cb).sum(alongAxis: 1).sqrt()
        return (ca * cb).sum(alongAxis: 1) / (na * nb + eps)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let T = temperature
        let ys = (ResponseTerms.prepared(batch.studentLogits, standardize) / T).softmax(alongAxis: 1)
        let yt = withoutGradients { (ResponseTerms.prepared(batch.teacherLogits.detached(), standardize) / T).softmax(alongAxis: 1) }
        let inter = 1 - Self.pearson(ys, yt).mean()
        let intra = 1 - Self.pearson(ys.transposed(), yt.transposed()).mean()
        return (inter * beta + intra * gamma) * (T * T)
    }
}
