import DistillCore

/// Losses, each returning a scalar tensor with PyTorch's reduction ("mean" unless stated).
/// Labels are class ids in an `IntTensor` [N]; they are validated with a precondition naming
/// the offending label and the class count.

/// Cross-entropy with label smoothing (Szegedy et al., "Rethinking the Inception Architecture
/// for Computer Vision", CVPR 2016), PyTorch semantics (`F.cross_entropy(label_smoothing: ε)`):
///
///     ℓᵢ = (1 − ε)·(−log pᵢ[yᵢ]) + ε · (1/C) Σ_c (−log pᵢ[c]),   loss = mean over i
///
/// with p = softmax(logits). Shapes: logits [N, C], labels [N]. With ε = 0 this is DistillCore's
/// fused `crossEntropy(logits:labels:)`.
public func crossEntropy(logits: Tensor, labels: IntTensor, labelSmoothing eps: Float) -> Tensor {
    ensure(eps >= 0 && eps <= 1, "crossEntropy: label smoothing \(eps) is outside [0, 1]")
    if eps == 0 { return crossEntropy(logits: logits, labels: labels) }
    ensure(logits.rank == 2 && labels.shape == [logits.shape[0]],
                 "crossEntropy: logits \(Shape.describe(logits.shape)) and labels \(Shape.describe(labels.shape)) are not [N, C] and [N]")
    let c = logits.shape[1]
    let target = labels.oneHot(classes: c, op: "crossEntropy") * (1 - eps) + eps / Float(c)
    return -(logits.logSoftmax(alongAxis: 1) * target).sum() / Float(max(logits.shape[0], 1))
}

/// How a loss reduces its per-example values over the batch (PyTorch's `reduction`).
public enum Reduction: String, Sendable, CaseIterable {
    /// The mean over the batch (the default of every loss here).
    case mean
    /// The sum over the batch.
    case sum
    /// No reduction: one value per example, shape [N] (co-teaching ranks examples by it).
    case none
}

/// Cross-entropy with a reduction (PyTorch `F.cross_entropy(reduction:, label_smoothing:)`):
///
///     ℓᵢ = −Σ_c qᵢc · log softmax(zᵢ)[c],   qᵢ = (1 − ε)·onehot(yᵢ) + ε/C
///
/// `.none` gives ℓ [N], `.sum` Σᵢ ℓᵢ, `.mean` the fused mean of `crossEntropy(logits:labels:)`.
/// Composed of differentiable ops (log-softmax, product, sum), so it has their gradients.
public func crossEntropy(logits: Tensor, labels: IntTensor, reduction: Reduction, labelSmoothing eps: Float = 0) -> Tensor {
    if reduction == .mean { return crossEntropy(logits: logits, labels: labels, labelSmoothing: eps) }
    ensure(eps >= 0 && eps <= 1, "crossEntropy: label smoothing \(eps) is outside [0, 1]")
    ensure(logits.rank == 2 && labels.shape == [logits.shape[0]],
           "crossEntropy: logits \(Shape.describe(logits.shape)) and labels \(Shape.describe(labels.shape)) are not [N, C] and [N]")
    let c = logits.shape[1]
    var target = labels.oneHot(classes: c, op: "crossEntropy")
    if eps > 0 { target = target * (1 - eps) + eps / Float(c) }
    let perExample = -(logits.logSoftmax(alongAxis: 1) * target).sum(alongAxis: 1)
    return reduction == .none ? perExample : perExample.sum()
}

