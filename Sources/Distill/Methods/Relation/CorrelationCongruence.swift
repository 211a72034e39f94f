#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DistillCore
import DistillNN

/// Correlation congruence (Peng, Jin, Liu, Li, Wu, Liu, Zhou & Zhang, "Correlation Congruence
/// for Knowledge Distillation", ICCV 2019): the student should reproduce the correlations
/// between examples that the teacher's embedding shows.
///
/// Both penultimate features are flattened and embedded by a linear head each, e = W·flat(f) + b
/// to `feat_dim` (128), as RepDistiller's `LinearEmbed`; both heads are adapters trained with
/// the student (RepDistiller trains `embed_s` and `embed_t`). Two kernels (option `kernel`):
///
/// - `gaussian` (default, the paper): embeddings L2-normalised, so the Gaussian RBF kernel
///   exp(−γ‖x − y‖²) = e^{−2γ}·e^{2γ xᵀy} is approximated by its order-P Taylor expansion
///
///       k(x, y) = Σ_{p=0}^{P} e^{−2γ} (2γ)^p / p! · (xᵀy)^p,   P = 2, γ = 0.4 (the paper's choice)
///       ψ(E)ᵢⱼ = k(eᵢ, eⱼ),   L = ‖ψ(E_t) − ψ(E_s)‖²_F / b²
///
/// - `repdistiller`: the form in RepDistiller's `distiller_zoo.Correlation`, with δ = |e_s − e_t|
///   (b × d), L = mean over i < b−1 of Σ_c δᵢc·δᵢ₊₁c (products of consecutive examples' gaps).
///
/// With `embed = none` there are no heads: the flattened features are used as they are (no
/// adapters), for features that already match; the `repdistiller` kernel then needs equal
/// flattened sizes (refused in `prepare` otherwise), the `gaussian` kernel compares b × b
/// matrices and takes any sizes.
///
/// Shapes: student [b, ...], teacher [b, ...]. Options: `student`, `teacher` (one tap each,
/// required), `kernel` (gaussian), `embed` (linear or none), `feat_dim` (128), `gamma` (0.4), `order` (2), `seed` (0:
/// the embeddings' initialisation, PyTorch's default Linear init).
public final class CorrelationCongruenceLoss: DistillationLoss {
    public enum Kernel: String, CaseIterable { case gaussian, repdistiller }

    public let name = "cc"
    public let studentTap: FeatureTap, teacherTap: FeatureTap
    public let kernel: Kernel
    public let featureDim: Int, gamma: Float, order: Int
    /// Whether the linear embedding heads are built (false: `embed = none`).
    public let embeds: Bool
    public var studentTaps: [FeatureTap] { [studentTap] }
    public var teacherTaps: [FeatureTap] { [teacherTap] }
    public private(set) var adapters: Module?
    private var generator: SeededGenerator
    private var prepared = false

    public init(studentTap: FeatureTap, teacherTap: FeatureTap, kernel: Kernel = .gaussian, featureDim: Int = 128,
                gamma: Float = 0.4, order: Int = 2, embeds: Bool = true, seed: UInt64 = 0) {
        self.studentTap = studentTap; self.teacherTap = teacherTap; self.kernel = kernel; self.embeds = embeds
        self.featureDim = featureDim; self.gamma = gamma; self.order = order
        generator = SeededGenerator(seed: seed)
    }

    /// The embedding heads, `embed_s` and `embed_t` (Linear), once `prepare` has built them.
    public var studentEmbedding: Linear? { adapters.flatMap { try? $0.module(at: "embed_s") as? Linear } }
    public var teacherEmbedding: Linear? { adapters.flatMap { try? $0.module(at: "embed_t") as? Linear } }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        let ss = studentShapes[0], ts = teacherShapes[0]
        try RelationSupport.checkBatch(name, studentTap, ss, teacherTap, ts)
        prepared = true
        guard embeds else {
            if kernel == .repdistiller && Shape.count(Array(ss.dropFirst())) != Shape.count(Array(ts.dropFirst())) {
                throw DistillationError.incompatibleShapes(method: name, studentTap: studentTap.description, studentShape: ss, teacherTap: teacherTap.description,
                                                           teacherShape: ts, detail: "embed=none with kernel=repdistiller needs features of equal size; use embed=linear")
            }
            return
        }
        adapters = RelationSupport.embeddingHeads(student: ss, teacher: ts, dim: featureDim, using: &generator)
    }

    /// ψ(E) for embeddings [b, d] (already normalised): [b, b].
    public func correlation(_ e: Tensor) -> Tensor {
        let g = Tensor.matmul(e, e, transposeB: true)
        let c = expf(-2 * gamma)
        var k = Tensor(shape: g.shape, repeating: c)
        var power = g, coefficient = c
        for p in stride(from: 1, through: order, by: 1) {
            coefficient *= 2 * gamma / Float(p)
            if p > 1 { power = power * g }
            k = k + power * coefficient
        }
        return k
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard prepared else { failCheck("cc: loss called before prepare(studentShapes:teacherShapes:)") }
        ensure(batch.studentFeatures.count == 1 && batch.teacherFeatures.count == 1,
               "cc: expects one student and one teacher feature, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
        let s = batch.studentFeatures[0], t = batch.teacherFeatures[0].detached()
        ensure(s.rank >= 1 && t.rank >= 1 && s.shape[0] == t.shape[0],
               "cc: student \(studentTap) \(Shape.describe(s.shape)) and teacher \(teacherTap) \(Shape.describe(t.shape)) differ in batch size")
        let b = s.shape[0]
        var fs = RelationSupport.flat(s), ft = RelationSupport.flat(t)
        if let es = studentEmbedding, let et = teacherEmbedding { fs = es(fs); ft = et(ft) }
        switch kernel {
        case .gaussian:
            fs = RelationSupport.l2Normalize(fs, axis: 1); ft = RelationSupport.l2Normalize(ft, axis: 1)
            let d = correlation(ft) - correlation(fs)
            return (d * d).sum() / Float(b * b)
        case .repdistiller:
            if b < 2 { return RelationSupport.zero(onTapeOf: fs) }
            let delta = (fs - ft).abs()
            let prod = delta.slice(axis: 0, start: 0, length: b - 1) * delta.slice(axis: 0, start: 1, length: b - 1)
            return prod.sum() / Float(b - 1)
        }
    }
}
