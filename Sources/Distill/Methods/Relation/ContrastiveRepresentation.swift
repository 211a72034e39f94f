import DistillCore
import DistillNN

/// Contrastive representation distillation (Tian, Krishnan & Isola, "Contrastive Representation
/// Distillation", ICLR 2020), following RepDistiller's `crd/` (`CRDLoss`, `ContrastMemory`,
/// `ContrastLoss`, `Embed`).
///
/// Embeddings: v_s = ℓ₂(W_s·flat(f_s) + b_s), v_t = ℓ₂(W_t·flat(f_t) + b_t), dimension `feat_dim`
/// (128); both heads are adapters (RepDistiller trains both). Memory banks M_s, M_t ∈ ℝ^{N×d}
/// (N = dataset size) start uniform in ±1/√(d/3). For anchor row yᵢ with K negatives
/// n_{i,1…K} (column 0 of the contrast indices is yᵢ itself):
///
///     P_s[i,k] = exp(⟨M_t[idx_{i,k}], v_s,i⟩ / τ) / Z_s        (student anchors vs teacher memory)
///     P_t[i,k] = exp(⟨M_s[idx_{i,k}], v_t,i⟩ / τ) / Z_t        (teacher anchors vs student memory)
///     Z = N · mean(exp(scores / τ)) of the first batch, fixed from then on (a constant)
///     NCE(P) = −(1/b) Σᵢ [ log(P[i,0] / (P[i,0] + K/N + ε)) + Σ_{k≥1} log((K/N) / (P[i,k] + K/N + ε)) ]
///     L = NCE(P_s) + NCE(P_t),   ε = 1e-7
///
/// After the scores are computed the banks move towards the batch (no gradient):
/// M[yᵢ] ← ℓ₂(m·M[yᵢ] + (1 − m)·vᵢ), momentum m = 0.5; with repeated rows the last write wins.
/// Scores are taken as one product of the anchors with the whole bank ([b, N]) and then
/// gathered, rather than RepDistiller's gather of b·(K+1) bank rows, which costs b·(K+1)·d floats:
/// at N = 50000, K = 16384, b = 64, d = 128 one bank's scores forward + backward took 56 ms against
/// 2290 ms for the gathered rows (release build, `RelationCRDBenchmark`).
/// Negatives are drawn uniformly from 0 ..< N with replacement by a seeded generator, never the
/// anchor's own row (ContrastMemory's uniform draw may repeat it; RepDistiller's CIFAR loader
/// draws from other classes instead, which needs labels this loss does not see).
///
/// Defaults (the paper and RepDistiller): feat_dim 128, nce_k 16384, τ = 0.07 (`nce_t`),
/// m = 0.5 (`nce_m`). Uses `DistillationBatch.indices` (dataset rows). Shapes: student
/// [b, ...], teacher [b, ...]. Options: `student`, `teacher` (one tap each, required),
/// `dataset_size` (or the trainer calls `setDatasetSize`), `feat_dim`, `nce_k`, `nce_t`,
/// `nce_m`, `seed` (0: embedding init, bank init and negative sampling).
public final class ContrastiveRepresentationLoss: DistillationLoss, StatefulDistillationLoss, DatasetSizedDistillationLoss {
    public let name = "crd"
    public let studentTap: FeatureTap, teacherTap: FeatureTap
    public let featureDim: Int, negatives: Int
    public let temperature: Float, momentum: Float
    public static let epsilon: Float = 1e-7
    public var studentTaps: [FeatureTap] { [studentTap] }
    public var teacherTaps: [FeatureTap] { [teacherTap] }
    public private(set) var adapters: Module?
    public private(set) var datasetSize: Int?
    /// Student bank M_s (the teacher's anchors are scored against it) and teacher bank M_t, [N, d].
    public private(set) var studentMemory: Tensor?
    public private(set) var teacherMemory: Tensor?
    /// Z_s and Z_t; negative until the first batch sets them.
    public private(set) var normalizers: (student: Float, teacher: Float) = (-1, -1)
    /// When false, `loss` leaves the banks unchanged (gradient checks evaluate it repeatedly).
    public var updatesMemory = true
    private var generator: SeededGenerator

    public init(studentTap: FeatureTap, teacherTap: FeatureTap, featureDim: Int = 128, negatives: Int = 16384,
                temperature: Float = 0.07, momentum: Float = 0.5, datasetSize: Int? = nil, seed: UInt64 = 0) throws {
        for (k, v) in [("feat_dim", featureDim), ("nce_k", negatives)] where v < 1 {
            throw DistillationError.badOption(method: "crd", option: k, detail: "must be ≥ 1, got \(v)")
        }
        guard temperature > 0 else { throw DistillationError.badOption(method: "crd", option: "nce_t", detail: "must be > 0, got \(temperature)") }
        guard momentum >= 0, momentum < 1 else { throw DistillationError.badOption(method: "crd", option: "nce_m", detail: "must lie in [0, 1), got \(momentum)") }
        self.studentTap = studentTap; self.teacherTap = teacherTap
        self.featureDim = featureDim; self.negatives = negatives
        self.temperature = temperature; self.momentum = momentum
        generator = SeededGenerator(seed: seed)
        if let n = datasetSize { try setDatasetSize(n) }
    }