/// KL(p ‖ q) per example or reduced: `.none` gives Σ_c pᵢc (log pᵢc − log qᵢc) for each row [N]
/// (PyTorch `F.kl_div(log q, p, reduction="none").sum(1)`), `.sum` their sum, `.mean` their mean
/// (`klDivergence(logQ:p:)`, PyTorch's "batchmean"). Shapes: [N, C].
public func klDivergence(logQ: Tensor, p: Tensor, reduction: Reduction) -> Tensor {
    if reduction == .mean { return klDivergence(logQ: logQ, p: p) }
    ensure(logQ.shape == p.shape && logQ.rank == 2,
           "klDivergence: log q \(Shape.describe(logQ.shape)) and p \(Shape.describe(p.shape)) must be the same [N, C]")
    let plogp = p * p.clamped(min: Float.leastNormalMagnitude).log()
    let perExample = (plogp - p * logQ).sum(alongAxis: 1)
    return reduction == .none ? perExample : perExample.sum()
}

/// Negative log-likelihood from log-probabilities (PyTorch `F.nll_loss`):
/// loss = −(1/N) Σᵢ logpᵢ[yᵢ]. Shapes: logProbabilities [N, C], labels [N].
public func nllLoss(logProbabilities logp: Tensor, labels: IntTensor) -> Tensor {
    ensure(logp.rank == 2 && labels.shape == [logp.shape[0]],
                 "nllLoss: log-probabilities \(Shape.describe(logp.shape)) and labels \(Shape.describe(labels.shape)) are not [N, C] and [N]")
    let mask = labels.oneHot(classes: logp.shape[1], op: "nllLoss")
    return -(logp * mask).sum() / Float(max(logp.shape[0], 1))
}

/// Mean squared error: mean((x − y)²) over all elements (PyTorch `F.mse_loss`). Same shapes.
public func mseLoss(_ x: Tensor, _ y: Tensor) -> Tensor {
    ensure(x.shape == y.shape, "mseLoss: shapes \(Shape.describe(x.shape)) and \(Shape.describe(y.shape)) differ")
    let d = x - y
    return (d * d).mean()
}

/// Kullback–Leibler divergence KL(p ‖ q) from log q and p (Kullback & Leibler, "On Information
/// and Sufficiency", Ann. Math. Statist. 1951), PyTorch
/// `F.kl_div(input: log q, target: p, reduction: "batchmean")` semantics:
///
///     loss = (1/N) Σᵢ Σ_c pᵢc · (log pᵢc − log qᵢc),   with 0·log 0 = 0
///
/// Shapes: logQ [N, C] (or [N, ...]), p the same; summed over all but the first axis.
public func klDivergence(logQ: Tensor, p: Tensor) -> Tensor {
    ensure(logQ.shape == p.shape && logQ.rank >= 1,
                 "klDivergence: log q \(Shape.describe(logQ.shape)) and p \(Shape.describe(p.shape)) differ")
    // p·log p with 0·log 0 = 0: clamping keeps log finite where p = 0 and the product 0.
    let plogp = p * p.clamped(min: Float.leastNormalMagnitude).log()
    return (plogp - p * logQ).sum() / Float(max(logQ.shape[0], 1))
}

/// Binary cross-entropy on probabilities (PyTorch `F.binary_cross_entropy`):
/// loss = −mean(y·log p + (1 − y)·log(1 − p)), each log clamped to ≥ −100 as PyTorch does.
public func binaryCrossEntropy(probabilities p: Tensor, targets y: Tensor) -> Tensor {
    ensure(p.shape == y.shape, "binaryCrossEntropy: shapes \(Shape.describe(p.shape)) and \(Shape.describe(y.shape)) differ")
    let logP = p.log().clamped(min: -100), log1mP = (1 - p).log().clamped(min: -100)
    return -(y * logP + (1 - y) * log1mP).mean()
}

/// Binary cross-entropy on logits (PyTorch `F.binary_cross_entropy_with_logits`), computed
/// stably: loss = mean(softplus(x) − x·y) = mean(max(x, 0) − x·y + log(1 + e^(−|x|))).
public func binaryCrossEntropyWithLogits(logits x: Tensor, targets y: Tensor) -> Tensor {
    ensure(x.shape == y.shape, "binaryCrossEntropyWithLogits: shapes \(Shape.describe(x.shape)) and \(Shape.describe(y.shape)) differ")
    return (x.softplus() - x * y).mean()
}
