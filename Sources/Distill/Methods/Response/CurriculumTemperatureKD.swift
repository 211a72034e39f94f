import DistillCore
import DistillNN
import Foundation

/// CTKD: knowledge distillation at a learnable temperature trained adversarially, with a
/// curriculum of the adversarial strength (Li, Li, Yang, Wu, Yang, Cheng & Yang, "Curriculum
/// Temperature for Knowledge Distillation", AAAI 2023; code github.com/zhengli97/CTKD).
///
///     λ(e) = λ_min + (λ_max − λ_min) · (cos(π · min(e, E)/E) + 1)/2     (e: 1-based epoch, E = decay_loops)
///     τ = t_start + t_end · σ(GRL_λ(θ))                                (θ: the global temperature parameter [1])
///     L = τ² · (1/N) Σᵢ KL(softmax(z_t,i/τ) ‖ softmax(z_s,i/τ))
///
/// GRL_λ is the identity forward and multiplies the gradient by λ backward (`scalingGradient(by:)`):
/// with λ ≤ 0 the student descends L while θ ascends it, the student learning at the temperature
/// that is hardest for it; λ goes from λ_max = 0 (no adversary) to λ_min = −1 over the first E = 10
/// epochs and stays there. The teacher's softmax also depends on τ (on the tape, as the reference).
/// θ is the `global_T` parameter of an adapter (`GlobalTemperature`, initialised to 1, so τ starts
/// at 1 + 20·σ(1) ≈ 15.62) trained with the student by the student's optimizer (the reference puts
/// it in the trainable list with the student: same SGD, learning rate and weight decay).
///
/// Defaults are the reference's CIFAR script (scripts/run_cifar_distill.sh: `--t_start 1 --t_end 20
/// --cosine_decay 1 --decay_max 0 --decay_min -1 --decay_loops 10`); its objective is 0.1·CE + 0.9·KD
/// (`-r 0.1 -a 0.9`): combine with `ce` at weight 0.1 and this term at 0.9. Our epochs are 0-based,
/// so epoch e here is the reference's e + 1; outside a training loop (no epoch) λ is λ(1).
/// Not replicated: the instance-wise temperature (a per-example MLP over both logits) and the
/// linear curriculum (`--cosine_decay 0`). Shapes: student and teacher logits [N, C]; labels unused.
public final class CurriculumTemperatureKDLoss: DistillationLoss {
    public let name = "ctkd"
    public let tStart: Float, tEnd: Float
    public let lambdaMax: Float, lambdaMin: Float, decayLoops: Int
    public let temperatureModule: GlobalTemperature
    public var adapters: Module? { temperatureModule }
    /// τ of the last `loss` call (for logs and tests).
    public private(set) var lastTemperature: Float?

    public init(tStart: Float = 1, tEnd: Float = 20, lambdaMax: Float = 0, lambdaMin: Float = -1, decayLoops: Int = 10) {
        ensure(tStart > 0 && tEnd >= 0, "ctkd: t_start \(tStart) must be > 0 and t_end \(tEnd) ≥ 0")
        ensure(decayLoops >= 1, "ctkd: decay_loops \(decayLoops) must be ≥ 1")
        self.tStart = tStart; self.tEnd = tEnd; self.lambdaMax = lambdaMax; self.lambdaMin = lambdaMin; self.decayLoops = decayLoops
        temperatureModule = GlobalTemperature()
    }

    /// λ at the reference's 1-based epoch `e` (the reference's `CosineDecay.get_value`).
    public func lambda(referenceEpoch e: Int) -> Float {
        let i = Double(min(max(e, 0), decayLoops))
        let v = (cos(i * Double.pi / Double(decayLoops)) + 1) * 0.5
        return Float(v * Double(lambdaMax - lambdaMin) + Double(lambdaMin))
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let lambda = self.lambda(referenceEpoch: (batch.epoch ?? 0) + 1)
        let theta = temperatureModule.globalT.value.scalingGradient(by: lambda)
        let tau = (theta.sigmoid() * tEnd + tStart).sum()
        lastTemperature = tau.item
        let zs = batch.studentLogits / tau, zt = batch.teacherLogits.detached() / tau
        let logPs = zs.logSoftmax(alongAxis: 1), logPt = zt.logSoftmax(alongAxis: 1)
        let kl = (logPt.exp() * (logPt - logPs)).sum() / Float(batch.studentLogits.shape[0])
        return kl * tau * tau
    }
}

/// CTKD's global temperature: one parameter `global_T` [1], initialised to 1 (the reference's
/// `Global_T`); a student-side adapter, not exported.
public final class GlobalTemperature: Module {
    public let globalT: Parameter

    public override init() {
        globalT = Parameter(Tensor([1]))
        super.init()
        register(parameter: globalT, as: "global_T")
    }
}
