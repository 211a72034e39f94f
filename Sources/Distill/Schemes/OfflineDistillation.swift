import DistillCore
import DistillData
import DistillNN
import Foundation

/// Offline distillation (Hinton, Vinyals & Dean 2015 and every method of the registry): a fixed
/// teacher, a student trained on the objective of a `DistillationSession` (a weighted sum of
/// method terms), the terms' adapters trained with it and left out of the exported student.
///
/// Members: `student` (evaluated, exported) and `adapterK` for the K-th term with adapters (not
/// exported). One parameter group over student and adapters, with the training config's
/// optimizer. State: the terms' memory banks (`termK.NAME`); random sources: every term that owns
/// a generator (the noisy teacher's noise). Each term's value is logged per epoch.
/// Methods that train in stages (FitNets hints, AB and FSP initialisation, the FT paraphraser)
/// run them first, each as a `PreTrainingStageScheme` of the same loop (`preTrainingStages`).
public final class OfflineDistillation: TrainingScheme {
    public let kind = "offline"
    public let session: DistillationSession
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public let evaluated = "student"
    public let identity: String

    /// - Parameters:
    ///   - spec: the student's model spec (recorded in the exported file).
    ///   - identity: what defines the run besides the config (methods and teacher).
    public init(session: DistillationSession, spec: String, config: TrainingConfig, identity: String) {
        self.session = session
        self.identity = identity
        var ms = [SchemeMember(name: "student", module: session.student, spec: spec, exported: true)]
        for (i, a) in session.adapters.enumerated() { ms.append(SchemeMember(name: "adapter\(i)", module: a)) }
        members = ms
        groups = [ParameterGroup(name: "student", members: ms, config: config)]
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        session.epoch = context.epoch
        if let dot = groups[0].optimizer as? DistillationOrientedTrainer { return try dotStep(batch, dot, context: context, updater: updater) }
        let (loss, logits) = try session.loss(batch)
        let value = loss.item
        let terms = session.lastTerms
        guard value.isFinite else { return StepOutput(loss: value, logits: nil, terms: terms) }
        try updater.update(groups[0], minimising: loss, context: context)
        return StepOutput(loss: value, logits: logits, terms: terms)
    }

    /// DOT's step (mdistiller's `DOT.train_iter`): the distillation part's backward (graph kept)
    /// and its gradients captured, then the task part's backward and the update. Both backward
    /// passes run the loop's after-backward hooks (a data-parallel all-reduce averages each
    /// gradient) and the gradient clipping, each on its own gradient.
    func dotStep(_ batch: Batch, _ dot: DistillationOrientedTrainer, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        let (task, kd, logits) = try session.lossParts(batch)
        let value = (task + kd).item
        let terms = session.lastTerms
        guard value.isFinite else { return StepOutput(loss: value, logits: nil, terms: terms) }
        try updater.update([groups[0]], minimising: kd, context: context, retainGraph: true, step: false)
        dot.captureDistillationGradients()
        try updater.update(groups[0], minimising: task, context: context)
        return StepOutput(loss: value, logits: logits, terms: terms)
    }

    public var state: [String: Tensor] { session.state }
    public func loadState(_ state: [String: Tensor]) throws { try session.loadState(state) }

    public var randomSources: [String: RandomStateOwner] {
        var out: [String: RandomStateOwner] = [:]
        for (k, l) in session.losses.enumerated() { if let r = l as? RandomStateOwner { out["term\(k)"] = r } }
        return out
    }

    /// The pre-training stages of the objective's multi-stage methods, in order, each a scheme
    /// with the training config it runs under: SGD with momentum 0.9 at the student's learning
    /// rate, constant, no weight decay, no augmentation (the reference code's stage optimiser).
    public func preTrainingStages(config: TrainingConfig) -> [(name: String, config: TrainingConfig, scheme: PreTrainingStageScheme)] {
        session.preTrainingStages().map { k, stage in
            var c = config
            c.epochs = stage.epochs
            c.optimizer = "sgd"; c.momentum = 0.9; c.nesterov = false; c.weightDecay = 0
            c.schedule = "constant"; c.warmupEpochs = 0; c.augmentation = ""; c.gradClip = nil
            return (stage.name, c, PreTrainingStageScheme(session: session, term: k, stage: stage, config: c, identity: identity))
        }
    }
}

/// One pre-training stage of a multi-stage method (`PreTrainingStage`), run by `TrainingLoop`:
/// only the stage loss, over the stage's modules and the student parameters its scope allows.
/// Members: `student` and `moduleK` for the stage's modules; nothing is evaluated on test.
public final class PreTrainingStageScheme: TrainingScheme {
    public let kind: String
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public let evaluated = "student"
    public let identity: String
    let session: DistillationSession
    let term: Int
    let stage: PreTrainingStage

    init(session: DistillationSession, term: Int, stage: PreTrainingStage, config: TrainingConfig, identity: String) {
        self.session = session; self.term = term; self.stage = stage
        kind = "stage:\(stage.name)"
        self.identity = identity + " stage \(stage.name)"
        var ms = [SchemeMember(name: "student", module: session.student)]
        for (i, m) in stage.modules.enumerated() { ms.append(SchemeMember(name: "module\(i)", module: m)) }
        members = ms
        var params: [(path: String, parameter: Parameter)] = []
        for (i, m) in stage.modules.enumerated() { params += m.trainableParameters().map { ("module\(i).\($0.path)", $0.parameter) } }
        if stage.student != .frozen { params += session.student.trainableParameters().map { ("student.\($0.path)", $0.parameter) } }
        groups = [ParameterGroup(name: stage.name, parameters: params, optimizer: config.makeOptimizer(params),
                                 modules: [session.student] + stage.modules)]
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        let r = try session.run(batch, needsStudent: stage.needsStudent, needsTeacher: stage.needsTeacher)
        let loss = stage.loss(session.termBatch(term, r, batch))
        let value = loss.item
        defer { session.clearCaptures() }
        guard value.isFinite else { return StepOutput(loss: value, logits: nil) }
        try updater.update(groups[0], minimising: loss, context: context)
        return StepOutput(loss: value, logits: nil, terms: [(stage.name, value)])
    }
}
