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
    @Option(help: "Data: fashion-mnist[:DIR], mnist:DIR, kmnist:DIR, cifar10:DIR, cifar100:DIR, or your own: folder:DIR (train/ and test/, a sub-folder of PNG/JPEG images per class), npz:FILE.npz, npy:DIR, csv:DIR (README, \"Your own data\").")
    var data = "fashion-mnist"
    @Option(help: "Train on the first N training examples only.") var subset: Int?
    @OptionGroup var training: TrainingOptions
    @Option(name: .customLong("out"), help: "Run directory.") var out = "runs/train"
    @Flag(help: "Continue the run in --out from its last checkpoint (with a raised --epochs, also a finished run).") var resume = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        try reportingErrors {
            let parallel = try Distributed.start(threadsGiven: training.threads != nil)
            let c = try training.config(model: model, data: data, subset: subset)
            let writer = parallel?.isWriter ?? true
            let spec = try DataSpec(c.data)
            var trainSet = try spec.load(.train)
            if let n = c.subset { trainSet = trainSet.first(n) }
            let testSet = try spec.load(.test)
            let net = try ModelZoo.make(c.model, input: DataSpec.modelInput(for: trainSet), seed: c.seed)
            if writer { FileHandle.standardError.write(Data("training \(c.model) (\(net.parameterCount()) parameters) on \(spec) (\(trainSet.count) train\(validationNote(c, trainSet.count)) / \(testSet.count) test) for \(c.epochs) epochs, \(parallel.map { "\($0.size) processes × " } ?? "")\(Threads.count) threads\n".utf8)) }
            let trainer = try TrainingLoop(config: c, scheme: SupervisedScheme(model: net, spec: c.model, config: c), train: trainSet, test: testSet,
                                           runDirectory: URL(fileURLWithPath: out))
            trainer.showProgress = !quiet
            trainer.parallel = parallel
            trainer.allowsMoreEpochs = true   // --resume with a raised --epochs continues the run
            let history = try trainer.run(resume: resume)
            guard writer else { return }
            let summary = try TrainingSummary.write(history: history, config: c, model: net, to: URL(fileURLWithPath: out), testCount: testSet.count,
                                                    best: trainer.best)
            print(summary)
        }
    }
}

/// ", of which N held out for validation" when the config splits the training set.
func validationNote(_ c: TrainingConfig, _ count: Int) -> String {
    (try? c.validationCount(of: count)).flatMap { $0 }.map { ", of which \($0) held out for validation" } ?? ""
}
