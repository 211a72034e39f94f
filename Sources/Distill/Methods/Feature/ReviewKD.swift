import DistillCore
import DistillNN

/// ReviewKD: knowledge review — every teacher stage is matched by a fusion of the student's
/// stage at that depth and all deeper ones (Chen, Liu, Zhao & Jia, "Distilling Knowledge via
/// Knowledge Review", CVPR 2021; code github.com/dvlab-research/ReviewKD, and mdistiller's
/// `ReviewKD` distiller, which is the same).
///
/// Taps are listed shallow → deep (k pairs; a rank-2 tap such as `fc:input` is the pooled vector,
/// used as a [N, D, 1, 1] map). Attention-based fusion (ABF), applied from the deepest tap to the
/// shallowest, with sᵢ [N, Cₛᵢ, hᵢ, wᵢ] the student map and tᵢ [N, Cₜᵢ, Hᵢ, Wᵢ] the teacher's:
///
///     xᵢ = BN(conv1×1(sᵢ))                                                  [N, M, hᵢ, wᵢ]
///     i < k−1:  r = nearest(rᵢ₊₁, hᵢ × wᵢ),  a = σ(conv1×1([xᵢ, r]) + b)    a [N, 2, hᵢ, wᵢ]
///               xᵢ = xᵢ · a₀ + r · a₁
///     rᵢ = nearest(xᵢ, Hᵢ × Wᵢ)   (the residual passed to the shallower ABF; no-op at equal size)
///     oᵢ = BN(conv3×3(rᵢ))                                                  [N, Cₜᵢ, Hᵢ, Wᵢ]
///
/// `nearest` is PyTorch's `F.interpolate(mode="nearest")`: source index ⌊dst · in/out⌋ (in float),
/// at most in − 1. Hierarchical context loss (HCL), per pair, with levels l ∈ {4, 2, 1} below the
/// map's height H (the reference tests the height only), weights w₀ = 1, w_j = w_{j−1}/2:
///
///     HCL(o, t) = [MSE(o, t) + Σ_{l < H} w_l · MSE(P_l(o), P_l(t))] / (1 + Σ_{l < H} w_l)
///     L = weight · min(e/W, 1) · Σᵢ HCL(oᵢ, tᵢ)
///
/// P_l is `adaptive_avg_pool2d` to l × l, MSE the mean over all elements. Warm-up (`warmup` W,
/// default 20 as both references): `warmup_form=mdistiller` (default) takes e = epoch + 1 for our
/// 0-based epochs (mdistiller counts epochs from 1), `authors` takes e = epoch (the authors'
/// train.py: weight 0 in the first epoch); W = 0 or a batch without an epoch: factor 1.
///
/// Defaults: M = `mid_channels` 0 means the references' rule M = min(512, Cₛ of the deepest tap)
/// (256 for resnet8x4, 64 for resnet20); `weight` 1 (mdistiller's CIFAR default; the authors'
/// script uses 0.6 for resnet56 → resnet20 and 5 for resnet32x4 → resnet8x4); combine with `ce`
/// at weight 1. The 1×1 and 3×3 convolutions have no bias and kaiming-uniform(a = 1) weights;
/// the attention conv has PyTorch's default init and a bias. Adapter names `i.conv1.0.weight`,
/// `i.conv1.1.*` (BN), `i.att_conv.0.*`, `i.conv2.{0,1}.*` for tap pair i (0 = shallowest).
/// Difference from the references: the teacher's features are the tapped ones (post-activation
/// module outputs here), where both references take the teacher's pre-activation stage outputs.
/// Refuses in `prepare`: ranks other than 2 or 4, different batch sizes.
public final class ReviewKDLoss: DistillationLoss {
    public enum WarmupForm: String, CaseIterable { case mdistiller, authors }

