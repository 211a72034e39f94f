import DistillCore
import DistillNN

/// Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the
/// Performance of Convolutional Neural Networks via Attention Transfer", ICLR 2017), the
/// activation-based variant with the attention map Q(f) = mean over channels of |f|ᵖ:
///
///     a(f) = vec(mean_c f_c^p) / max(‖vec(mean_c f_c^p)‖₂, 1e-12)      [N, H·W]
///     L = β · Σ_pairs mean over N·H·W of (a(s) − a(t))²
///
/// as RepDistiller's `Attention` (p = 2; `F.normalize` with ε = 1e-12; mean squared difference,
/// DESIGN.md). Shapes: student and teacher maps [N, C, H, W], any channel counts (the maps are
/// channel means); a spatial mismatch is resolved by average-pooling the larger map before the
/// attention map is taken. The paper's loss is β/2·‖a(s) − a(t)‖₂ (no mean); RepDistiller uses
/// the mean and weights the term by β = 1000. Here β defaults to 1, keeping the loss unweighted:
/// put 1000 in the objective weight (or set `beta`) to reproduce RepDistiller.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`), `point`, `p` (2), `beta` (1).
/// Refuses in `prepare`: features that are not [N, C, H, W], different batch sizes.
public final class AttentionTransferLoss: DistillationLoss {
    public let name = "at"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let p: Float
    public let beta: Float

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], p: Float = 2, beta: Float = 1) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.p = p; self.beta = beta
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
    }

    /// The normalised attention map a(f) of an [N, C, H, W] map: [N, H·W].
    public static func attentionMap(_ f: Tensor, p: Float = 2) -> Tensor {
        let fp = p == 2 ? f * f : f.abs().pow(p)
        let q = fp.mean(alongAxis: 1).reshaped([f.shape[0], -1])
        return FeatureSupport.l2Normalized(q, alongAxis: 1)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        let total = FeatureSupport.sumOverLayers(self, batch) { _, s, t in
            let d = Self.attentionMap(s, p: p) - Self.attentionMap(t, p: p)
            return (d * d).mean()
        }
        return beta == 1 ? total : total * beta
    }
}
