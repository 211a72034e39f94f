import DistillCore
import DistillData
import DistillNN

/// Where a training step stands, as the loop tells a scheme.
public struct StepContext: Sendable {
    /// Completed epochs (0-based epoch of this step).
    public var epoch: Int
    /// Optimizer steps taken before this one, over the whole run.
    public var step: Int
    /// Index of this batch within its epoch.
    public var batch: Int
    /// Batches per epoch.
    public var stepsPerEpoch: Int
    /// Epochs of the whole run.
    public var epochs: Int
    /// The learning rate the schedule gives this step (already set on every optimizer).
    public var learningRate: Float

    public init(epoch: Int, step: Int, batch: Int, stepsPerEpoch: Int, epochs: Int, learningRate: Float) {
        self.epoch = epoch; self.step = step; self.batch = batch
        self.stepsPerEpoch = stepsPerEpoch; self.epochs = epochs; self.learningRate = learningRate
    }

    /// Progress through the run in [0, 1): (steps taken) / (total steps).
    public var progress: Double { Double(step) / Double(max(stepsPerEpoch * epochs, 1)) }
}

/// What one step reports back to the loop (plain numbers; the tape is gone by then).
public struct StepOutput {
    /// The step's total loss (for the epoch mean and the non-finite check).
    public var loss: Float
    /// Logits of the evaluated member on this batch (train accuracy); nil: not counted.
    public var logits: Tensor?
    /// Each named term's value this step (the objective's terms, or each member's loss).
    public var terms: [(name: String, value: Float)]

    public init(loss: Float, logits: Tensor?, terms: [(name: String, value: Float)] = []) {
        self.loss = loss; self.logits = logits; self.terms = terms
    }
}

/// A network a scheme trains (or holds), named: its state is checkpointed under `NAME.` and,
/// when exported, written to `NAME.safetensors` (`model.safetensors` for the member named by
/// `TrainingScheme.evaluated`).
public struct SchemeMember {
    public var name: String
    public var module: Module
    /// Model spec, recorded in the exported file's metadata (nil: not a zoo model, e.g. an adapter).
    public var spec: String?
    /// Whether the member is written out as a model file after each epoch.
    public var exported: Bool

    public init(name: String, module: Module, spec: String? = nil, exported: Bool = false) {
        self.name = name; self.module = module; self.spec = spec; self.exported = exported
    }
}

/// One optimizer and the parameters it updates, checkpointed under `optimizer.NAME.` (the name
/// is omitted for a scheme's only group, so single-network checkpoints keep PyTorch-like keys).
public final class ParameterGroup {
    public let name: String
    public let parameters: [(path: String, parameter: Parameter)]
    public let optimizer: Optimizer
    /// Modules whose gradients are cleared before each backward pass of this group.
    public let modules: [Module]

    public init(name: String, parameters: [(path: String, parameter: Parameter)], optimizer: Optimizer, modules: [Module]) {
        self.name = name; self.parameters = parameters; self.optimizer = optimizer; self.modules = modules
    }

    /// A group over every trainable parameter of `members` (paths `MEMBER.PATH`), with the
    /// optimizer that `config` names.
    public convenience init(name: String, members: [SchemeMember], config: TrainingConfig) {
        let params = members.flatMap { m in m.module.trainableParameters().map { (path: "\(m.name).\($0.path)", parameter: $0.parameter) } }
        self.init(name: name, parameters: params, optimizer: config.makeOptimizer(params), modules: members.map(\.module))
    }
}

/// Backward and update for a scheme's step, with the loop's hooks in place: gradients are
/// cleared, the loss is differentiated, the after-backward hooks run (the scheme's, then the
/// loop's, e.g. a gradient all-reduce), gradients are clipped as configured, and the group's
/// optimizer steps. A scheme calls it once per group it updates, in the order its method says.
public final class StepUpdater {
    let gradClip: Float?
    let scheme: TrainingScheme
    /// Extra hooks after backward, before the update (distributed training adds its all-reduce).
    public var afterBackward: [(ParameterGroup) throws -> Void] = []

    /// The updater `TrainingLoop` gives every step; build one yourself to run a scheme's step
    /// outside the loop (benchmarks, tests).
    public init(scheme: TrainingScheme, gradClip: Float? = nil) {
        self.scheme = scheme; self.gradClip = gradClip
    }

