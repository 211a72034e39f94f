import DistillCore
import DistillData
import DistillNN
import Foundation

/// Co-teaching (Han, Yao, Yu, Niu, Xu, Hu, Tsang & Sugiyama, “Co-teaching: Robust training of
/// deep neural networks with extremely noisy labels”, NeurIPS 2018): two networks trained
/// together on noisily labelled data; in every mini-batch each keeps the fraction R(T) of the
/// examples on which *it* has the smallest loss, and its peer is updated on those (Algorithm 1):
///
///     D̄_f = argmin_{D′ ⊂ D̄, |D′| ≥ R(T)|D̄|} ℓ(f, D′),   D̄_g likewise for g
///     f ← f − η ∇ ℓ(f, D̄_g),   g ← g − η ∇ ℓ(g, D̄_f)
///
/// with ℓ the mean cross-entropy (per-example losses, `reduction: .none`, rank the rows) and
/// R(T) = 1 − forget(T). The forget rate rises from 0 to τ over the first T_k epochs:
/// - `code` (default, the authors' published code, `rate_schedule[:T_k] = linspace(0, τ^c, T_k)`):
///   forget = τ^c · e / (T_k − 1) in epoch e < T_k (0-based), τ after; so τ is reached in
///   epoch T_k − 1;
/// - `paper` (the paper's R(T) = 1 − min(T·τ / T_k, τ), here τ·min((e / T_k)^c, 1) with e the
///   finished epochs): τ is reached in epoch T_k.
/// The kept count is ⌊R(T)·n⌋ as in their code, at least 1 (their code divides by it). Defaults
/// and where they come from: τ = the noise rate ε (the paper assumes it known, §3; every
/// experiment of theirs sets τ = ε), T_k = 10 and c = 1 (§4, “we set T_k = 10 and c = 1”).
/// Ties between equal losses go to the earlier row (a stable sort).
///
/// Members: the two participants by name (the first evaluated, as the paper reports network f),
/// one parameter group each, updated from one backward pass of ℓ(f, D̄_g) + ℓ(g, D̄_f) (the losses
/// share no parameters). Logged terms: `ce.NAME` (the loss its update minimises), `forget_rate`
/// and, when the true labels are known, `label_precision.NAME`: the fraction of the rows that
/// network picked for its peer whose noisy label is the true one (the paper's Figure 3).
public final class CoTeaching: TrainingScheme {
    public enum Schedule: String, CaseIterable, Sendable { case code, paper }

    public struct Options: Equatable, Sendable {
        /// τ, the largest forget rate, in [0, 1).
        public var forgetRate: Double
        /// T_k, the epochs over which the forget rate rises to τ.
        public var gradualEpochs: Int = 10
        /// c, the exponent of the schedule.
        public var exponent: Double = 1
        public var schedule: Schedule = .code
        public init(forgetRate: Double) { self.forgetRate = forgetRate }
    }

    public let kind = "co-teaching"
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public var evaluated: String { members[0].name }
    public let options: Options
    /// True label of each training row (by dataset row), for the label precision; nil: unknown.
    let trueLabels: [Int]?
    public var identity: String { "co-teaching \(options) members \(members.map { "\($0.name)=\($0.spec ?? "")" })" }

    public init(pair: [(name: String, module: Module, spec: String)], config: TrainingConfig, options: Options,
                trueLabels: [Int]? = nil) throws {
        func bad(_ f: String, _ v: Any, _ e: String) -> TrainingError { .badValue(field: "scheme.\(f)", value: "\(v)", expected: e) }
        guard pair.count == 2 else { throw bad("participants", pair.count, "exactly 2 networks for co-teaching") }
        guard options.forgetRate >= 0, options.forgetRate < 1 else { throw bad("forget_rate", options.forgetRate, "a number in [0, 1)") }
        guard options.gradualEpochs >= 0 else { throw bad("gradual", options.gradualEpochs, "an integer ≥ 0 (epochs)") }
        guard options.exponent > 0, options.exponent.isFinite else { throw bad("exponent", options.exponent, "a positive number") }
        guard !config.augmentation.contains("mixup") else {
            throw TrainingError.badValue(field: "augmentation", value: config.augmentation, expected: "no mixup: co-teaching ranks examples by their loss on one label each")
        }
        members = pair.map { SchemeMember(name: $0.name, module: $0.module, spec: $0.spec, exported: true) }
        groups = members.map { ParameterGroup(name: $0.name, members: [$0], config: config) }
        self.options = options
        self.trueLabels = trueLabels
    }

    /// The forget rate in epoch `epoch` (0-based).
    public func forgetRate(epoch: Int) -> Double {
        let tau = options.forgetRate, tk = options.gradualEpochs, c = options.exponent
        guard tk > 0, epoch < tk || options.schedule == .paper else { return tau }
        switch options.schedule {
        case .code: return tk == 1 ? 0 : pow(tau, c) * Double(epoch) / Double(tk - 1)
        case .paper: return tau * min(pow(Double(epoch) / Double(tk), c), 1)
        }
    }

    /// Rows of the ⌊(1 − forget)·n⌋ (at least 1) smallest losses, ties to the earlier row.
    public static func smallLossRows(_ losses: [Float], forgetRate: Double) -> [Int] {
        let keep = max(1, Int((1 - forgetRate) * Double(losses.count)))
        let order = losses.indices.sorted { losses[$0] < losses[$1] || (losses[$0] == losses[$1] && $0 < $1) }
        return Array(order.prefix(keep))
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        guard batch.mixing == nil else {
            throw TrainingError.badValue(field: "augmentation", value: "mixup", expected: "no mixup for co-teaching")
        }
        guard batch.labels.scalars.allSatisfy({ $0 >= 0 }) else {
            throw TrainingError.badValue(field: "transfer", value: "unlabelled rows", expected: "labelled training data for co-teaching")
        }
        let f = members[0].module, g = members[1].module
        let zf = f(batch.images), zg = g(batch.images)
        let lf = crossEntropy(logits: zf, labels: batch.labels, reduction: .none)
        let lg = crossEntropy(logits: zg, labels: batch.labels, reduction: .none)
        let forget = forgetRate(epoch: context.epoch)
        let pickedByF = CoTeaching.smallLossRows(lf.scalars, forgetRate: forget)
        let pickedByG = CoTeaching.smallLossRows(lg.scalars, forgetRate: forget)
        let lossF = lf.indexSelect(alongAxis: 0, indices: IntTensor(pickedByG)).mean()   // f learns from g's choice
        let lossG = lg.indexSelect(alongAxis: 0, indices: IntTensor(pickedByF)).mean()
        var terms: [(name: String, value: Float)] = [("ce.\(members[0].name)", lossF.item), ("ce.\(members[1].name)", lossG.item),
                                                     ("forget_rate", Float(forget))]
        if let truth = trueLabels {
            for (name, rows) in [(members[0].name, pickedByF), (members[1].name, pickedByG)] {
                let clean = rows.filter { batch.labels.scalars[$0] == truth[batch.indices[$0]] }.count
                terms.append(("label_precision.\(name)", Float(clean) / Float(rows.count)))
            }
        }
        let total = lossF + lossG
        let value = total.item
        guard value.isFinite else { return StepOutput(loss: value, logits: nil, terms: terms) }
        try updater.update(groups, minimising: total, context: context)
        return StepOutput(loss: value, logits: zf.detached(), terms: terms)
    }
}
