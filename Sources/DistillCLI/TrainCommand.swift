import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import Distill
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a data set, with progress, a JSONL log and resumable checkpoints.")

    @Option(help: "Model spec, e.g. mlp:1200x1200,dropout=0.5 or resnet20 (see `distill models`).")
    var model = "mlp:1200x1200"
    @Option(help: "Data: fashion-mnist[:DIR], mnist:DIR, kmnist:DIR, cifar10:DIR, cifar100:DIR.")
    var data = "fashion-mnist"
    @Option(help: "Train on the first N training examples only.") var subset: Int?
    @Option var epochs = 10
    @Option(name: .customLong("batch-size")) var batchSize = 128
    @Option(help: "sgd, adam or adamw.") var optimizer = "sgd"
    @Option(name: .customLong("lr"), help: "Base learning rate.") var learningRate: Float = 0.05
    @Option var momentum: Float = 0.9
    @Flag var nesterov = false
    @Option(name: .customLong("weight-decay")) var weightDecay: Float = 5e-4
    @Option(help: "constant, cosine, step:EPOCHS[:GAMMA] or multistep:E1,E2[:GAMMA].") var schedule = "cosine"
    @Option(name: .customLong("warmup"), help: "Linear warm-up epochs.") var warmupEpochs = 0
    @Option(name: .customLong("augment"), help: "Augmentations, e.g. jitter:2 or crop:4,flip or mixup:0.2.") var augmentation = ""
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every"), help: "Also checkpoint every N steps (0: each epoch only).") var checkpointEvery = 0
    @Option(name: .customLong("grad-clip"), help: "Clip the global gradient norm of each step to this value.") var gradClip: Float?
    @Option(help: "Threads for the kernels (default: DISTILL_NUM_THREADS, OMP_NUM_THREADS or all cores).") var threads: Int?
    @Option(name: .customLong("out"), help: "Run directory.") var out = "runs/train"
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        try reportingErrors {
            if let t = threads {
                guard t >= 1 else { throw TrainingError.badValue(field: "threads", value: "\(t)", expected: "an integer ≥ 1") }
                Threads.set(t)
            }
            var c = TrainingConfig()
            c.model = model; c.data = data; c.subset = subset; c.epochs = epochs; c.batchSize = batchSize
            c.optimizer = optimizer; c.learningRate = learningRate; c.momentum = momentum; c.nesterov = nesterov
            c.weightDecay = weightDecay; c.schedule = schedule; c.warmupEpochs = warmupEpochs
            c.augmentation = augmentation; c.seed = seed; c.checkpointEvery = checkpointEvery; c.gradClip = gradClip
            try c.validate()
            let spec = try DataSpec(c.data)
            var trainSet = try spec.load(.train)
            if let n = c.subset { trainSet = trainSet.first(n) }
            let testSet = try spec.load(.test)
            let net = try ModelZoo.make(c.model, input: DataSpec.modelInput(for: trainSet), seed: c.seed)
            FileHandle.standardError.write(Data("training \(c.model) (\(net.parameterCount()) parameters) on \(spec) (\(trainSet.count) train / \(testSet.count) test) for \(c.epochs) epochs, \(Threads.count) threads\n".utf8))
            let trainer = try Trainer(config: c, model: net, train: trainSet, test: testSet, runDirectory: URL(fileURLWithPath: out))
            trainer.showProgress = !quiet
            let history = try trainer.run(resume: resume)
            let summary = try TrainingSummary.write(history: history, config: c, model: net, to: URL(fileURLWithPath: out), testCount: testSet.count)
            print(summary)
        }
    }
}
