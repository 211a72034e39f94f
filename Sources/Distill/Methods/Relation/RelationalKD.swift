import DistillCore
import DistillNN

/// Relational knowledge distillation, distance and angle terms (Park, Kim, Lu & Cho,
/// "Relational Knowledge Distillation", CVPR 2019).
///
/// With student and teacher features flattened to s, t ∈ ℝ^{b×d} (d may differ):
///
///     ψ_D(x)ᵢⱼ = ‖xᵢ − xⱼ‖₂ / μ,  μ = mean of the b(b−1) off-diagonal distances
///     ψ_A(x)ᵢⱼₖ = ⟨e(xⱼ − xᵢ), e(xₖ − xᵢ)⟩,  e(v) = v / max(‖v‖₂, 1e-12)
///     L = w_D · mean_{ij} huber(ψ_D(s) − ψ_D(t)) + w_A · mean_{ijk} huber(ψ_A(s) − ψ_A(t))
///
/// with huber = PyTorch's smooth-L1 (β = 1) and means over all b² / b³ entries, diagonals
/// included (they are 0 on both sides), exactly as RepDistiller's `distiller_zoo.RKDLoss`
/// (pairwise distances from ‖a‖² + ‖b‖² − 2a·b clamped at 1e-12 before the square root, the
/// diagonal set to 0). The weights default to RepDistiller's `RKDLoss(w_d: 25, w_a: 50)` (its
/// CIFAR-100 benchmark setting); the paper sets λ_D and λ_A per task, so we follow RepDistiller.
/// Teacher relations are constants. A batch of one example has no relations: the loss is 0.
/// Shapes: student [b, ...], teacher [b, ...]. Options: `student`, `teacher` (one tap each,
/// required), `distance` (25), `angle` (50).
public final class RelationalKDLoss: DistillationLoss {
    public let name = "rkd"
    public let studentTap: FeatureTap, teacherTap: FeatureTap
    public let distanceWeight: Float, angleWeight: Float
    public var studentTaps: [FeatureTap] { [studentTap] }
    public var teacherTaps: [FeatureTap] { [teacherTap] }

    public init(studentTap: FeatureTap, teacherTap: FeatureTap, distanceWeight: Float = 25, angleWeight: Float = 50) {
        self.studentTap = studentTap; self.teacherTap = teacherTap
        self.distanceWeight = distanceWeight; self.angleWeight = angleWeight
    }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        try RelationSupport.checkBatch(name, studentTap, studentShapes[0], teacherTap, teacherShapes[0])
    }

    /// Pairwise Euclidean distances [b, d] → [b, b] with a zero diagonal (RepDistiller's `pdist`).
    public static func distances(_ e: Tensor) -> Tensor {
        let b = e.shape[0]
        let sq = (e * e).sum(alongAxis: 1)
        let d2 = sq.reshaped([b, 1]) + sq.reshaped([1, b]) - Tensor.matmul(e, e, transposeB: true) * 2
        let offDiagonal = Tensor.make([b, b]) { p in for i in 0..<(b * b) { p[i] = i % (b + 1) == 0 ? 0 : 1 } }
        return d2.clamped(min: 1e-12).sqrt() * offDiagonal
    }

    /// Distances divided by their off-diagonal mean: [b, d] → [b, b] (b ≥ 2).
    public static func normalizedDistances(_ e: Tensor) -> Tensor {
        let b = e.shape[0]
        let d = distances(e)
        return d / (d.sum() / Float(b * (b - 1)))
    }

    /// Cosines of the angles at each anchor i between directions to j and to k: [b, d] → [b, b, b].
    public static func angles(_ e: Tensor) -> Tensor {
        let b = e.shape[0], n = e.shape[1]
        let diff = e.reshaped([1, b, n]) - e.reshaped([b, 1, n])   // diff[i, j] = e[j] − e[i]
        let u = RelationSupport.l2Normalize(diff, axis: 2)
        return Tensor.matmul(u, u, transposeB: true)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ensure(batch.studentFeatures.count == 1 && batch.teacherFeatures.count == 1,
               "rkd: expects one student and one teacher feature, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
        let s = RelationSupport.flat(batch.studentFeatures[0]), t = RelationSupport.flat(batch.teacherFeatures[0].detached())
        ensure(s.shape[0] == t.shape[0], "rkd: student \(studentTap) \(Shape.describe(s.shape)) and teacher \(teacherTap) \(Shape.describe(t.shape)) differ in batch size")
        if s.shape[0] < 2 { return RelationSupport.zero(onTapeOf: s) }
        var total: Tensor? = nil
        if distanceWeight != 0 {
            total = RelationSupport.smoothL1(Self.normalizedDistances(s), Self.normalizedDistances(t)) * distanceWeight
        }
        if angleWeight != 0 {
            let a = RelationSupport.smoothL1(Self.angles(s), Self.angles(t)) * angleWeight
            total = total.map { $0 + a } ?? a
        }
        return total ?? RelationSupport.zero(onTapeOf: s)
    }
}
