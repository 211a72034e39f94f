import DistillCore
import DistillNN

/// Similarity-preserving distillation (Tung & Mori, "Similarity-Preserving Knowledge
/// Distillation", ICCV 2019): the student should make similar (dissimilar) activations for the
/// examples on which the teacher makes similar (dissimilar) ones.
///
/// For each tapped layer pair l, with features flattened to Q ∈ ℝ^{b×d} (d may differ between
/// teacher and student):
///
///     G = normalise_rows(Q·Qᵀ)          (b × b; each row divided by max(‖row‖₂, 1e-12))
///     L_l = ‖G_t − G_s‖²_F / b²
///     L  = Σ_l L_l
///
/// as in RepDistiller's `distiller_zoo.Similarity` (row normalisation by `F.normalize`, the
/// squared Frobenius norm divided by b², layer losses summed; RepDistiller weights this term
/// with β = 3000 in the objective). Shapes: any [b, ...] per layer; batch sizes must agree.
/// Options: `student`, `teacher` (equal numbers of comma-separated tap paths; required).
public final class SimilarityPreservingLoss: DistillationLoss {
    public let name = "sp"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap]) throws {
        guard !studentTaps.isEmpty, studentTaps.count == teacherTaps.count else {
            throw DistillationError.badOption(method: "sp", option: "student/teacher",
                detail: "needs one teacher tap per student tap; got student \(studentTaps.map(\.description)) and teacher \(teacherTaps.map(\.description))")
        }
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps
    }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        for l in 0..<studentTaps.count {
            try RelationSupport.checkBatch(name, studentTaps[l], studentShapes[l], teacherTaps[l], teacherShapes[l])
        }
    }

    /// The row-normalised Gram matrix of a batch of features: [b, ...] → [b, b].
    public static func similarity(_ f: Tensor) -> Tensor {
        let q = RelationSupport.flat(f)
        return RelationSupport.l2Normalize(Tensor.matmul(q, q, transposeB: true), axis: 1)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ensure(batch.studentFeatures.count == studentTaps.count && batch.teacherFeatures.count == teacherTaps.count,
               "sp: batch has \(batch.studentFeatures.count) student and \(batch.teacherFeatures.count) teacher features for \(studentTaps.count) tap pairs")
        var total: Tensor? = nil
        for l in 0..<studentTaps.count {
            let s = batch.studentFeatures[l], t = batch.teacherFeatures[l]
            ensure(s.rank >= 2 && t.rank >= 2 && s.shape[0] == t.shape[0],
                   "sp: student \(studentTaps[l]) \(Shape.describe(s.shape)) and teacher \(teacherTaps[l]) \(Shape.describe(t.shape)) differ in batch size")
            let b = Float(s.shape[0])
            let d = Self.similarity(t) - Self.similarity(s)
            let term = (d * d).sum() / (b * b)
            total = total.map { $0 + term } ?? term
        }
        return total!
    }
}