    public let name = "reviewkd"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let weight: Float
    public let warmup: Int
    public let warmupForm: WarmupForm
    /// Requested mid channels (0: the reference rule); `fusions` hold the resolved count.
    public let midChannels: Int
    public let seed: UInt64
    /// One fusion per tap pair, built by `prepare`.
    public private(set) var fusions: AdapterList?
    public var adapters: Module? { fusions }
    /// The resolved mid channels M after `prepare`.
    public private(set) var resolvedMidChannels: Int?

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], weight: Float = 1, warmup: Int = 20,
                warmupForm: WarmupForm = .mdistiller, midChannels: Int = 0, seed: UInt64 = 0) {
        ensure(weight >= 0 && warmup >= 0 && midChannels >= 0, "reviewkd: weight \(weight), warmup \(warmup), mid_channels \(midChannels) must be ≥ 0")
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.weight = weight
        self.warmup = warmup; self.warmupForm = warmupForm; self.midChannels = midChannels; self.seed = seed
    }

    /// The warm-up factor for a 0-based epoch: min(e/W, 1), e = epoch + 1 (mdistiller) or epoch
    /// (authors); 1 without warm-up or epoch.
    public func warmupFactor(epoch: Int?) -> Float {
        guard warmup > 0, let epoch else { return 1 }
        let e = warmupForm == .mdistiller ? epoch + 1 : epoch
        return min(Float(max(e, 0)) / Float(warmup), 1)
    }

    /// A feature as a map: [N, D] → [N, D, 1, 1]; maps pass through.
    static func asMap(_ shape: [Int]) -> [Int] { shape.count == 2 ? shape + [1, 1] : shape }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [2, 4], what: "maps [N, C, H, W] or pooled vectors [N, D]")
        guard !ss.isEmpty else { throw DistillationError.invalidObjective("method 'reviewkd' needs at least one tap pair") }
        let mid = midChannels > 0 ? midChannels : Swift.min(512, ss[ss.count - 1][1])
        var g = SeededGenerator(seed: seed)
        var list: [Module] = []
        for i in 0..<ss.count {
            let s = Self.asMap(ss[i]), t = Self.asMap(ts[i])
            guard s.allSatisfy({ $0 >= 1 }), t.allSatisfy({ $0 >= 1 }) else {
                throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "every dimension must be ≥ 1")
            }
            list.append(AttentionBasedFusion(inChannels: s[1], midChannels: mid, outChannels: t[1], fuse: i < ss.count - 1, using: &g))
        }
        fusions = AdapterList(list)
        resolvedMidChannels = mid
    }

    /// The fused outputs oᵢ (tap order) for student maps `s` facing teacher maps of sizes `sizes`.
    public func review(_ s: [Tensor], teacherSizes sizes: [(Int, Int)]) -> [Tensor] {
        guard let fusions else { failCheck("reviewkd: review called before prepare") }
        ensure(s.count == fusions.count && sizes.count == fusions.count, "reviewkd: expected \(fusions.count) student maps, got \(s.count)")
        var outs = [Tensor](repeating: Tensor(0), count: s.count)
        var residual: Tensor? = nil
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            let f = fusions[i] as! AttentionBasedFusion
            let (o, r) = f.fuse(s[i], residual: residual, outputSize: sizes[i])
            outs[i] = o; residual = r
        }
        return outs
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        FeatureSupport.checkFeatureCounts(self, batch)
        let s = batch.studentFeatures.map { $0.reshaped(Self.asMap($0.shape)) }
        let t = batch.teacherFeatures.map { $0.detached().reshaped(Self.asMap($0.shape)) }
        let outs = review(s, teacherSizes: t.map { ($0.shape[2], $0.shape[3]) })
        var total: Tensor? = nil
        for i in outs.indices {
            let l = Self.hierarchicalContextLoss(outs[i], t[i])
            total = total.map { $0 + l } ?? l
        }
        let factor = weight * warmupFactor(epoch: batch.epoch)
        return total! * factor
    }

    /// HCL of one pair of equal-shaped maps [N, C, H, W] (see the type's doc).
    public static func hierarchicalContextLoss(_ o: Tensor, _ t: Tensor, levels: [Int] = [4, 2, 1]) -> Tensor {
        ensure(o.rank == 4 && o.shape == t.shape, "reviewkd: HCL needs equal maps [N, C, H, W], got \(Shape.describe(o.shape)) and \(Shape.describe(t.shape))")
        var loss = mseLoss(o, t)
        var w: Float = 1, sum: Float = 1
        for l in levels where l < o.shape[2] {
            w /= 2
            loss = loss + mseLoss(adaptiveAvgPool2d(o, outputSize: (l, l)), adaptiveAvgPool2d(t, outputSize: (l, l))) * w
            sum += w
        }
        return sum == 1 ? loss : loss / sum
    }
}

/// ReviewKD's attention-based fusion of one stage (the reference's `ABF`): `conv1` (1×1 conv, no
/// bias, + BN) to M channels, `att_conv` (1×1 conv 2M → 2 with bias, then sigmoid) when it fuses
/// a deeper residual, `conv2` (3×3 conv, padding 1, no bias, + BN) to the teacher's channels.
/// A student-side adapter, not exported.
public final class AttentionBasedFusion: Module {
    public let conv1: Sequential, conv2: Sequential
    public let attConv: Sequential?

    public init(inChannels: Int, midChannels: Int, outChannels: Int, fuse: Bool, using g: inout SeededGenerator) {
        func kaimingA1(_ c: Conv2d) -> Conv2d {
            c.weight.value = Tensor.kaimingUniform(c.weight.value.shape, gain: 1, using: &g)
            return c
        }
        conv1 = Sequential(kaimingA1(Conv2d(inChannels, midChannels, kernel: 1, bias: false, using: &g)), BatchNorm2d(midChannels))
        attConv = fuse ? Sequential(Conv2d(2 * midChannels, 2, kernel: 1, using: &g), Sigmoid()) : nil
        conv2 = Sequential(kaimingA1(Conv2d(midChannels, outChannels, kernel: 3, padding: 1, bias: false, using: &g)), BatchNorm2d(outChannels))
        super.init()
        register(child: conv1, as: "conv1")
        if let attConv { register(child: attConv, as: "att_conv") }
        register(child: conv2, as: "conv2")
    }

