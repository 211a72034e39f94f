import DistillCore
import DistillNN

/// FSP (flow of solution procedure) matrices (Yim, Joo, Bae & Kim, "A Gift from Knowledge
/// Distillation: Fast Optimization, Network Minimization and Transfer Learning", CVPR 2017).
///
/// Consecutive taps on each side form pairs (f₀, f₁), (f₁, f₂), …; for the pair (bottom b, top u)
/// of maps [N, C_b, H, W] and [N, C_u, H, W] the FSP matrix is the position-averaged Gram matrix
///
///     G[n, i, j] = (1/(H·W)) Σ_p u[n, i, p] · b[n, j, p]       [N, C_u, C_b]
///     L = Σ_pairs mean over N·C_u·C_b of (Gˢ − Gᵗ)²
///
/// as RepDistiller's `FSP` (mean squared difference per pair, summed over pairs). The paper takes
/// pairs of equal spatial size; when a pair's maps differ, the larger is average-pooled to the
/// smaller (RepDistiller, DESIGN.md). Student and teacher may differ in spatial size (G does not
/// depend on it) but **not in channel counts**: tap k must have as many channels on both sides,
/// otherwise `prepare` throws `incompatibleShapes` naming both taps and shapes (there is no
/// adapter). RepDistiller weights the term by β = 50 only in its `init` stage and by 0 afterwards.
///
/// Stages: `fsp-init` (Yim et al. §3.3 stage 1; RepDistiller's `init`, 30 epochs) trains the
/// student up to the taps on this loss; the main stage then trains on the task objective.
///
/// Options: `student`, `teacher` (default `layer1,layer2,layer3`; at least 2), `point`,
/// `init_epochs` (30).
public final class FSPLoss: MultiStageDistillationLoss {
    public let name = "fsp"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let initEpochs: Int

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], initEpochs: Int = 30) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.initEpochs = initEpochs
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
        for i in 0..<ss.count where ss[i][1] != ts[i][1] {
            throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i,
                "FSP matrices need equal channel counts on both sides (\(ss[i][1]) vs \(ts[i][1])); tap layers of the same width")
        }
    }

    /// The FSP matrices [N, C_{k+1}, C_k] of consecutive maps.
    public static func matrices(_ maps: [Tensor]) -> [Tensor] {
        (0..<(maps.count - 1)).map { k in
            let (b, u) = FeatureSupport.matchSpatial(maps[k], maps[k + 1])
            let bp = FeatureSupport.positions(b), up = FeatureSupport.positions(u)
            return Tensor.matmul(up, bp, transposeB: true) / Float(bp.shape[2])
        }
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        FeatureSupport.checkFeatureCounts(self, batch)
        let gs = Self.matrices(batch.studentFeatures), gt = Self.matrices(batch.teacherFeatures.map { $0.detached() })
        var total: Tensor? = nil
        for (s, t) in zip(gs, gt) {
            ensure(s.shape == t.shape, "fsp: FSP matrices \(Shape.describe(s.shape)) and \(Shape.describe(t.shape)) differ (was prepare called?)")
            let d = s - t
            let l = (d * d).mean()
            total = total.map { $0 + l } ?? l
        }
        return total!
    }

    public func preTrainingStages() -> [PreTrainingStage] {
        [PreTrainingStage(name: "fsp-init", epochs: initEpochs, student: .upToTaps, modules: []) { self.loss($0) }]
    }
}
