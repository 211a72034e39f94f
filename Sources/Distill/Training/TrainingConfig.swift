import DistillCore
import DistillData
import DistillNN

/// Everything that determines a training run. The same config and thread count give the same
/// numbers; it is written to `config.json` in the run directory and checked on resume.
public struct TrainingConfig: Codable, Equatable, Sendable {
    /// Model spec for `ModelZoo.make` (`mlp:1200x1200,dropout=0.5`, `resnet20`, ...).
    public var model: String = "mlp:1200x1200"
    /// Data spec (`DataSpec`).
    public var data: String = "fashion-mnist"
    /// Train on the first N training examples only (nil: all).
    public var subset: Int? = nil
    public var epochs: Int = 10
    public var batchSize: Int = 128
    /// `sgd`, `adam`, `adamw`, or `dot[:DELTA]` (DOT's separate task and distillation momenta
    /// `momentum` ∓ DELTA, default 0.075; `DistillationOrientedTrainer`).
    public var optimizer: String = "sgd"
    public var learningRate: Float = 0.05
    public var momentum: Float = 0.9
    public var nesterov: Bool = false
    public var weightDecay: Float = 5e-4
    /// `constant`, `cosine`, `step:EVERY_EPOCHS[:GAMMA]` or `multistep:E1,E2,...[:GAMMA]` (epochs).
    public var schedule: String = "cosine"
    /// Linear warm-up epochs before the schedule (from lr/3, as PyTorch's LinearLR default).
    public var warmupEpochs: Int = 0
    /// Augmentation spec (`jitter:2`, `crop:4,flip`, `mixup:0.2`, ...; empty: none).
    public var augmentation: String = ""
    public var seed: UInt64 = 0
    /// Also checkpoint every N steps within an epoch (0: at the end of each epoch only).
    public var checkpointEvery: Int = 0
    /// Rescale the gradients of each step so their global L2 norm is at most this (PyTorch's
    /// `clip_grad_norm_`); nil: no clipping.
    public var gradClip: Float? = nil
    /// Label smoothing ε of the cross-entropy of supervised training (Szegedy et al. 2016; the
    /// teachers of Müller, Kornblith & Hinton 2019); nil: none (and absent from the config's JSON,
    /// so run keys of settings without it are unchanged).
    public var labelSmoothing: Float? = nil
    /// Hold out part of the training set (after `subset`) for validation: a fraction in (0, 1)
    /// (rounded to whole examples) or a whole number ≥ 1 of examples. The held-out rows are
    /// never trained on; per-epoch evaluation reads them, the best epoch on them is kept as
    /// `best.safetensors`, and the test set is read once, at the end, for the best and the last
    /// epoch. nil: no split (per-epoch evaluation reads the test set, and no epoch is chosen).
    public var valSplit: Double? = nil
    /// Seed of the permutation that picks the held-out rows (`Dataset.split(heldOut:seed:)`);
    /// nil: `seed`. Fix it to keep one validation set across the seeds of an experiment.
    public var valSeed: UInt64? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case model, data, subset, epochs, optimizer, momentum, nesterov, schedule, augmentation, seed
        case batchSize = "batch_size", learningRate = "learning_rate", weightDecay = "weight_decay"
        case warmupEpochs = "warmup_epochs", checkpointEvery = "checkpoint_every", gradClip = "grad_clip"
        case labelSmoothing = "label_smoothing", valSplit = "val_split", valSeed = "val_seed"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfig()
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? d.model
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? d.data
        subset = try c.decodeIfPresent(Int.self, forKey: .subset)
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        optimizer = try c.decodeIfPresent(String.self, forKey: .optimizer) ?? d.optimizer
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? d.momentum
        nesterov = try c.decodeIfPresent(Bool.self, forKey: .nesterov) ?? d.nesterov
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule) ?? d.schedule
        warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs) ?? d.warmupEpochs
        augmentation = try c.decodeIfPresent(String.self, forKey: .augmentation) ?? d.augmentation
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? d.checkpointEvery
        gradClip = try c.decodeIfPresent(Float.self, forKey: .gradClip)
        labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing)
        valSplit = try c.decodeIfPresent(Double.self, forKey: .valSplit)
        valSeed = try c.decodeIfPresent(UInt64.self, forKey: .valSeed)
    }

    /// Checks every field, naming the first that is wrong.
    public func validate() throws {
        func bad(_ f: String, _ v: Any, _ e: String) -> TrainingError { .badValue(field: f, value: "\(v)", expected: e) }
        guard (1...Limits.maxEpochs).contains(epochs) else { throw bad("epochs", epochs, "an integer in 1…\(Limits.maxEpochs)") }
        guard (1...Limits.maxBatchSize).contains(batchSize) else { throw bad("batch_size", batchSize, "an integer in 1…\(Limits.maxBatchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning_rate", learningRate, "a positive number") }
        guard momentum >= 0, momentum < 1 else { throw bad("momentum", momentum, "a number in [0, 1)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw bad("weight_decay", weightDecay, "a number ≥ 0") }
        guard ["sgd", "adam", "adamw"].contains(optimizer) || optimizer == "dot" || optimizer.hasPrefix("dot:") else {
            throw bad("optimizer", optimizer, "sgd, adam, adamw or dot[:DELTA]")
        }
        if let delta = try dotDelta() {
            guard momentum - delta >= 0, momentum + delta < 1, !nesterov else {
                throw bad("optimizer", optimizer, "dot:DELTA with momentum ± DELTA in [0, 1) (momentum is \(momentum)) and no Nesterov")
            }
        }
        guard warmupEpochs >= 0, warmupEpochs < epochs || warmupEpochs == 0 else { throw bad("warmup_epochs", warmupEpochs, "an integer in 0..<epochs") }
        guard checkpointEvery >= 0 else { throw bad("checkpoint_every", checkpointEvery, "an integer ≥ 0 (steps)") }
        if let s = subset, !(1...Limits.maxExamples).contains(s) { throw bad("subset", s, "an integer in 1…\(Limits.maxExamples)") }
        if let g = gradClip, !(g > 0 && g.isFinite) { throw bad("grad_clip", g, "a positive number (the largest gradient norm)") }
        if let e = labelSmoothing, !(e >= 0 && e < 1) { throw bad("label_smoothing", e, "a number in [0, 1)") }
        if let v = valSplit, !(v.isFinite && v > 0 && (v < 1 || (v == v.rounded() && v <= Double(Limits.maxExamples)))) {
            throw bad("val_split", v, "a fraction in (0, 1) or a whole number of examples (1…\(Limits.maxExamples)) to hold out of the training set for validation")
        }
        _ = try DataSpec(data)
        _ = try makeSchedule(stepsPerEpoch: 1)
        do { _ = try Augmentation.parse(augmentation) } catch { throw bad("augmentation", augmentation, "\(error)") }
    }

    /// DOT's Δ when the optimizer is `dot` (0.075, mdistiller's `SOLVER.DOT.DELTA`) or `dot:DELTA`;
    /// nil for the other optimizers. A DELTA that is not a number ≥ 0 is refused naming the field.
    public func dotDelta() throws -> Float? {
        guard optimizer == "dot" || optimizer.hasPrefix("dot:") else { return nil }
        guard optimizer != "dot" else { return 0.075 }
        guard let d = Float(optimizer.dropFirst(4)), d.isFinite, d >= 0 else {
            throw TrainingError.badValue(field: "optimizer", value: optimizer, expected: "dot or dot:DELTA with DELTA a number ≥ 0")
        }
        return d
    }

    /// The optimizer over `params`.
    public func makeOptimizer(_ params: [(path: String, parameter: Parameter)]) -> Optimizer {
        if let delta = try? dotDelta() {
            return DistillationOrientedTrainer(params, learningRate: learningRate, momentum: momentum, delta: delta, weightDecay: weightDecay)
        }
        switch optimizer {
        case "adam": return Adam(params, learningRate: learningRate, weightDecay: weightDecay)
        case "adamw": return Adam.adamW(params, learningRate: learningRate, weightDecay: weightDecay)
        default: return SGD(params, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        }
    }

    /// The learning-rate schedule per optimizer step.
    public func makeSchedule(stepsPerEpoch: Int) throws -> LearningRateSchedule {
        let total = epochs * stepsPerEpoch, warm = warmupEpochs * stepsPerEpoch
        let parts = schedule.split(separator: ":").map(String.init)
        let gamma = parts.count > 2 ? Float(parts[2]) : 0.1
        let inner: LearningRateSchedule
        switch parts.first ?? "" {
        case "constant": inner = ConstantSchedule(learningRate)
        case "cosine": inner = CosineSchedule(base: learningRate, totalSteps: max(total - warm, 1))
        case "step":
            guard parts.count >= 2, let every = Int(parts[1]), (1...Limits.maxEpochs).contains(every), let g = gamma, g.isFinite, g > 0 else {
                throw TrainingError.badValue(field: "schedule", value: schedule, expected: "step:EVERY_EPOCHS[:GAMMA]")
            }
            inner = StepSchedule(base: learningRate, stepSize: every * stepsPerEpoch, gamma: g)
        case "multistep":
            let ms = parts.count >= 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) } : []
            guard !ms.isEmpty, ms.allSatisfy({ (1...Limits.maxEpochs).contains($0 ?? 0) }), let g = gamma, g.isFinite, g > 0 else {
                throw TrainingError.badValue(field: "schedule", value: schedule, expected: "multistep:E1,E2,...[:GAMMA] with epochs in 1…\(Limits.maxEpochs) and GAMMA > 0")
            }
            guard zip(ms, ms.dropFirst()).allSatisfy({ $0.0! < $0.1! }) else {
                throw TrainingError.badValue(field: "schedule", value: schedule, expected: "multistep milestones in increasing order, e.g. multistep:30,60")
            }
            inner = MultiStepSchedule(base: learningRate, milestones: ms.map { $0! * stepsPerEpoch }, gamma: g)
        default:
            throw TrainingError.badValue(field: "schedule", value: schedule, expected: "constant, cosine, step:N[:GAMMA] or multistep:E1,E2[:GAMMA]")
        }
        return warm > 0 ? ShiftedWarmup(inner: inner, warmupSteps: warm, base: learningRate) : inner
    }
}

/// Linear warm-up from base/3 to base over `warmupSteps`, then `inner` restarted at step 0.
struct ShiftedWarmup: LearningRateSchedule {
    let inner: LearningRateSchedule
    let warmupSteps: Int
    let base: Float
    func learningRate(at t: Int) -> Float {
        if t < warmupSteps { return base * (1.0 / 3.0 + (2.0 / 3.0) * Float(t) / Float(warmupSteps)) }
        return inner.learningRate(at: t - warmupSteps)
    }
}