    /// (output oᵢ at `outputSize`, residual rᵢ for the shallower stage) for student map x.
    public func fuse(_ x: Tensor, residual: Tensor?, outputSize: (Int, Int)) -> (Tensor, Tensor) {
        var h = conv1(x)
        if let attConv {
            guard let residual else { failCheck("reviewkd: a fusing ABF needs the deeper stage's residual") }
            let r = nearestResized(residual, to: (h.shape[2], h.shape[3]))
            let a = attConv(Tensor.concatenated([h, r], alongAxis: 1))
            h = h * a.slice(axis: 1, start: 0, length: 1) + r * a.slice(axis: 1, start: 1, length: 1)
        }
        h = nearestResized(h, to: outputSize)
        return (conv2(h), h)
    }
}

/// PyTorch's source index of nearest-neighbour resizing (`F.interpolate(mode="nearest")`,
/// 1.13): the identity at equal sizes, dst/2 for an exact doubling, otherwise
/// min(⌊dst · (in/out)⌋, in − 1) with the scale and product in float.
func nearestSourceIndices(input n: Int, output m: Int) -> [Int] {
    if n == m { return Array(0..<m) }
    if m == 2 * n { return (0..<m).map { $0 >> 1 } }
    let scale = Float(n) / Float(m)
    return (0..<m).map { Swift.min(Int((Float($0) * scale).rounded(.down)), n - 1) }
}

/// Nearest-neighbour resizing of a map [N, C, H, W] to `size` (PyTorch's rule above), as two
/// index selections, so the gradient (a scatter-add) comes from the tape.
func nearestResized(_ x: Tensor, to size: (Int, Int)) -> Tensor {
    ensure(x.rank == 4, "nearestResized: input \(Shape.describe(x.shape)) must be [N, C, H, W]")
    var y = x
    if x.shape[2] != size.0 { y = y.indexSelect(alongAxis: 2, indices: IntTensor(nearestSourceIndices(input: x.shape[2], output: size.0))) }
    if x.shape[3] != size.1 { y = y.indexSelect(alongAxis: 3, indices: IntTensor(nearestSourceIndices(input: x.shape[3], output: size.1))) }
    return y
}

extension MethodRegistry {
    /// The `reviewkd` entry (listed with the feature methods).
    static var reviewKD: MethodEntry {
        MethodEntry(name: "reviewkd", summary: "ReviewKD: attention-based fusion of each student stage with the deeper ones, hierarchical context loss (pyramid MSE) per stage",
                    paper: "Chen, Liu, Zhao & Jia, \"Distilling Knowledge via Knowledge Review\", CVPR 2021",
                    options: taps("layer1,layer2,layer3,fc:input") + [
                        MethodOption("weight", "1", "loss weight, ≥ 0 (mdistiller's CIFAR default; the authors' script: 0.6 for resnet56 → resnet20, 5 for resnet32x4 → resnet8x4)"),
                        MethodOption("warmup", "20", "epochs of linear warm-up min(e/W, 1) of the term, 0 = none"),
                        MethodOption("warmup_form", "mdistiller", "mdistiller (e = epoch + 1, from 1) or authors (e = epoch, weight 0 in the first epoch)"),
                        MethodOption("mid_channels", "0", "channels M of the fusions; 0 = the reference's min(512, channels of the deepest student tap)"),
                        seedOption],
                    notes: "Taps shallow → deep; a vector tap (fc:input, the pooled feature) counts as a 1×1 map. Fusion runs from the deepest tap; every output is resized (nearest) to its teacher map's size and mapped to its channels. Combine with ce at weight 1. The references take the teacher's pre-activation stage outputs; here the tapped outputs.") { o in
            let d = ["layer1", "layer2", "layer3", "fc:input"]
            let t = try FeatureSupport.taps(o, student: d, teacher: d)
            let w = try o.float("weight", default: 1)
            guard w >= 0 else { throw DistillationError.badOption(method: o.method, option: "weight", detail: "must be ≥ 0, got \(w)") }
            let warm = try o.int("warmup", default: 20)
            guard (0...Limits.maxEpochs).contains(warm) else {
                throw DistillationError.badOption(method: o.method, option: "warmup", detail: "must be in 0…\(Limits.maxEpochs) epochs, got \(warm)")
            }
            let form = try o.choice("warmup_form", ReviewKDLoss.WarmupForm.allCases.map(\.rawValue), default: "mdistiller")
            let mid = try o.int("mid_channels", default: 0)
            guard (0...65_536).contains(mid) else {
                throw DistillationError.badOption(method: o.method, option: "mid_channels", detail: "must be in 0…65536 (0: the reference's rule), got \(mid)")
            }
            return ReviewKDLoss(studentTaps: t.student, teacherTaps: t.teacher, weight: w, warmup: warm,
                                warmupForm: ReviewKDLoss.WarmupForm(rawValue: form)!, midChannels: mid, seed: try FeatureSupport.seed(o))
        }
    }
}
