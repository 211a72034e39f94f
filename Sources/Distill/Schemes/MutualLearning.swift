import DistillCore
import DistillData
import DistillNN

/// Deep mutual learning (Zhang, Xiang, Hospedales & Lu, "Deep Mutual Learning", CVPR 2018): a
/// cohort of K ≥ 2 students trained together from scratch, no pre-trained teacher; each learns
/// from the labels and from the *detached* predictions of its peers.
///
///     L_k = CE(y, p_k) + (1 / (K − 1)) · Σ_{l ≠ k} T² · KL(p_l^T ‖ p_k^T)        (paper eq. 10)
///
/// with p^T = softmax(z / T). The paper uses T = 1 (no temperature; then T² = 1); `temperature`
/// is an option (default 1, the paper's). Peers' predictions are constants in L_k (the gradient of
/// L_k reaches only student k): a defect of a peer library that lets them carry gradients is
/// tested against.
///
/// Update order (`update`):
/// - `simultaneous` (default): all K predictions are computed once per batch and every student
///   is updated from them, as the widely used PyTorch implementations do; one backward pass.
/// - `sequential`: the paper's Algorithm 1: the students are updated one after another, and a
///   peer updated earlier in the step is run again (without gradients, in training mode) so the
///   later students learn from its new predictions.
///
/// Members: the participants by name (the first is evaluated and written to `model.safetensors`,
/// each other to `NAME.safetensors`), one parameter group each with the config's optimizer, as in
/// the paper (one optimizer per network). Logged terms: `ce.NAME` and `kl.NAME` for each student.
public final class MutualLearning: TrainingScheme {
    public enum Update: String, CaseIterable, Sendable { case simultaneous, sequential }

    public let kind = "mutual-learning"
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public var evaluated: String { members[0].name }
    public let temperature: Float
    public let update: Update
    public var identity: String { "mutual-learning temperature \(temperature) update \(update.rawValue) members \(members.map { "\($0.name)=\($0.spec ?? "")" })" }

    /// - Parameter cohort: the students (name, network, model spec), at least two.
    public init(cohort: [(name: String, module: Module, spec: String)], config: TrainingConfig,
                temperature: Float = 1, update: Update = .simultaneous) throws {
        guard cohort.count >= 2 else {
            throw TrainingError.badValue(field: "scheme.participants", value: "\(cohort.count)", expected: "at least 2 students for mutual learning")
        }
        guard temperature > 0, temperature.isFinite else {
            throw TrainingError.badValue(field: "scheme.temperature", value: "\(temperature)", expected: "a positive number")
        }
        members = cohort.map { SchemeMember(name: $0.name, module: $0.module, spec: $0.spec, exported: true) }
        groups = members.map { ParameterGroup(name: $0.name, members: [$0], config: config) }
        self.temperature = temperature
        self.update = update
    }

    /// The mutual-learning term of student k: the mean over peers of T²·KL(peer ‖ k), peers detached.
    func mimicry(_ k: Int, _ logits: [Tensor]) -> Tensor {
        var total: Tensor? = nil
        for l in logits.indices where l != k {
            let kl = ResponseTerms.softKL(student: logits[k], teacher: logits[l], temperature: temperature)
            total = total.map { $0 + kl } ?? kl
        }
        return total! * (1 / Float(logits.count - 1))
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        var logits = members.map { $0.module(batch.images) }
        let first = logits[0].detached()
        var terms: [(name: String, value: Float)] = []
        var total: Float = 0
        switch update {
        case .simultaneous:
            var losses: [Tensor] = []
            for k in members.indices {
                let ce = SupervisedScheme.supervisedLoss(logits: logits[k], batch: batch), kl = mimicry(k, logits)
                terms += [("ce.\(members[k].name)", ce.item), ("kl.\(members[k].name)", kl.item)]
                losses.append(ce + kl)
            }
            let sum = losses.dropFirst().reduce(losses[0], +)
            total = sum.item
            guard total.isFinite else { return StepOutput(loss: total, logits: nil, terms: terms) }
            try updater.update(groups, minimising: sum, context: context)
        case .sequential:
            for k in members.indices {
                if k > 0 {   // peers updated earlier in this step predict again
                    for l in 0..<k { logits[l] = withoutGradients { members[l].module(batch.images) } }
                }
                let ce = SupervisedScheme.supervisedLoss(logits: logits[k], batch: batch), kl = mimicry(k, logits)
                let loss = ce + kl
                terms += [("ce.\(members[k].name)", ce.item), ("kl.\(members[k].name)", kl.item)]
                total += loss.item
                guard total.isFinite else { return StepOutput(loss: total, logits: nil, terms: terms) }
                try updater.update(groups[k], minimising: loss, context: context)
            }
        }
        return StepOutput(loss: total, logits: first, terms: terms)
    }
}
