import Foundation
import DistillCore
import DistillNN

/// Variational information distillation (Ahn, Hu, Damianou, Lawrence & Dai, "Variational
/// Information Distillation for Knowledge Transfer", CVPR 2019).
///
/// The teacher feature t is modelled by a Gaussian q(t | s) = N(μ(s), diag(σ²)) whose mean comes
/// from a small convolutional regressor on the student feature s and whose variance is one learned
/// value per teacher channel. The loss is its negative log-likelihood without the constant
/// ½ log 2π, averaged over every element (batch, channel and position), as RepDistiller's `VIDLoss`:
///
///     μ(s)  = conv1×1(C_m → Cₜ) ∘ ReLU ∘ conv1×1(C_m → C_m) ∘ ReLU ∘ conv1×1(Cₛ → C_m)(s)   (no biases)
///     σ_c²  = softplus(α_c) + ε,   ε = 1e-5
///     L     = Σ_pairs mean over N·Cₜ·H·W of ½ · ((t − μ(s))² / σ² + log σ²)
///
/// Defaults (RepDistiller): mid channels C_m = Cₜ, initial variance 5 (α_c = softplus⁻¹(5 − ε) =
/// log(e^(5−ε) − 1)), ε = 1e-5. Shapes: maps [N, C, H, W]; a spatial mismatch is resolved by
/// average-pooling the larger map before the regressor. Adapter names per pair i:
/// `i.regressor.{0,2,4}.weight`, `i.log_scale` (RepDistiller's). RepDistiller's weight β = 1
/// belongs in the objective.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`), `point`, `seed`,
/// `mid_channels` (0: Cₜ), `init_var` (5), `eps` (1e-5).
/// Refuses in `prepare`: features that are not [N, C, H, W], different batch sizes.
public final class VIDLoss: DistillationLoss {
    public let name = "vid"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let midChannels: Int
    public let initVariance: Float
    public let eps: Float
    public let seed: UInt64
    public private(set) var estimators: AdapterList?
    public var adapters: Module? { estimators }

    /// The per-pair adapter: the mean regressor and the variance parameters α [Cₜ].
    public final class Estimator: Module {
        public let regressor: Sequential
        public let logScale: Parameter

        init(student cs: Int, mid cm: Int, teacher ct: Int, initVariance: Float, eps: Float, using g: inout SeededGenerator) {
            regressor = Sequential(Conv2d(cs, cm, kernel: 1, bias: false, using: &g), ReLU(),
                                   Conv2d(cm, cm, kernel: 1, bias: false, using: &g), ReLU(),
                                   Conv2d(cm, ct, kernel: 1, bias: false, using: &g))
            let v = Double(initVariance - eps)
            let alpha = Float(Foundation.log(Foundation.exp(v) - 1))
            logScale = Parameter(Tensor(shape: [ct], repeating: alpha))
            super.init()
            register(child: regressor, as: "regressor")
            register(parameter: logScale, as: "log_scale")
        }
    }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], midChannels: Int = 0, initVariance: Float = 5,
                eps: Float = 1e-5, seed: UInt64 = 0) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.midChannels = midChannels
        self.initVariance = initVariance; self.eps = eps; self.seed = seed
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
        var g = SeededGenerator(seed: seed)
        estimators = AdapterList((0..<ss.count).map { i in
            Estimator(student: ss[i][1], mid: midChannels > 0 ? midChannels : ts[i][1], teacher: ts[i][1],
                      initVariance: initVariance, eps: eps, using: &g)
        })
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard let estimators else { failCheck("vid: loss called before prepare") }
        return FeatureSupport.sumOverLayers(self, batch) { i, s, t in
            let e = estimators[i] as! Estimator
            let mu = e.regressor(s)
            let variance = (e.logScale.value.softplus() + eps).reshaped([1, t.shape[1], 1, 1])
            let d = mu - t
            return ((d * d / variance + variance.log()) * 0.5).mean()
        }
    }
}

