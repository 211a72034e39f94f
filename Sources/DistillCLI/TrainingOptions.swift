import ArgumentParser
import DistillCore
import Distill

/// The training options every command that trains shares (`distill train`, `distill distill`):
/// one set of flags, one set of defaults (`TrainingConfig`'s), one validation.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Epochs of training.") var epochs = 10
    @Option(name: .customLong("batch-size")) var batchSize = 128
    @Option(help: "sgd, adam, adamw or dot[:DELTA] (DOT: task and distillation momenta momentum ∓ DELTA, default 0.075).") var optimizer = "sgd"
    @Option(name: .customLong("lr"), help: "Base learning rate.") var learningRate: Float = 0.05
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(name: .customLong("weight-decay")) var weightDecay: Float = 5e-4
    @Option(help: "constant, cosine, step:EPOCHS[:GAMMA] or multistep:E1,E2[:GAMMA].") var schedule = "cosine"
    @Option(name: .customLong("warmup"), help: "Linear warm-up epochs.") var warmupEpochs = 0
    @Option(name: .customLong("augment"), help: "Augmentations, e.g. jitter:2 or crop:4,flip or mixup:0.2.") var augmentation = ""
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every"), help: "Also checkpoint every N steps (0: each epoch only).") var checkpointEvery = 0
    @Option(name: .customLong("grad-clip"), help: "Clip the global gradient norm of each step to this value.") var gradClip: Float?
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε of the cross-entropy of supervised training (distill train).") var labelSmoothing: Float?
    @Option(name: .customLong("val-split"), help: ArgumentHelp(
        "Hold out this fraction (0 < f < 1) or number (≥ 1) of training examples for validation.",
        discussion: "The held-out rows (chosen by --val-seed, default --seed; after --subset) are never trained on. Each epoch is evaluated on them, the best epoch (highest validation accuracy) is kept as best.safetensors, and the test set is read once, at the end, for the best and the last epoch. Without a split each epoch is evaluated on the test set and no epoch is chosen: choosing one on test would make its test accuracy a biased estimate."))
    var valSplit: Double?
    @Option(name: .customLong("val-seed"), help: "Seed of the validation split (default: --seed).") var valSeed: UInt64?
    @Option(help: "Threads for the kernels (default: DISTILL_NUM_THREADS, OMP_NUM_THREADS or all cores).") var threads: Int?

    /// The validated training config of `model` on `data`; sets the thread count.
    func config(model: String, data: String, subset: Int? = nil) throws -> TrainingConfig {
        try OptionValues.setThreads(threads)
        var c = TrainingConfig()
        c.model = model; c.data = data; c.subset = subset; c.epochs = epochs; c.batchSize = batchSize
        c.optimizer = optimizer; c.learningRate = learningRate; c.momentum = momentum; c.nesterov = nesterov
        c.weightDecay = weightDecay; c.schedule = schedule; c.warmupEpochs = warmupEpochs
        c.augmentation = augmentation; c.seed = seed; c.checkpointEvery = checkpointEvery; c.gradClip = gradClip
        c.labelSmoothing = labelSmoothing; c.valSplit = valSplit; c.valSeed = valSeed
        try c.validate()
        return c
    }
}
