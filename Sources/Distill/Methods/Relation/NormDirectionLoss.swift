import DistillCore
import DistillNN

/// ND loss of KD++: pull the student's penultimate feature towards the direction of the teacher's
/// class mean and enlarge its norm (Wang, Cheng, Duan, Wang, Feng & Kong, "Improving Knowledge
/// Distillation via Regularizing Feature Norm and Direction", arXiv:2305.17007, 2023 — cited as
/// ICCV 2023 in our issue; check the venue before citing it; code
/// github.com/WangYZ1608/Knowledge-Distillation-via-ND, `DirectNormLoss` in CIFAR/utils.py).
///
///     e_c = μ_c / ‖μ_c‖₂,   μ_c the mean teacher embedding of class c            [C, D]
///     L = (1/N) Σᵢ (1 − ⟨sᵢ, e_{yᵢ}⟩ / max(‖sᵢ‖₂, ‖tᵢ‖₂))
///
/// sᵢ, tᵢ: the student's and teacher's embeddings (the penultimate features, flattened to [N, D]);
/// only the student is trained (the max takes the student's norm, on the tape, when it is the
/// larger or equal, else the teacher's constant norm, as Python's `max` in the reference). KD++ is
/// this term beside `kd` and `ce` (the reference's CIFAR defaults: ND weight 1, KD weight 1 at
/// T = 4 with a 20-epoch linear warm-up of the KD term, CE weight 1): its weight is the
/// objective's term weight (default 1, the reference's `nd_loss_factor`).
///
/// Difference from the reference: the reference reads μ_c from a file computed beforehand with the
/// trained teacher over the whole training set (`center_emb_train.json`). Here μ_c is the running
/// mean of the teacher embeddings of every labelled example the loss has seen, updated with each
/// batch before it is used, kept as state (`sums`, `counts`, checkpointed): after one epoch over
/// a non-augmented transfer set it is exactly the training-set class mean of the reference; during
/// the first epoch it is the mean of what has been seen so far (a class not seen yet cannot occur:
/// the batch's own rows are counted first). Rows labelled −1 (unlabelled) are skipped and the mean
/// is over the labelled rows (the reference has labels everywhere); a batch without any gives 0.
/// The reference's `EmbTrans` (a linear layer for students whose embedding size differs) is not
/// built: student and teacher embeddings must have equal size, refused in `prepare` otherwise.
///
/// Shapes: student [N, ...], teacher [N, ...] with equal per-row sizes D; labels [N] in 0..<C,
/// C the logits' class count. Options: `student`, `teacher` (one tap each, required).
public final class NormDirectionLoss: StatefulDistillationLoss {
    public let name = "nd"
    public let studentTap: FeatureTap, teacherTap: FeatureTap
    public var studentTaps: [FeatureTap] { [studentTap] }
    public var teacherTaps: [FeatureTap] { [teacherTap] }
    /// Per-class sums of teacher embeddings [C, D] and counts [C] (nil until the first batch).
    private(set) var sums: [Double]?, counts: [Double]?
    private var classes = 0, dim = 0