    /// Differentiates `loss` and updates `group` from the gradients.
    public func update(_ group: ParameterGroup, minimising loss: Tensor, context: StepContext) throws {
        try update([group], minimising: loss, context: context)
    }

    /// Differentiates `loss` once and updates each of `groups` from its gradients (groups whose
    /// losses share no parameters, summed: the same gradients as one backward pass each).
    /// Gradients are clipped per group, as separate `clip_grad_norm_` calls would.
    /// `retainGraph` keeps the graph for a second backward pass, and `step: false` stops before
    /// the optimizer step (DOT captures the distillation gradients there).
    public func update(_ groups: [ParameterGroup], minimising loss: Tensor, context: StepContext,
                       retainGraph: Bool = false, step: Bool = true) throws {
        for g in groups { for m in g.modules { m.zeroGradients() } }
        loss.backward(retainGraph: retainGraph)
        for group in groups {
            try scheme.afterBackward(group, context: context)
            for hook in afterBackward { try hook(group) }
            if let maxNorm = gradClip { Gradients.clip(group.parameters.map(\.parameter), maxNorm: maxNorm) }
            if step { group.optimizer.step() }
        }
    }
}

/// A way to train: its networks as named members, their optimizers, one step, hooks after
/// backward and after the update, its own state, and what is evaluated and exported.
/// `TrainingLoop` runs any scheme and owns only resume, checkpoints, logs, evaluation and progress.
///
/// Contract:
/// - `members` and `groups` are fixed once the scheme is built (checkpoints are keyed by them).
/// - `step` runs the forward pass(es), the loss(es), and calls `updater.update` for each group
///   it updates; it returns the loss value and the terms to log. A non-finite loss must not be
///   applied: return it, and the loop stops with the last good checkpoint.
/// - `afterUpdate` runs once after every step (EMA teachers update there).
/// - `state` holds what is neither a member nor an optimizer (EMA weights, memory banks);
///   `randomSources` every generator the scheme owns beyond its members' modules.
public protocol TrainingScheme: AnyObject {
    /// Registry name (`supervised`, `offline`, `mutual-learning`, ...).
    var kind: String { get }
    var members: [SchemeMember] { get }
    var groups: [ParameterGroup] { get }
    /// The member evaluated on the test split after each epoch and written as `model.safetensors`.
    var evaluated: String { get }
    /// What defines the scheme besides the training config (methods, teacher, options): a
    /// checkpoint written under another identity is not resumed.
    var identity: String { get }
    func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput
    func afterBackward(_ group: ParameterGroup, context: StepContext) throws
    func afterUpdate(context: StepContext) throws
    var state: [String: Tensor] { get }
    func loadState(_ state: [String: Tensor]) throws
    var randomSources: [String: RandomStateOwner] { get }
    /// Extra per-epoch measurements of the scheme (peer agreement, say), logged with the epoch.
    func epochMetrics() throws -> [String: Double]
}

extension TrainingScheme {
    public func afterBackward(_ group: ParameterGroup, context: StepContext) throws {}
    public func afterUpdate(context: StepContext) throws {}
    public var state: [String: Tensor] { [:] }
    public func loadState(_ state: [String: Tensor]) throws {}
    public var randomSources: [String: RandomStateOwner] { [:] }
    public func epochMetrics() throws -> [String: Double] { [:] }

    /// The member called `name` (precondition: it exists).
    public func member(_ name: String) -> SchemeMember {
        guard let m = members.first(where: { $0.name == name }) else {
            preconditionFailure("scheme \(kind) has no member '\(name)'; members: \(members.map(\.name))")
        }
        return m
    }
}

/// Gradient utilities shared by every scheme.
public enum Gradients {
    /// Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of all of them
    /// together (PyTorch's `clip_grad_norm_`); returns that norm.
    @discardableResult
    public static func clip(_ params: [Parameter], maxNorm: Float) -> Float {
        var sq = 0.0
        for p in params {
            guard let g = p.gradient else { continue }
            let gp = g.storage.pointer
            for i in 0..<g.count { sq += Double(gp[i]) * Double(gp[i]) }
        }
        let norm = Float(sq.squareRoot())
        let scale = maxNorm / (norm + 1e-6)
        if scale < 1 { for p in params { p.scaleGradient(by: scale) } }
        return norm
    }
}
