import DistillCore
import DistillNN

/// The matching objectives of dataset condensation.
public enum MatchingLoss {
    /// Distribution matching for one class (Zhao & Bilen, "Dataset Condensation with Distribution
    /// Matching", WACV 2023; `main_DM.py`): ‖mean_i e(x_i) − mean_j e(s_j)‖², the squared distance
    /// between the mean embeddings of real and synthetic images; the objective sums it over classes.
    ///
    /// Shapes: real [n, F], synthetic [m, F] → scalar. Gradients flow to both (real is usually a
    /// constant).
    public static func distribution(real: Tensor, synthetic: Tensor) -> Tensor {
        ensure(real.rank == 2 && synthetic.rank == 2 && real.shape[1] == synthetic.shape[1],
               "MatchingLoss.distribution: embeddings \(Shape.describe(real.shape)) and \(Shape.describe(synthetic.shape)) are not [n, F] and [m, F]")
        let d = real.mean(alongAxis: 0) - synthetic.mean(alongAxis: 0)
        return (d * d).sum()
    }

    /// DC's layer-wise gradient distance (Zhao, Mopuri & Bilen, "Dataset Condensation with
    /// Gradient Matching", ICLR 2021, eq. 10; `distance_wb` of the reference `utils.py`):
    /// d(A, B) = Σ_i (1 − ⟨A_i, B_i⟩ / (‖A_i‖ ‖B_i‖ + 1e-6)) over output rows i, a 4-D conv
    /// gradient [out, in, kh, kw] and a 3-D one flattened to [out, rest]; a 2-D one used as is;
    /// 1-D gradients (biases, norm parameters) contribute 0, as in the reference.
    public static func gradientDistance(real: Tensor, synthetic: Tensor) -> Tensor {
        ensure(real.shape == synthetic.shape, "MatchingLoss.gradientDistance: \(Shape.describe(real.shape)) vs \(Shape.describe(synthetic.shape))")
        guard real.rank >= 2 else { return Tensor(0) }
        let rows = real.shape[0]
        let a = real.reshaped([rows, real.count / rows]), b = synthetic.reshaped([rows, real.count / rows])
        let dot = (a * b).sum(alongAxis: 1)
        let na = (a * a).sum(alongAxis: 1).sqrt(), nb = (b * b).sum(alongAxis: 1).sqrt()
        return (1 - dot / (na * nb + 1e-6)).sum()
    }

    /// `match_loss(gw_syn, gw_real, dis_metric='ours')`: the sum of `gradientDistance` over the
    /// parameters' gradients, in order.
    public static func gradientMatch(real: [Tensor], synthetic: [Tensor]) -> Tensor {
        ensure(real.count == synthetic.count, "MatchingLoss.gradientMatch: \(real.count) real and \(synthetic.count) synthetic gradients")
        var total = Tensor(0)
        for (r, s) in zip(real, synthetic) where r.rank >= 2 { total = total + gradientDistance(real: r, synthetic: s) }
        return total
    }
}
