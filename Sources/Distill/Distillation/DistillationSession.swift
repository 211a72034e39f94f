import DistillCore
import DistillData
import DistillNN
import Foundation

/// The distillation step of a student against a teacher: builds the objective from method
/// specs, attaches the union of the feature taps its terms need, checks everything on a probe
/// batch before training (class counts, tap paths, shapes each method can bridge), and computes
/// the loss for a batch: teacher in eval mode without gradients, student on the tape. On a
/// transfer set without augmentation, `cacheTeacherOutputs` has the teacher run once per row.
public final class DistillationSession {
    public let student: Module
    public let teacher: Teacher
    public let objective: Objective
    public let losses: [DistillationLoss]
    /// The epoch of the current training step (set by the trainer; losses that warm up read it).
    public var epoch: Int?
    /// Each term's value in the last `loss` (blended like the objective under mixup).
    public private(set) var lastTerms: [(name: String, value: Float)] = []
    private let studentCapture: FeatureCapture?
    private let teacherCapture: FeatureCapture?
    /// For each term, the positions of its taps in the capture lists.
    private let studentSlots: [[Int]]
    private let teacherSlots: [[Int]]
    /// The shapes of the teacher's outputs on the probe batch: logits, then every tap.
    private var teacherProbeShapes: [[Int]] = []
    /// The teacher's outputs per transfer row, once `cacheTeacherOutputs` turned it on.
    public private(set) var teacherCache: TeacherFeatureCache?

    /// - Parameters:
    ///   - probe: a few transfer images used to learn feature shapes (no training happens).
    ///   - datasetSize: examples in the transfer set (memory banks of CRD are sized by it).
    public init(student: Module, teacher: Teacher, methods: [MethodSpec], probe: Tensor, datasetSize: Int? = nil) throws {
        guard !methods.isEmpty else { throw DistillationError.invalidObjective("it names no method") }
        self.student = student
        self.teacher = teacher
        let losses = try methods.map { try MethodRegistry.make($0.name, options: $0.options) }
        self.losses = losses
        objective = try Objective(zip(methods, losses).map { (name: $0.name, weight: $0.weight, loss: $1) })

        func union(_ taps: [[FeatureTap]]) -> (all: [FeatureTap], slots: [[Int]]) {
            var all: [FeatureTap] = []
            let slots = taps.map { ts in ts.map { t -> Int in
                if let i = all.firstIndex(of: t) { return i }
                all.append(t); return all.count - 1
            } }
            return (all, slots)
        }
        let (sTaps, sSlots) = union(losses.map(\.studentTaps))
        let (tTaps, tSlots) = union(losses.map(\.teacherTaps))
        studentSlots = sSlots; teacherSlots = tSlots
        studentCapture = sTaps.isEmpty ? nil : try student.attachTaps(sTaps)
        if tTaps.isEmpty {
            teacherCapture = nil
        } else {
            guard let tm = teacher.module else {
                throw DistillationError.invalidObjective("methods \(losses.filter { !$0.teacherTaps.isEmpty }.map(\.name)) read teacher features, but this teacher (an ensemble or precomputed logits) has no single network to tap")
            }
            teacherCapture = try tm.attachTaps(tTaps)
        }

        // probe: shapes of logits and features, without touching any statistics
        let wasTraining = student.isTraining
        student.eval()
        let (sLogits, sFeat) = withoutGradients { () -> (Tensor, [Tensor]) in
            studentCapture?.clear()
            let y = student(probe)
            return (y, studentCapture?.ordered() ?? [])
        }
        student.train(wasTraining)
        teacherCapture?.clear()
        let tLogits = try teacher.logits(images: probe, rows: Array(0..<probe.shape[0]))
        let tFeat = teacherCapture?.ordered() ?? []
        teacherProbeShapes = [tLogits.shape] + tFeat.map(\.shape)
        guard tLogits.shape[1] == sLogits.shape[1] else {
            throw DistillationError.classCountMismatch(teacher: tLogits.shape[1], student: sLogits.shape[1])
        }
        for (k, loss) in losses.enumerated() {
            try loss.prepare(studentShapes: sSlots[k].map { sFeat[$0].shape }, teacherShapes: tSlots[k].map { tFeat[$0].shape })
            if let n = datasetSize, let sized = loss as? DatasetSizedDistillationLoss { try sized.setDatasetSize(n) }
        }
        studentCapture?.clear(); teacherCapture?.clear()
    }

