import DistillCore
import DistillNN

/// DeepInversion and Adaptive DeepInversion (Yin, Molchanov, Li, Alvarez, Mallya, Hoiem, Jha &
/// Kautz, "Dreaming to Distill: Data-free Knowledge Transfer via DeepInversion", CVPR 2020;
/// reference NVlabs/DeepInversion): a batch of images x̂ [B, C, H, W] is optimised with Adam so
/// the frozen teacher classifies it as the target classes while its batch statistics match the
/// teacher's running statistics:
///
///     L(x̂) = CE(f(x̃), y) + w_bn·R_feature(x̃) + w_tv2·TV_l2(x̃) + w_tv1·TV_l1(x̃) + w_l2·mean‖x̃‖₂
///            [+ w_adi·(1 − JS(student(x̃), f(x̃)))]                       (Adaptive DeepInversion)
///
/// x̃ = flip(roll(x̂, Δh, Δw)): each step rolls the images by Δ ∈ [−jitter, jitter] and flips
/// them horizontally with probability ½ (the reference's jitter and flip). Targets cycle through
/// the classes (`list(range(K)) * (B // K) + …`). The kept batch is the one of lowest loss seen
/// (the reference's `best_inputs`). Defaults are the reference's CIFAR-10 settings
/// (`deepinversion_cifar10.py` and its README's paper parameters): Adam lr 0.05 (β 0.9/0.999),
/// w_bn 10, w_tv2 2.5e-5, w_tv1 0, w_l2 0, jitter 2 (the CIFAR code's limit for small images), no
/// first-BN multiplier (ImageNet code: 10). Flip is on as in the ImageNet code (the CIFAR code has
/// none). Iterations: the CIFAR code's 2000; `distill datafree` defaults to fewer for two cores.
/// w_adi (the reference's `cig_scale`/`adi_scale` defaults to 0, i.e. off) is 1 here for `adi`,
/// a choice of ours.
public struct DeepInversionSettings: Codable, Equatable, Sendable {
    public var iterations = 2000
    public var learningRate: Float = 0.05
    public var bnWeight: Float = 10
    public var firstBNMultiplier: Float = 1
    public var tvL2: Float = 2.5e-5
    public var tvL1: Float = 0
    public var l2: Float = 0
    public var jitter = 2
    public var flip = true
    /// Weight of the Adaptive DeepInversion competition term (0: plain DeepInversion).
    public var adiWeight: Float = 0
    public var adiTemperature: Float = 3
    public init() {}
}

/// The values of the terms at one step (logged).
public struct InversionTerms: Codable, Equatable, Sendable {
    public var total: Float, ce: Float, bn: Float, tv: Float, adi: Float
}

public enum DeepInversion {
    /// Rolls images [N, C, H, W] by (dh, dw) pixels with wrap-around (`torch.roll(dims=(2, 3))`).
    public static func roll(_ x: Tensor, _ dh: Int, _ dw: Int) -> Tensor {
        var y = x
        for (axis, d) in [(2, dh), (3, dw)] {
            let n = y.shape[axis], s = ((d % n) + n) % n
            if s == 0 { continue }
            y = Tensor.concatenated([y.slice(axis: axis, start: n - s, length: s), y.slice(axis: axis, start: 0, length: n - s)], alongAxis: axis)
        }
        return y
    }

    /// Mirrors images [N, C, H, W] left–right (`torch.flip(dims=(3,))`), differentiably.
    public static func flipHorizontal(_ x: Tensor) -> Tensor {
        let w = x.shape[3]
        return x.indexSelect(alongAxis: 3, indices: IntTensor(Array((0..<w).reversed())))
    }

    /// The class targets of a batch of `n`: 0, 1, …, K−1, 0, 1, … (the reference's order).
    public static func targets(_ n: Int, classes k: Int, offset: Int = 0) -> [Int] { (0..<n).map { ($0 + offset) % k } }

    /// Optimises one batch of images for `targets` against `teacher` (and `student` when
    /// `settings.adiWeight > 0`). `initial` is the starting batch (Gaussian noise in the model's
    /// input space). Returns the lowest-loss batch and the terms of its step. The student's
    /// parameters are frozen while it serves as the adversary and restored after.
    public static func invert(teacher: FrozenTeacher, student: Module?, initial: Tensor, targets: [Int],
                              settings s: DeepInversionSettings, using g: inout SeededGenerator,
                              log: ((Int, InversionTerms) -> Void)? = nil) -> (images: Tensor, terms: InversionTerms) {
        precondition(initial.rank == 4 && initial.shape[0] == targets.count, "DeepInversion: images \(Shape.describe(initial.shape)) and \(targets.count) targets")
        let images = Parameter(initial)
        let opt = Adam([(path: "images", parameter: images)], learningRate: s.learningRate, weightDecay: 0)
        let labels = IntTensor(targets)
        var frozen: [(Parameter, Bool)] = []
        if s.adiWeight > 0, let student {
            frozen = student.parameters.map { ($0, $0.requiresGradient) }
            for p in student.parameters { p.requiresGradient = false }
            student.eval()
        }
        defer { for (p, r) in frozen { p.requiresGradient = r } }
        var best = initial, bestLoss = Float.infinity
        var bestTerms = InversionTerms(total: .nan, ce: .nan, bn: .nan, tv: .nan, adi: .nan)
        for it in 0..<max(s.iterations, 1) {
            let dh = s.jitter > 0 ? g.nextInt(below: 2 * s.jitter + 1) - s.jitter : 0
            let dw = s.jitter > 0 ? g.nextInt(below: 2 * s.jitter + 1) - s.jitter : 0
            var x = roll(images.value, dh, dw)
            if s.flip && g.nextFloat() < 0.5 { x = flipHorizontal(x) }
            let out = teacher(x)
            let ce = crossEntropy(logits: out.logits, labels: labels)
            let tv = DataFreeLoss.totalVariation(x)
            let bn = DataFreeLoss.bnStatistics(out.batchNorm, firstMultiplier: s.firstBNMultiplier)
            var loss = ce + bn * s.bnWeight + tv.l2 * s.tvL2 + tv.l1 * s.tvL1
            if s.l2 > 0 { loss = loss + DataFreeLoss.l2Prior(x) * s.l2 }
            var adi: Float = 0
            if s.adiWeight > 0, let student {
                let c = DataFreeLoss.competition(studentLogits: student(x), teacherLogits: out.logits, temperature: s.adiTemperature)
                adi = c.item
                loss = loss + c * s.adiWeight
            }
            let value = loss.item
            let terms = InversionTerms(total: value, ce: ce.item, bn: bn.item, tv: (tv.l2 * s.tvL2 + tv.l1 * s.tvL1).item, adi: adi)
            if value < bestLoss { bestLoss = value; best = images.value.detached(); bestTerms = terms }
            log?(it, terms)
            images.zeroGradient()
            loss.backward()
            opt.step()
        }
        return (best, bestTerms)
    }
}
