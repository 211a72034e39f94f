import DistillCore
import DistillNN

/// The loss terms of data-free distillation, each a scalar on the tape, written with the
/// engine's differentiable ops (their gradients come from those ops' checked pullbacks).
public enum DataFreeLoss {
    /// DeepInversion's feature-distribution regulariser (Yin et al., "Dreaming to Distill:
    /// Data-free Knowledge Transfer via DeepInversion", CVPR 2020, eq. 4; NVlabs/DeepInversion
    /// `DeepInversionFeatureHook.r_feature`):
    ///
    ///     R_feature = Σ_l m_l · ( ‖μ_l(x) − μ_l^run‖₂ + ‖σ²_l(x) − σ²_l^run‖₂ )
    ///
    /// μ_l, σ²_l: per-channel mean and biased variance of the batch at the input of BN layer l
    /// ([C] each). m_l: `firstMultiplier` for the first layer (the ImageNet code's
    /// `first_bn_multiplier`, 10; the CIFAR code has none, i.e. 1, our default), 1 elsewhere.
    public static func bnStatistics(_ stats: [FrozenTeacher.BatchNormStatistics], firstMultiplier: Float = 1) -> Tensor {
        var total = Tensor(0)
        for (i, s) in stats.enumerated() {
            let term = l2Norm(s.mean - s.runningMean) + l2Norm(s.variance - s.runningVariance)
            total = total + (i == 0 ? term * firstMultiplier : term)
        }
        return total
    }

    /// ‖v‖₂ over every element, √(Σ v²) (PyTorch `torch.norm(v)`); a tiny ε under the root keeps
    /// the gradient finite at v = 0.
    public static func l2Norm(_ v: Tensor) -> Tensor { ((v * v).sum() + 1e-12).sqrt() }

    /// DeepInversion's image priors (NVlabs/DeepInversion `get_image_prior_losses`): over the four
    /// neighbour differences d₁ = x[..., :, :-1] − x[..., :, 1:], d₂ (vertical), d₃, d₄ (diagonals)
    /// of x [N, C, H, W],
    ///
    ///     TV_l2 = Σ_k ‖d_k‖₂            TV_l1 = Σ_k mean |d_k|
    ///
    /// (the reference scales `|d|/255` then multiplies by 255, which is this).
    public static func totalVariation(_ x: Tensor) -> (l1: Tensor, l2: Tensor) {
        precondition(x.rank == 4 && x.shape[2] > 1 && x.shape[3] > 1, "totalVariation: needs [N, C, H, W] with H, W > 1, got \(Shape.describe(x.shape))")
        let h = x.shape[2], w = x.shape[3]
        func s(_ t: Tensor, _ axis: Int, _ start: Int, _ len: Int) -> Tensor { t.slice(axis: axis, start: start, length: len) }
        let d1 = s(x, 3, 0, w - 1) - s(x, 3, 1, w - 1)
        let d2 = s(x, 2, 0, h - 1) - s(x, 2, 1, h - 1)
        let d3 = s(s(x, 2, 1, h - 1), 3, 0, w - 1) - s(s(x, 2, 0, h - 1), 3, 1, w - 1)
        let d4 = s(s(x, 2, 0, h - 1), 3, 0, w - 1) - s(s(x, 2, 1, h - 1), 3, 1, w - 1)
        let ds = [d1, d2, d3, d4]
        let l1 = ds.map { $0.abs().mean() }.reduce(Tensor(0), +)
        let l2 = ds.map { l2Norm($0) }.reduce(Tensor(0), +)
        return (l1, l2)
    }

    /// DeepInversion's L2 prior (ImageNet code): the mean over the batch of each image's L2 norm,
    /// mean_i ‖x_i‖₂. x [N, …].
    public static func l2Prior(_ x: Tensor) -> Tensor {
        let flat = x.reshaped([x.shape[0], x.count / max(x.shape[0], 1)])
        return ((flat * flat).sum(alongAxis: 1) + 1e-12).sqrt().mean()
    }

    /// Adaptive DeepInversion's competition term (Yin et al. 2020, eq. 7; NVlabs code
    /// `loss_verifier_cig`), minimised so the teacher–student disagreement is maximised:
    ///
    ///     P = clamp(softmax(z_s/T)), Q = clamp(softmax(z_t/T)), M = clamp((P + Q)/2)   (clamps to [0.01, 0.99])
    ///     JS = ½ KL(M ‖ P) + ½ KL(M ‖ Q)   (KL batch-mean, PyTorch `KLDivLoss(log P, M)`)
    ///     loss = 1 − clamp(JS, 0, 1)
    ///
    /// The reference's KL arguments give KL(M‖·); the paper's Jensen–Shannon divergence is
    /// ½ KL(P‖M) + ½ KL(Q‖M) (`paperForm: true`). Default: the reference (T = 3). Shapes [N, K].
    public static func competition(studentLogits zs: Tensor, teacherLogits zt: Tensor, temperature t: Float = 3, paperForm: Bool = false) -> Tensor {
        let p = (zs / t).softmax(alongAxis: 1), q = (zt / t).softmax(alongAxis: 1)
        let m = ((p + q) * 0.5).clamped(min: 0.01, max: 0.99)
        let pc = p.clamped(min: 0.01, max: 0.99), qc = q.clamped(min: 0.01, max: 0.99)
        let js: Tensor
        if paperForm {
            js = klDivergence(logQ: m.log(), p: pc) * 0.5 + klDivergence(logQ: m.log(), p: qc) * 0.5
        } else {
            js = klDivergence(logQ: pc.log(), p: m) * 0.5 + klDivergence(logQ: qc.log(), p: m) * 0.5
        }
        return 1 - js.clamped(min: 0, max: 1)
    }

    /// DAFL's one-hot loss (Chen et al., "Data-Free Learning of Student Networks", ICCV 2019,
    /// eq. 2; huawei-noah DAFL `loss_one_hot`): cross-entropy of the teacher's logits [N, K] to
    /// their own argmax, (1/N) Σ_i H(y_i^T, t_i) with t_i = argmax y_i^T.
    public static func daflOneHot(_ logits: Tensor) -> Tensor {
        crossEntropy(logits: logits, labels: withoutGradients { logits.detached().argmax(alongAxis: 1) })
    }

    /// DAFL's information-entropy loss (eq. 4; `loss_information_entropy`): with p̄ the batch
    /// mean of softmax(y^T) [K], L_ie = Σ_k p̄_k log₁₀ p̄_k, the negative entropy (the reference
    /// takes log₁₀); minimising it balances the classes of a generated batch. Weight 5.
    public static func daflInformationEntropy(_ logits: Tensor) -> Tensor {
        let pbar = logits.softmax(alongAxis: 1).mean(alongAxis: 0)
        return (pbar * pbar.log()).sum() / 2.302585092994046   // ln 10
    }

    /// DAFL's activation loss (eq. 3; `loss_activation`): −mean |f^T| of the teacher's
    /// penultimate features f^T [N, F]. Weight 0.1.
    public static func daflActivation(_ features: Tensor) -> Tensor { -features.abs().mean() }

    /// DAFL's student loss (`kdloss` of DAFL-train.py): KL(softmax(z_t) ‖ softmax(z_s)) summed
    /// over classes and divided by the batch size, temperature 1. Shapes [N, K].
    public static func daflKD(studentLogits zs: Tensor, teacherLogits zt: Tensor) -> Tensor {
        klDivergence(logQ: zs.logSoftmax(alongAxis: 1), p: zt.detached().softmax(alongAxis: 1))
    }
}
