import DistillCore
import DistillNN

/// Decoupled knowledge distillation (Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge
/// Distillation", CVPR 2022): the KD loss split into a target-class term (TCKD) and a
/// non-target-class term (NCKD), weighted independently.
///
///     b = [p_y, 1 − p_y]  (binary target / non-target probabilities of softmax(z/T))
///     TCKD = T² · KL(b_t ‖ b_s)
///     NCKD = T² · KL(softmax(z_t/T − 1000·g) ‖ softmax(z_s/T − 1000·g))
///     L = α · TCKD + β · NCKD
///
/// with g the one-hot mask of the label y. Subtracting 1000 from the target logit before the
/// softmax is the reference implementation's (mdistiller `dkd_loss`) way to leave the target
/// class out of NCKD: its probability underflows to 0. KL is summed over classes and averaged
/// over the batch, as there. Defaults α = 1, β = 8, T = 4 (the paper's CIFAR-100 setting).
///
/// Warm-up (`warmup` W epochs, default 0 = none): the reference multiplies the whole term by
/// min(e / W, 1) in epoch e = 1, 2, … (mdistiller `DKD.forward_train`, W = 20 of 240 epochs on
/// CIFAR-100), so the loss starts at 1/W of its weight. The same here, from the batch's 0-based
/// `epoch` (e = epoch + 1); a batch without an epoch (outside a training loop) gets full weight.
///
/// `standardize` (default false) z-scores both logits per row before dividing by T (logit
/// standardisation, Sun et al., CVPR 2024, which evaluates it on DKD; `ResponseTerms.standardized`).
///
/// Labels are required: rows labelled −1 (unlabelled transfer data) are skipped, the batch
/// mean is taken over the labelled rows, and a batch without labelled rows gives 0.
/// Shapes: student and teacher logits [N, C], labels [N].
public final class DecoupledKDLoss: DistillationLoss {
    public let name = "dkd"
    public let alpha: Float, beta: Float, temperature: Float
    /// Epochs of linear warm-up (0: none).
    public let warmup: Int
    /// Whether both logits are z-scored per row first (Sun et al. 2024).
    public let standardize: Bool

    public init(alpha: Float = 1, beta: Float = 8, temperature: Float = 4, warmup: Int = 0, standardize: Bool = false) {
        ensure(temperature > 0 && temperature.isFinite, "dkd: temperature \(temperature) must be positive")
        ensure(alpha >= 0 && beta >= 0, "dkd: weights alpha \(alpha) and beta \(beta) must be ≥ 0")
        ensure(warmup >= 0, "dkd: warmup \(warmup) must be ≥ 0 epochs")
        self.alpha = alpha; self.beta = beta; self.temperature = temperature; self.warmup = warmup
        self.standardize = standardize
    }

    /// The warm-up factor min((epoch + 1) / W, 1) for a 0-based epoch; 1 without warm-up or epoch.
    public func warmupFactor(epoch: Int?) -> Float {
        guard warmup > 0, let epoch else { return 1 }
        return min(Float(epoch + 1) / Float(warmup), 1)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        ResponseTerms.checkLabels(batch, method: name)
        var s = batch.studentLogits, t = batch.teacherLogits.detached(), labels = batch.labels
        let rows = ResponseTerms.labelledRows(labels)
        if rows.isEmpty { return ResponseTerms.zero(on: s) }
        if rows.count < labels.count {
            let keep = IntTensor(rows)
            s = s.indexSelect(alongAxis: 0, indices: keep)
            t = t.indexSelect(alongAxis: 0, indices: keep)
            labels = IntTensor(rows.map { labels.scalars[$0] })
        }
        let T = temperature
        let gt = labels.oneHot(classes: s.shape[1], op: name)
        let other = 1 - gt
        let zs = ResponseTerms.prepared(s, standardize) / T
        let (bt, pt2) = withoutGradients { () -> (Tensor, Tensor) in
            let zt = ResponseTerms.prepared(t, standardize) / T
            let pt = zt.softmax(alongAxis: 1)
            return (Self.binary(pt, gt, other), (zt - gt * 1000).softmax(alongAxis: 1))
        }
        let bs = Self.binary(zs.softmax(alongAxis: 1), gt, other)
        let tckd = klDivergence(logQ: bs.log(), p: bt)
        let nckd = klDivergence(logQ: (zs - gt * 1000).logSoftmax(alongAxis: 1), p: pt2)
        return (tckd * alpha + nckd * beta) * (T * T * warmupFactor(epoch: batch.epoch))
    }

    /// [Σ_c p·g, Σ_c p·(1 − g)] per row: [N, C] → [N, 2].
    static func binary(_ p: Tensor, _ gt: Tensor, _ other: Tensor) -> Tensor {
        Tensor.concatenated([(p * gt).sum(alongAxis: 1, keepDims: true), (p * other).sum(alongAxis: 1, keepDims: true)], alongAxis: 1)
    }
}