    public var studentEmbedding: Linear? { adapters.flatMap { try? $0.module(at: "embed_s") as? Linear } }
    public var teacherEmbedding: Linear? { adapters.flatMap { try? $0.module(at: "embed_t") as? Linear } }

    /// Sets N and creates both banks (uniform in ±1/√(d/3), as ContrastMemory). Setting the same
    /// N again keeps the banks; a different N after they exist is refused.
    public func setDatasetSize(_ n: Int) throws {
        guard n >= 2 else { throw DistillationError.badOption(method: name, option: "dataset_size", detail: "must be ≥ 2 (negatives are other rows), got \(n)") }
        if let old = datasetSize, studentMemory != nil {
            guard old == n else { throw DistillationError.badOption(method: name, option: "dataset_size", detail: "is \(old) already; the memory banks cannot be resized to \(n)") }
            return
        }
        datasetSize = n
        let stdv = 1 / (Float(featureDim) / 3).squareRoot()
        studentMemory = Tensor.uniform([n, featureDim], low: -stdv, high: stdv, using: &generator)
        teacherMemory = Tensor.uniform([n, featureDim], low: -stdv, high: stdv, using: &generator)
    }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        let ss = studentShapes[0], ts = teacherShapes[0]
        try RelationSupport.checkBatch(name, studentTap, ss, teacherTap, ts)
        adapters = RelationSupport.embeddingHeads(student: ss, teacher: ts, dim: featureDim, using: &generator)
    }

    /// Contrast indices [b, K+1]: column 0 the anchors' rows, then K seeded uniform draws that
    /// avoid each anchor's own row.
    public func sampleContrastIndices(for rows: [Int]) -> IntTensor {
        guard let n = datasetSize else { failCheck(Self.noSizeMessage) }
        var out: [Int] = []
        out.reserveCapacity(rows.count * (negatives + 1))
        for y in rows {
            out.append(y)
            for _ in 0..<negatives {
                var r = generator.nextInt(below: n - 1)
                if r >= y { r += 1 }
                out.append(r)
            }
        }
        return IntTensor(shape: [rows.count, negatives + 1], scalars: out)
    }

    static let noSizeMessage = "crd: the dataset size is unknown; give option dataset_size or call setDatasetSize(_:) before training"

    /// NCE loss of RepDistiller's `ContrastLoss` on probabilities P [b, K+1] (column 0 positive).
    public static func nceLoss(_ p: Tensor, datasetSize n: Int) -> Tensor {
        let b = p.shape[0], k = p.shape[1] - 1
        let mPn = Float(k) / Float(n)
        let denominator = p + (mPn + epsilon)
        let positive = (p.slice(axis: 1, start: 0, length: 1) / denominator.slice(axis: 1, start: 0, length: 1)).log().sum()
        let negative = (mPn / denominator.slice(axis: 1, start: 1, length: k)).log().sum()
        return -(positive + negative) / Float(b)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ensure(batch.studentFeatures.count == 1 && batch.teacherFeatures.count == 1,
               "crd: expects one student and one teacher feature, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
        let s = batch.studentFeatures[0]
        ensure(batch.indices.count == s.shape[0],
               "crd: the batch has \(batch.indices.count) dataset indices for student \(studentTap) \(Shape.describe(s.shape)); CRD needs DistillationBatch.indices")
        return loss(student: s, teacher: batch.teacherFeatures[0], rows: batch.indices,
                    contrast: sampleContrastIndices(for: batch.indices))
    }

    /// The loss with given contrast indices [b, K+1] (column 0 = `rows`); updates the banks
    /// afterwards when `updatesMemory`, and sets Z on the first call.
    public func loss(student s: Tensor, teacher t: Tensor, rows: [Int], contrast: IntTensor) -> Tensor {
        guard let es = studentEmbedding, let et = teacherEmbedding else { failCheck("crd: loss called before prepare(studentShapes:teacherShapes:)") }
        guard let n = datasetSize, let ms = studentMemory, let mt = teacherMemory else { failCheck(Self.noSizeMessage) }
        let b = s.shape[0]
        ensure(t.shape[0] == b, "crd: student \(studentTap) \(Shape.describe(s.shape)) and teacher \(teacherTap) \(Shape.describe(t.shape)) differ in batch size")
        ensure(rows.count == b && contrast.shape == [b, contrast.shape.last ?? 0] && contrast.shape.count == 2,
               "crd: \(rows.count) rows and contrast indices \(Shape.describe(contrast.shape)) for a batch of \(b)")
        for r in rows { ensure(r >= 0 && r < n, "crd: dataset index \(r) is outside 0..<\(n) (dataset_size)") }
        let vs = RelationSupport.l2Normalize(es(RelationSupport.flat(s)), axis: 1)
        let vt = RelationSupport.l2Normalize(et(RelationSupport.flat(t.detached())), axis: 1)
        // exp(⟨bank row, anchor⟩ / τ) for the contrast rows only
        var scoreS = (Tensor.matmul(vs, mt, transposeB: true).gather(alongAxis: 1, indices: contrast) / temperature).exp()
        var scoreT = (Tensor.matmul(vt, ms, transposeB: true).gather(alongAxis: 1, indices: contrast) / temperature).exp()
        if normalizers.student < 0 { normalizers.student = scoreS.detached().mean().item * Float(n) }
        if normalizers.teacher < 0 { normalizers.teacher = scoreT.detached().mean().item * Float(n) }
        scoreS = scoreS / normalizers.student
        scoreT = scoreT / normalizers.teacher
        let l = Self.nceLoss(scoreS, datasetSize: n) + Self.nceLoss(scoreT, datasetSize: n)
        if updatesMemory {
            studentMemory = updated(ms, rows: rows, with: vs.detached())
            teacherMemory = updated(mt, rows: rows, with: vt.detached())
        }
        return l
    }

    /// M[yᵢ] ← ℓ₂(m·M[yᵢ] + (1 − m)·vᵢ), all reads before the writes (index_copy_, last wins).
    private func updated(_ memory: Tensor, rows: [Int], with v: Tensor) -> Tensor {
        let d = featureDim, m = momentum
        var fresh = [Float](repeating: 0, count: rows.count * d)
        memory.withUnsafeBufferPointer { mem in
            v.withUnsafeBufferPointer { vp in
                for (i, y) in rows.enumerated() {
                    var norm: Float = 0
                    for c in 0..<d {
                        let x = m * mem[y * d + c] + (1 - m) * vp[i * d + c]
                        fresh[i * d + c] = x
                        norm += x * x
                    }
                    let inv = 1 / norm.squareRoot()
                    for c in 0..<d { fresh[i * d + c] *= inv }
                }
            }
        }
        var out = memory
        out.withUnsafeMutableBufferPointer { mem in
            for (i, y) in rows.enumerated() { for c in 0..<d { mem[y * d + c] = fresh[i * d + c] } }
        }
        return out
    }

    // MARK: state

    /// `memory_student`, `memory_teacher` [N, d], `normalizers` [2] (Z_s, Z_t; −1 unset) and
    /// `rng` [16] (the sampler's 256-bit state in 16-bit pieces, exact in Float32).
    public var lossState: [String: Tensor] {
        guard let ms = studentMemory, let mt = teacherMemory else { return [:] }
        var pieces: [Float] = []
        for w in generator.state { for k in 0..<4 { pieces.append(Float((w >> (16 * UInt64(k))) & 0xFFFF)) } }
        return ["memory_student": ms, "memory_teacher": mt,
                "normalizers": Tensor([normalizers.student, normalizers.teacher]), "rng": Tensor(pieces)]
    }

    public func loadLossState(_ state: [String: Tensor]) throws {
        for k in ["memory_student", "memory_teacher", "normalizers", "rng"] where state[k] == nil {
            throw DistillationError.badOption(method: name, option: "state", detail: "is missing key '\(k)'")
        }
        let ms = state["memory_student"]!, mt = state["memory_teacher"]!
        guard ms.rank == 2, ms.shape[1] == featureDim, mt.shape == ms.shape else {
            throw DistillationError.badOption(method: name, option: "state", detail: "memory banks \(Shape.describe(ms.shape)) and \(Shape.describe(mt.shape)) are not both [N, \(featureDim)]")
        }
        if let n = datasetSize, n != ms.shape[0] {
            throw DistillationError.badOption(method: name, option: "state", detail: "memory banks hold \(ms.shape[0]) rows but dataset_size is \(n)")
        }
        let z = state["normalizers"]!, r = state["rng"]!
        guard z.count == 2, r.count == 16 else {
            throw DistillationError.badOption(method: name, option: "state", detail: "normalizers \(Shape.describe(z.shape)) / rng \(Shape.describe(r.shape)) are not [2] / [16]")
        }
        let p = r.scalars
        let words = (0..<4).map { w in (0..<4).reduce(UInt64(0)) { $0 | (UInt64(p[w * 4 + $1]) << (16 * UInt64($1))) } }
        datasetSize = ms.shape[0]
        studentMemory = ms.detached(); teacherMemory = mt.detached()
        normalizers = (z.scalars[0], z.scalars[1])
        generator = SeededGenerator(state: words)
    }

    /// Restores Z_s, Z_t and the banks directly (tests with fixed contents; −1 leaves Z unset).
    public func setMemory(student: Tensor, teacher: Tensor, normalizers z: (Float, Float) = (-1, -1)) {
        ensure(student.rank == 2 && student.shape[1] == featureDim && teacher.shape == student.shape,
               "crd: memory banks \(Shape.describe(student.shape)) and \(Shape.describe(teacher.shape)) are not both [N, \(featureDim)]")
        datasetSize = student.shape[0]
        studentMemory = student.detached(); teacherMemory = teacher.detached()
        normalizers = z
    }
}
