import DistillCore
import DistillData
import DistillNN

/// ONE, on-the-fly native ensemble (Lan, Zhu & Gong, "Knowledge Distillation by On-the-Fly
/// Native Ensemble", NeurIPS 2018): one multi-branch network (`OneNetwork`) trains its branches
/// and their gated ensemble together, and the ensemble teaches every branch in the same step —
/// one-stage distillation without a pre-trained teacher.
///
///     L = Σ_i CE(y, z_i) + CE(y, z_e) + T² · Σ_i KL(softmax(z_e/T) ‖ softmax(z_i/T))
///
/// with z_e = Σ_i g_i z_i the gated ensemble, a constant inside the KL terms (the authors' code
/// detaches it: the teacher is taught only by the labels). Defaults from the paper: T = 3 (§4,
/// "T = 3 in all experiments"), 3 branches, weights 1. After training one deploys a branch (with
/// the trunk, an ordinary MLP) or the ensemble.
///
/// Members: `one` (the whole network; evaluated, i.e. the ensemble, and written to
/// `model.safetensors` with its `one:` spec) and `branchI` (trunk + branch I, written to
/// `branchI.safetensors` with the spec of a plain MLP; they share the network's layers, so their
/// checkpoint entries repeat the network's). One parameter group over the network. Logged terms:
/// `ce.branchI`, `ce.ensemble`, `kl.branchI`.
public final class OnTheFlyNativeEnsemble: TrainingScheme {
    public let kind = "one"
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public let evaluated = "one"
    public let network: OneNetwork
    public let temperature: Float
    public var identity: String { "one temperature \(temperature) branches \(network.branchCount)" }

    public init(network: OneNetwork, spec: String, config: TrainingConfig, temperature: Float = 3) throws {
        guard temperature > 0, temperature.isFinite else {
            throw TrainingError.badValue(field: "scheme.temperature", value: "\(temperature)", expected: "a positive number")
        }
        self.network = network
        self.temperature = temperature
        let whole = SchemeMember(name: "one", module: network, spec: spec, exported: true)
        members = [whole] + (0..<network.branchCount).map { SchemeMember(name: "branch\($0)", module: network.branch($0), spec: network.branchSpec, exported: true) }
        groups = [ParameterGroup(name: "one", members: [whole], config: config)]
    }

    /// The ONE loss of one batch and its terms.
    func loss(_ batch: Batch) -> (loss: Tensor, ensemble: Tensor, terms: [(name: String, value: Float)]) {
        let (zs, _, ze) = network.outputs(batch.images)
        let ceE = SupervisedScheme.supervisedLoss(logits: ze, batch: batch)
        var total = ceE
        var terms: [(name: String, value: Float)] = [("ce.ensemble", ceE.item)]
        for (i, z) in zs.enumerated() {
            let ce = SupervisedScheme.supervisedLoss(logits: z, batch: batch)
            let kl = ResponseTerms.softKL(student: z, teacher: ze, temperature: temperature)
            total = total + ce + kl
            terms += [("ce.branch\(i)", ce.item), ("kl.branch\(i)", kl.item)]
        }
        return (total, ze, terms)
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        let (l, ze, terms) = loss(batch)
        let value = l.item
        guard value.isFinite else { return StepOutput(loss: value, logits: nil, terms: terms) }
        try updater.update(groups[0], minimising: l, context: context)
        return StepOutput(loss: value, logits: ze, terms: terms)
    }
}
