import DistillCore
import DistillNN

/// Neuron selectivity transfer (Huang & Wang, "Like What You Like: Knowledge Distill via Neuron
/// Selectivity Transfer", arXiv:1707.01219, 2017): squared maximum mean discrepancy between the
/// distributions of per-channel activation patterns, with the polynomial kernel
/// k(x, y) = (xᵀy + c)^d, d = 2, c = 0 (the paper's best setting).
///
/// Each channel's map over the H·W positions is one sample, L2-normalised (`F.normalize`, ε = 1e-12):
///
///     S = normalize(s.view(N, Cₛ, H·W), dim 2),  T likewise
///     L = Σ_pairs [ mean_{n,i,j} k(Tᵢ, Tⱼ) + mean_{n,i,j} k(Sᵢ, Sⱼ) − 2 · mean_{n,i,j} k(Sᵢ, Tⱼ) ]
///
/// with every mean over the batch and both channel indices, as RepDistiller's `NSTLoss` (the
/// teacher–teacher term is a constant). Shapes: maps [N, C, H, W], channel counts may differ;
/// a spatial mismatch is resolved by average-pooling the larger map. RepDistiller weights the
/// term by β = 50 (objective weight); the loss is unweighted.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`), `point`.
/// Refuses in `prepare`: features that are not [N, C, H, W], different batch sizes.
public final class NeuronSelectivityTransferLoss: DistillationLoss {
    public let name = "nst"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap]) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
    }

    /// mean over n, i, j of (aᵢᵀ bⱼ)² for a [N, Cₐ, P], b [N, C_b, P].
    static func meanPolyKernel(_ a: Tensor, _ b: Tensor) -> Tensor {
        let k = Tensor.matmul(a, b, transposeB: true)
        return (k * k).mean()
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        FeatureSupport.sumOverLayers(self, batch) { _, s0, t0 in
            let s = FeatureSupport.l2Normalized(FeatureSupport.positions(s0), alongAxis: 2)
            let t = FeatureSupport.l2Normalized(FeatureSupport.positions(t0.detached()), alongAxis: 2)
            return Self.meanPolyKernel(t, t) + Self.meanPolyKernel(s, s) - 2 * Self.meanPolyKernel(s, t)
        }
    }
}