    /// Trainable student-side modules of all terms (trained with the student, not exported).
    public var adapters: [Module] { objective.adapters }

    /// Non-parameter state of the terms (memory banks), saved with checkpoints as `termK.NAME`.
    public var state: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, l) in losses.enumerated() {
            for (name, v) in (l as? StatefulDistillationLoss)?.lossState ?? [:] { out["term\(k).\(name)"] = v }
        }
        return out
    }

    /// Restores what `state` returned.
    public func loadState(_ saved: [String: Tensor]) throws {
        for (k, l) in losses.enumerated() {
            guard let stateful = l as? StatefulDistillationLoss else { continue }
            let prefix = "term\(k)."
            var mine: [String: Tensor] = [:]
            for (key, v) in saved where key.hasPrefix(prefix) { mine[String(key.dropFirst(prefix.count))] = v }
            if !mine.isEmpty { try stateful.loadLossState(mine) }
        }
    }

    /// Keeps the teacher's logits and tapped features per transfer row (`TeacherFeatureCache`),
    /// so that a row's teacher forward pass runs once, not every epoch — when its tables for
    /// `rows` rows fit `budgetBytes`. Call it only when every epoch shows a row the same images
    /// (a transfer set without augmentation); batches with mixup always run the teacher.
    ///
    /// - Returns: one line for the log: what is cached and its size, or why nothing is.
    @discardableResult
    public func cacheTeacherOutputs(rows: Int, budgetBytes: Int = Limits.teacherCacheBytes) -> String {
        teacherCache = nil
        guard teacher.networks.allSatisfy({ !$0.isTraining }) else {
            return "teacher outputs not cached: a teacher network is in training mode, so its outputs depend on the batch"
        }
        let probeRows = teacherProbeShapes[0][0]
        guard teacherProbeShapes.allSatisfy({ $0.first == probeRows }) else {
            return "teacher outputs not cached: of the shapes \(teacherProbeShapes.map(Shape.describe).joined(separator: ", ")) on a probe of \(probeRows), not every one has a row per example"
        }
        let rowShapes = teacherProbeShapes.map { Array($0.dropFirst()) }
        let (cache, bytes) = TeacherFeatureCache.make(rows: rows, rowShapes: rowShapes, budgetBytes: budgetBytes)
        teacherCache = cache
        func text(_ b: Double) -> String { b < 1e6 ? "\(Int(b)) bytes" : Limits.describe(bytes: b) }
        let what = rowShapes.count == 1 ? "logits" : "logits and \(rowShapes.count - 1) tapped features"
        let size = "\(rows) rows × \(text(TeacherFeatureCache.bytes(rows: 1, rowShapes: rowShapes))) (\(what)) = \(text(bytes))"
        let budget = "the budget of \(text(Double(budgetBytes))) (DISTILL_TEACHER_CACHE_BYTES sets it)"
        return cache == nil ? "teacher outputs not cached: \(size), more than \(budget); the teacher runs on every batch"
                            : "teacher outputs cached per row on the transfer set: \(size), within \(budget)"
    }

    /// The teacher's logits and tapped features (in capture order) for a batch: from the cache
    /// when it holds every row and the batch is not mixed, otherwise by running the teacher (and
    /// filling the cache's missing rows).
    func teacherOutputs(_ batch: Batch) throws -> (logits: Tensor, features: [Tensor]) {
        let cache = batch.mixing == nil ? teacherCache : nil
        if let hit = cache?.lookup(batch.indices) { return (hit[0], Array(hit.dropFirst())) }
        teacherCapture?.clear()
        let t = try teacher.logits(images: batch.images, rows: batch.indices)
        let tf = teacherCapture?.ordered() ?? []
        cache?.store(batch.indices, outputs: [t] + tf)
        return (t, tf)
    }

    /// Runs teacher and student on a batch and returns the per-term distillation batches' builder.
    func run(_ batch: Batch, needsStudent: Bool = true, needsTeacher: Bool = true) throws -> (student: Tensor, teacher: Tensor, sf: [Tensor], tf: [Tensor]) {
        let (t, tf) = needsTeacher ? try teacherOutputs(batch) : (Tensor.zeros([batch.labels.count, teacher.classCount]), [])
        studentCapture?.clear()
        let s = needsStudent ? student(batch.images) : t
        let sf = needsStudent ? studentCapture?.ordered() ?? [] : []
        return (s, t, sf, tf)
    }

    func termBatch(_ k: Int, _ r: (student: Tensor, teacher: Tensor, sf: [Tensor], tf: [Tensor]), _ batch: Batch) -> DistillationBatch {
        DistillationBatch(studentLogits: r.student, teacherLogits: r.teacher,
                          studentFeatures: r.sf.isEmpty ? [] : studentSlots[k].map { r.sf[$0] },
                          teacherFeatures: r.tf.isEmpty ? [] : teacherSlots[k].map { r.tf[$0] },
                          labels: batch.labels, indices: batch.indices, epoch: epoch)
    }

    /// The objective and the student's logits for one batch (a `Trainer.LossFunction`).
    ///
    /// With mixup, teacher and student both see the blended images, and the objective is blended
    /// like the labels: λ·L(y) + (1 − λ)·L(y_partner) (terms that ignore labels are unchanged).
    public func loss(_ batch: Batch) throws -> (loss: Tensor, logits: Tensor) {
        if batch.mixing != nil, let stateful = losses.first(where: { $0 is StatefulDistillationLoss }) {
            throw DistillationError.invalidObjective("mixup blends the objective over two label sets, which would update the memory of '\(stateful.name)' twice; drop mixup or the method")
        }
        let r = try run(batch)
        var l = objective.evaluate { k in termBatch(k, r, batch) }
        lastTerms = objective.lastValues
        if let mix = batch.mixing {
            var partner = batch
            partner.labels = mix.partnerLabels
            l = l * mix.lambda + objective.evaluate { k in termBatch(k, r, partner) } * (1 - mix.lambda)
            lastTerms = zip(lastTerms, objective.lastValues).map { ($0.name, $0.value * mix.lambda + $1.value * (1 - mix.lambda)) }
        }
        studentCapture?.clear(); teacherCapture?.clear()
        return (l, r.student)
    }

    /// The objective's task part (the `TaskLossTerm`s) and distillation part for one batch, and
    /// the student's logits, for DOT's two backward passes; under mixup each part is blended like
    /// `loss`. Throws unless both parts have a term of weight > 0.
    public func lossParts(_ batch: Batch) throws -> (task: Tensor, distillation: Tensor, logits: Tensor) {
        if batch.mixing != nil, let stateful = losses.first(where: { $0 is StatefulDistillationLoss }) {
            throw DistillationError.invalidObjective("mixup blends the objective over two label sets, which would update the memory of '\(stateful.name)' twice; drop mixup or the method")
        }
        let r = try run(batch)
        defer { studentCapture?.clear(); teacherCapture?.clear() }
        func parts(_ b: Batch) throws -> (Tensor, Tensor) {
            let p = objective.evaluateParts { k in termBatch(k, r, b) }
            guard let t = p.task, let d = p.distillation else {
                throw DistillationError.invalidObjective("optimizer dot needs a task term (ce) and at least one distillation term of weight > 0; the objective has \(objective.terms.filter { $0.weight > 0 }.map(\.name))")
            }
            return (t, d)
        }
        var (t, d) = try parts(batch)
        lastTerms = objective.lastValues
        if let mix = batch.mixing {
            var partner = batch
            partner.labels = mix.partnerLabels
            let (t2, d2) = try parts(partner)
            t = t * mix.lambda + t2 * (1 - mix.lambda); d = d * mix.lambda + d2 * (1 - mix.lambda)
            lastTerms = zip(lastTerms, objective.lastValues).map { ($0.name, $0.value * mix.lambda + $1.value * (1 - mix.lambda)) }
        }
        return (t, d, r.student)
    }

    /// Stages of multi-stage methods, in objective order.
    public func preTrainingStages() -> [(term: Int, stage: PreTrainingStage)] {
        losses.enumerated().flatMap { k, l in
            ((l as? MultiStageDistillationLoss)?.preTrainingStages() ?? []).filter { $0.epochs > 0 }.map { (k, $0) }
        }
    }

    /// Forgets the features captured in the last step.
    func clearCaptures() { studentCapture?.clear(); teacherCapture?.clear() }
}