    public init(studentTap: FeatureTap, teacherTap: FeatureTap) {
        self.studentTap = studentTap; self.teacherTap = teacherTap
    }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        let ss = studentShapes[0], ts = teacherShapes[0]
        try RelationSupport.checkBatch(name, studentTap, ss, teacherTap, ts)
        let ds = Shape.count(Array(ss.dropFirst())), dt = Shape.count(Array(ts.dropFirst()))
        guard ds == dt else {
            throw DistillationError.incompatibleShapes(method: name, studentTap: studentTap.description, studentShape: ss, teacherTap: teacherTap.description,
                                                       teacherShape: ts, detail: "the ND loss compares embeddings of equal size (\(ds) vs \(dt)); tap layers whose outputs match")
        }
        dim = ds
    }

    /// The class-mean directions e_c [C, D] as they stand (zero rows for classes not seen).
    public var centerDirections: Tensor? {
        guard let sums, let counts else { return nil }
        var out = [Float](repeating: 0, count: sums.count)
        for c in 0..<classes where counts[c] > 0 {
            var norm = 0.0
            for j in 0..<dim { let m = sums[c * dim + j] / counts[c]; norm += m * m }
            let n = max(norm.squareRoot(), 1e-12)
            for j in 0..<dim { out[c * dim + j] = Float(sums[c * dim + j] / counts[c] / n) }
        }
        return Tensor(shape: [classes, dim], scalars: out)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ensure(batch.studentFeatures.count == 1 && batch.teacherFeatures.count == 1,
               "nd: expects one student and one teacher feature, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
        let s = RelationSupport.flat(batch.studentFeatures[0]), t = RelationSupport.flat(batch.teacherFeatures[0].detached())
        let n = s.shape[0], d = s.shape[1], c = batch.studentLogits.shape[1]
        ensure(t.shape == s.shape, "nd: student \(studentTap) \(Shape.describe(s.shape)) and teacher \(teacherTap) \(Shape.describe(t.shape)) embeddings differ")
        ensure(batch.labels.count == n, "nd: \(batch.labels.count) labels for \(n) rows")
        if sums == nil { classes = c; dim = d; sums = Array(repeating: 0, count: c * d); counts = Array(repeating: 0, count: c) }
        ensure(classes == c && dim == d, "nd: class centres of \(classes) × \(dim) meet a batch of \(c) classes and embeddings of \(d)")
        let labels = batch.labels.scalars
        for y in labels where y >= 0 { ensure(y < c, "nd: label \(y) outside 0..<\(c)") }
        let tv = t.scalars
        for (i, y) in labels.enumerated() where y >= 0 {
            counts![y] += 1
            for j in 0..<d { sums![y * d + j] += Double(tv[i * d + j]) }
        }
        let rows = labels.enumerated().filter { $0.element >= 0 }.map(\.offset)
        guard !rows.isEmpty else { return RelationSupport.zero(onTapeOf: s) }
        let dirs = centerDirections!.scalars
        var e = [Float](repeating: 0, count: n * d), mask = [Float](repeating: 0, count: n), keep = [Float](repeating: 0, count: n)
        var tNorm = [Float](repeating: 0, count: n)
        let sv = s.scalars
        for i in 0..<n {
            var ns: Float = 0, nt: Float = 0
            for j in 0..<d { ns += sv[i * d + j] * sv[i * d + j]; nt += tv[i * d + j] * tv[i * d + j] }
            tNorm[i] = nt.squareRoot()
            mask[i] = ns.squareRoot() >= tNorm[i] ? 1 : 0
            let y = labels[i]
            guard y >= 0 else { continue }
            keep[i] = 1
            for j in 0..<d { e[i * d + j] = dirs[y * d + j] }
        }
        let studentNorm = (s * s).sum(alongAxis: 1).clamped(min: 1e-24).sqrt()
        let m = Tensor(shape: [n], scalars: mask)
        let maxNorm = studentNorm * m + Tensor(shape: [n], scalars: tNorm) * (1 - m)
        let cosine = (s * Tensor(shape: [n, d], scalars: e)).sum(alongAxis: 1) / maxNorm
        return ((1 - cosine) * Tensor(shape: [n], scalars: keep)).sum() / Float(rows.count)
    }

    public var lossState: [String: Tensor] {
        guard let sums, let counts else { return [:] }
        return ["sums": Tensor(shape: [classes, dim], scalars: sums.map(Float.init)), "counts": Tensor(shape: [classes], scalars: counts.map(Float.init))]
    }

    public func loadLossState(_ state: [String: Tensor]) throws {
        guard let s = state["sums"], let c = state["counts"] else {
            throw DistillationError.badOption(method: name, option: "state", detail: "needs 'sums' and 'counts', got \(state.keys.sorted())")
        }
        guard s.rank == 2, c.shape == [s.shape[0]], dim == 0 || s.shape[1] == dim else {
            throw DistillationError.badOption(method: name, option: "state", detail: "sums \(Shape.describe(s.shape)) and counts \(Shape.describe(c.shape)) do not fit embeddings of \(dim)")
        }
        classes = s.shape[0]; dim = s.shape[1]
        sums = s.scalars.map(Double.init); counts = c.scalars.map(Double.init)
    }
}
