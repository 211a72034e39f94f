import DistillCore
import DistillNN

/// Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the
/// Performance of Convolutional Neural Networks via Attention Transfer", ICLR 2017), the
/// activation-based variant. Two forms (option `mode`), differing where the paper and the widely
/// used code differ:
///
/// - `repdistiller` (default, RepDistiller's `Attention`, torchdistill's `mode: code`):
///
///       a(f) = vec(mean_c |f_c|ᵖ) / max(‖vec(mean_c |f_c|ᵖ)‖₂, 1e-12)      [N, H·W]
///       L = β · Σ_pairs mean over N·H·W of (a(s) − a(t))²
///
/// - `paper` (torchdistill's `AttentionTransferLoss` with `mode: paper`, the paper's eq. 2 without
///   its β/2, which is the objective weight there):
///
///       Q(f) = vec(Σ_c |f_c|ᵖ) / max(‖vec(Σ_c |f_c|ᵖ)‖₂, 1e-12)           [N, H·W]
///       L = β · (1/N) · Σ_pairs Σ_n ‖Q(s)ₙ − Q(t)ₙ‖₂
///
///   (torchdistill squares, p = 2; |f|ᵖ is the paper's general form). The channel sum and mean
///   give the same normalised map; what differs is the distance: an unsquared per-sample L2
///   norm summed over the batch and divided by N, against a mean of squares.
///
/// Shapes: student and teacher maps [N, C, H, W], any channel counts; a spatial mismatch is
/// resolved by average-pooling the larger map before the attention map is taken (DESIGN.md).
/// RepDistiller weights its term by β = 1000. Here β defaults to 1, keeping the loss unweighted:
/// put 1000 in the objective weight (or set `beta`) to reproduce RepDistiller.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`), `point`, `p` (2), `beta` (1),
/// `mode` (repdistiller). Refuses in `prepare`: features that are not [N, C, H, W], different
/// batch sizes.
public final class AttentionTransferLoss: DistillationLoss {
    /// Which form of the loss: RepDistiller's code (default) or the paper's (torchdistill).
    public enum Mode: String, CaseIterable { case repdistiller, paper }

    public let name = "at"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let p: Float
    public let beta: Float
    public let mode: Mode

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], p: Float = 2, beta: Float = 1, mode: Mode = .repdistiller) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.p = p; self.beta = beta; self.mode = mode
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
    }

    /// The normalised attention map of an [N, C, H, W] map: [N, H·W], from the channel mean of
    /// |f|ᵖ (or the channel sum with `sum`; the same after normalisation up to rounding).
    public static func attentionMap(_ f: Tensor, p: Float = 2, sum: Bool = false) -> Tensor {
        let fp = p == 2 ? f * f : f.abs().pow(p)
        let q = (sum ? fp.sum(alongAxis: 1) : fp.mean(alongAxis: 1)).reshaped([f.shape[0], -1])
        return FeatureSupport.l2Normalized(q, alongAxis: 1)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        let paper = mode == .paper
        let total = FeatureSupport.sumOverLayers(self, batch) { _, s, t in
            let d = Self.attentionMap(s, p: p, sum: paper) - Self.attentionMap(t, p: p, sum: paper)
            return paper ? (d * d).sum(alongAxis: 1).sqrt().sum() / Float(s.shape[0]) : (d * d).mean()
        }
        return beta == 1 ? total : total * beta
    }
}
