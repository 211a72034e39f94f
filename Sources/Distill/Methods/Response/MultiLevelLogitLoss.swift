import DistillCore
import DistillNN

/// MLKD: multi-level logit distillation, aligning predictions at the instance, batch and class
/// levels at several temperatures (Jin, Wang & Lin, "Multi-Level Logit Distillation", CVPR 2023;
/// code github.com/Jin-Ying/Multi-Level-Logit-Distillation, `mdistiller/distillers/KD_ours.py`).
///
///     P = softmax(z/T)                                   [N, C], for each T in {4, 3, 5, 2, 6}
///     KD_T = T² · (1/N) Σᵢ KL(P_t,i ‖ P_s,i)            (instance level)
///     BC_T = ‖P_t P_tᵀ − P_s P_sᵀ‖²_F / N               (batch level: N × N Gram of the predictions)
///     CC_T = ‖P_tᵀ P_t − P_sᵀ P_s‖²_F / C               (class level: C × C Gram of the transposed)
///
/// `form = code` (default) is the reference code's objective on the one view this loop gives
/// (its weak and strong views are both the batch):
///
///     L = Σ_T (m_r · KD_T + KD_T + m_c · CC_T + m_r · BC_T)
///
/// where m_r is the fraction of rows whose teacher confidence max softmax(z_t) (at T = 1) is at or
/// below its median, and m_c the fraction of classes whose summed teacher probability is at or
/// below its median (NumPy's linearly interpolated 50th percentile): the reference multiplies its
/// already batch-reduced losses by these masks and averages, so the "confidence masking" is this
/// scale (about ½), not a per-example selection; we keep that. The second KD sum is the
/// reference's strong-view KD (three of its five temperatures on the strong view, two on the weak;
/// with one view they coincide); its strong-view CC and BC are computed there but left out of the
/// objective, and so they are here. `form = paper`: L = Σ_T (KD_T + BC_T + CC_T), no masks.
///
/// Not replicated: the two augmented views (weak: flip + crop; strong: RandAugment-style) — the
/// training loop feeds one view per step; run with `augment` for the weak view's effect. The
/// reference's CE on both views (0.1 each) is the `ce` term; its per-term weight 0.9 is this
/// term's objective weight: use `ce` at 0.1 (or 0.2 for its two views) and `mlkd` at 0.9.
/// Labels are not used. Shapes: student and teacher logits [N, C].
public final class MultiLevelLogitLoss: DistillationLoss {
    public enum Form: String, CaseIterable { case code, paper }
    public let name = "mlkd"
    public let temperatures: [Float]
    public let form: Form

    public init(temperatures: [Float] = [4, 3, 5, 2, 6], form: Form = .code) {
        ensure(!temperatures.isEmpty && temperatures.allSatisfy { $0 > 0 && $0.isFinite }, "mlkd: temperatures \(temperatures) must be positive")
        self.temperatures = temperatures; self.form = form
    }

    /// NumPy's `percentile(x, 50)` (linear interpolation between the two middle values).
    static func median(_ x: [Float]) -> Float {
        let s = x.sorted()
        let p = 0.5 * Float(s.count - 1), lo = Int(p.rounded(.down)), hi = Int(p.rounded(.up))
        return s[lo] + (s[hi] - s[lo]) * (p - Float(lo))
    }

    /// (m_r, m_c): the fractions of rows and of classes at or below the median teacher confidence.
    static func maskFractions(_ teacher: Tensor) -> (rows: Float, classes: Float) {
        let p = withoutGradients { teacher.detached().softmax(alongAxis: 1) }
        let n = p.shape[0], c = p.shape[1], v = p.scalars
        let conf = (0..<n).map { i in (0..<c).map { v[i * c + $0] }.max()! }
        let classConf = (0..<c).map { j in (0..<n).reduce(Float(0)) { $0 + v[$1 * c + j] } }
        let mr = median(conf), mc = median(classConf)
        return (Float(conf.filter { $0 <= mr }.count) / Float(n), Float(classConf.filter { $0 <= mc }.count) / Float(c))
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ResponseTerms.checkLogits(batch, method: name)
        let zs = batch.studentLogits, zt = batch.teacherLogits.detached()
        let n = Float(zs.shape[0]), c = Float(zs.shape[1])
        let masks = form == .code ? Self.maskFractions(zt) : (rows: Float(1), classes: Float(1))
        var total: Tensor? = nil
        for T in temperatures {
            let logPs = (zs / T).logSoftmax(alongAxis: 1), ps = logPs.exp()
            let (logPt, pt) = withoutGradients { () -> (Tensor, Tensor) in let l = (zt / T).logSoftmax(alongAxis: 1); return (l, l.exp()) }
            let kd = (pt * (logPt - logPs)).sum() * (T * T / n)
            let dBatch = Tensor.matmul(pt, pt, transposeB: true) - Tensor.matmul(ps, ps, transposeB: true)
            let dClass = Tensor.matmul(pt, pt, transposeA: true) - Tensor.matmul(ps, ps, transposeA: true)
            let bc = (dBatch * dBatch).sum() / n, cc = (dClass * dClass).sum() / c
            let term: Tensor
            switch form {
            case .code: term = kd * (masks.rows + 1) + cc * masks.classes + bc * masks.rows
            case .paper: term = kd + bc + cc
            }
            total = total.map { $0 + term } ?? term
        }
        return total!
    }
}
