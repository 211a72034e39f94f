import DistillCore
import DistillNN

/// Activation-boundary distillation (Heo, Lee, Yun & Choi, "Knowledge Transfer via Distillation of
/// Activation Boundaries Formed by Hidden Neurons", AAAI 2019).
///
/// The student's pre-ReLU response s, mapped by a connector r (1×1 convolution with bias + batch
/// norm, RepDistiller's connector without the ReLU), learns the teacher's activation pattern
/// ρ(t) = 1[t > 0] through the paper's margin-based squared hinge (its "alternative L2" loss):
///
///     h(x, t) = (x + m)² · 1[x > −m] · 1[t ≤ 0] + (x − m)² · 1[x ≤ m] · 1[t > 0],   x = r(s)
///     L = Σₗ wₗ · (1/N) Σ h(xₗ, tₗ),   wₗ = 2^(l − (L−1)) for taps l = 0 … L−1
///
/// (sum over elements, divided by the batch size; the deepest tap weighs 1, each shallower one
/// half the next), as RepDistiller's `ABLoss`, margin m = 1 (paper and RepDistiller).
/// RepDistiller multiplies further by 3/1000; in the main stage that constant belongs in the
/// objective weight, and the initialisation stage (which has no objective weight) applies it as
/// `init_scale` (without it the summed hinge, ~10⁴ per example, drives the student to NaN at
/// SGD's usual learning rates).
/// Taps must be **pre-ReLU** responses (in the zoo's ResNets, e.g. `layer1.2.bn2`, the block's
/// residual branch before the add, or a model whose blocks expose pre-activations).
/// The connector maps Cₛ → Cₜ; when Cₛ = Cₜ it is the identity (RepDistiller, no parameters).
/// A spatial mismatch is resolved by average-pooling the larger map (student before the connector).
///
/// Stages: `ab-init` (Heo et al. §3.3, RepDistiller's `init`, 30 epochs) trains the student up to
/// the taps and the connectors on this loss alone; in the main stage RepDistiller gives it weight 0.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`), `point`, `margin` (1), `seed`,
/// `init_epochs` (30), `init_scale` (0.003). Refuses in `prepare`: features that are not [N, C, H, W], different batch sizes.
public final class ActivationBoundariesLoss: MultiStageDistillationLoss {
    public let name = "ab"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let margin: Float
    public let initEpochs: Int
    /// Factor on the loss in the `ab-init` stage (RepDistiller's 3/1000).
    public let initScale: Float
    public let seed: UInt64
    /// One connector per tap pair: `i.0.{weight,bias}` (conv), `i.1.*` (batch norm), or identity.
    public private(set) var connectors: AdapterList?
    public var adapters: Module? { connectors }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], margin: Float = 1, initEpochs: Int = 30,
                initScale: Float = 0.003, seed: UInt64 = 0) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.margin = margin
        self.initEpochs = initEpochs; self.initScale = initScale; self.seed = seed
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
        var g = SeededGenerator(seed: seed)
        connectors = AdapterList((0..<ss.count).map { i -> Module in
            ss[i][1] == ts[i][1] ? Identity()
                : Sequential(Conv2d(ss[i][1], ts[i][1], kernel: 1, using: &g), BatchNorm2d(ts[i][1]))
        })
    }

    /// Σ h(x, t) over all elements (the paper's alternative L2 hinge), for equal shapes.
    public static func hinge(_ x: Tensor, _ t: Tensor, margin m: Float) -> Tensor {
        let xd = x.detached()
        let off = xd.greater(-m) * t.lessEqual(0), on = xd.lessEqual(m) * t.greater(0)
        let a = x + m, b = x - m
        return (a * a * off + b * b * on).sum()
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard let connectors else { failCheck("ab: loss called before prepare") }
        let n = connectors.count
        return FeatureSupport.sumOverLayers(self, batch) { l, s, t in
            let x = connectors[l](s)
            let w = 1 / (Float(1 << (n - 1 - l)) * Float(x.shape[0]))
            return Self.hinge(x, t.detached(), margin: margin) * w
        }
    }

    public func preTrainingStages() -> [PreTrainingStage] {
        guard let connectors else { failCheck("ab: preTrainingStages called before prepare") }
        return [PreTrainingStage(name: "ab-init", epochs: initEpochs, student: .upToTaps, modules: [connectors]) { self.loss($0) * self.initScale }]
    }
}
