import DistillCore
import DistillData
import DistillNN
import Foundation

/// One epoch's summary, as logged.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var testNLL: Double
    public var learningRate: Double
    public var seconds: Double
    /// Agreement and KL with the teacher after this epoch (distillation runs that track them).
    public var fidelity: FidelityPoint? = nil
}

/// Trains a model with checkpoints that survive a kill.
///
/// The run directory holds `config.json`, `log.jsonl` (one record per epoch and per checkpoint),
/// `checkpoint.safetensors` (the full resumable state, written atomically at the end of every
/// epoch and every `checkpointEvery` steps), `model.safetensors` (the model alone, PyTorch names,
/// with its spec in the metadata) and, at the end, `metrics.json`. Resuming restores the model,
/// adapters, optimizer state, schedule position, epoch, batch position, running sums and dropout
/// generators; data order and augmentation depend only on (seed, epoch, batch), so a resumed run
/// continues with the same numbers as an uninterrupted one (same thread count).
public final class Trainer {
    /// Computes the training loss and the model's logits for one batch.
    public typealias LossFunction = (Batch) throws -> (loss: Tensor, logits: Tensor)

    public let config: TrainingConfig
    public let model: Module
    public let adapters: [Module]
    public let train: Dataset
    public let test: Dataset?
    public let runDirectory: URL
    public var lossFunction: LossFunction
    /// Extra state saved with checkpoints (memory banks, cached targets), keyed by name.
    public var extraState: (save: () -> [String: Tensor], load: ([String: Tensor]) throws -> Void)?
    /// Called before each step with its epoch (0-based), e.g. for losses that warm up.
    public var beforeStep: ((_ epoch: Int) -> Void)?
    /// Called after each epoch with its record (reports, tests).
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Measured after each epoch and kept in its record (fidelity to a teacher).
    public var measureEpoch: (() throws -> FidelityPoint)?
    /// Print a progress bar on standard error.
    public var showProgress = true
    /// What else defines the run besides `config` (the distillation objective and teacher): a
    /// checkpoint written under another identity is not resumed.
    public var identity = ""


    public private(set) var history: [EpochRecord] = []

    public init(config: TrainingConfig, model: Module, adapters: [Module] = [], train: Dataset, test: Dataset?,
                runDirectory: URL, lossFunction: LossFunction? = nil) throws {
        try config.validate()
        self.config = config; self.model = model; self.adapters = adapters
        self.train = train; self.test = test; self.runDirectory = runDirectory
        self.lossFunction = lossFunction ?? { batch in
            let logits = model(batch.images)
            return (Trainer.supervisedLoss(logits: logits, batch: batch), logits)
        }
    }

    /// Cross-entropy with the batch labels; with mixup, λ·CE(y) + (1 − λ)·CE(y_partner).
    public static func supervisedLoss(logits: Tensor, batch: Batch) -> Tensor {
        let ce = crossEntropy(logits: logits, labels: batch.labels)
        guard let mix = batch.mixing else { return ce }
        return ce * mix.lambda + crossEntropy(logits: logits, labels: mix.partnerLabels) * (1 - mix.lambda)
    }

    /// Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the L2 norm of all of them
    /// together (PyTorch's `clip_grad_norm_`); returns that norm.
    @discardableResult
    public static func clipGradients(_ params: [Parameter], maxNorm: Float) -> Float {
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

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint.safetensors").path }
    var modelPath: String { runDirectory.appendingPathComponent("model.safetensors").path }

    private var trainedParameters: [(path: String, parameter: Parameter)] {
        model.trainableParameters() + adapters.enumerated().flatMap { i, a in
            a.trainableParameters().map { (path: "adapter\(i).\($0.path)", parameter: $0.parameter) }
        }
    }

    private func configJSON() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let c = String(decoding: try enc.encode(config), as: UTF8.self)
        return identity.isEmpty ? c : c + " " + identity
    }

    /// Throws when the run directory holds a checkpoint written under other settings (another
    /// configuration, objective or teacher), so that neither a resumed nor a finished run is
    /// taken for the one asked for.
    public func checkExistingRun() throws {
        guard FileManager.default.fileExists(atPath: checkpointPath) else { return }
        try checkSameRun(try TrainingCheckpoint.read(from: checkpointPath), try configJSON())
    }

    private func checkSameRun(_ ck: TrainingCheckpoint, _ cfg: String) throws {
        guard ck.configJSON == cfg else {
            throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "was written by a run with a different configuration (\(ck.configJSON)), not this one (\(cfg)); run with the same settings or use another output directory")
        }
    }

    /// Runs (or, with `resume`, continues) training; returns the per-epoch history.
    @discardableResult
    public func run(resume: Bool = false) throws -> [EpochRecord] {
        let fm = FileManager.default
        try fm.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let augmentation = config.augmentation.isEmpty ? nil : try Augmentation.parse(config.augmentation)
        let evalTransform = Evaluation.evaluationTransform(of: augmentation)
        let loader = try DataLoader(dataset: train, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                                    augmentation: augmentation)
        let perEpoch = loader.batchesPerEpoch
        let schedule = try config.makeSchedule(stepsPerEpoch: perEpoch)
        let optimizer = config.makeOptimizer(trainedParameters)
        let cfg = try configJSON()

        var epoch = 0, batchIndex = 0, step = 0, lossSum = 0.0, correct = 0, seen = 0, priorSeconds = 0.0
        let hasCheckpoint = fm.fileExists(atPath: checkpointPath)
        if resume && hasCheckpoint {
            let ck = try TrainingCheckpoint.read(from: checkpointPath)
            try checkSameRun(ck, cfg)
            do {
                try model.loadStateDict(ck.tensors(under: "model"))
                for (i, a) in adapters.enumerated() { try a.loadStateDict(ck.tensors(under: "adapter\(i)")) }
                try optimizer.loadStateDict(ck.tensors(under: "optimizer"))
                try model.loadDropoutStates(ck.dropout)
                try extraState?.load(ck.tensors(under: "extra"))
            } catch {
                throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "does not fit this model: \(error)")
            }
            (epoch, batchIndex, step, lossSum, correct, seen, priorSeconds) = (ck.epoch, ck.batch, ck.step, ck.lossSum, ck.correct, ck.seen, ck.seconds)
            history = ck.history
        } else if hasCheckpoint && !resume {
            throw TrainingError.runDirectory(path: runDirectory.path, detail: "already holds a checkpoint; pass --resume to continue it or choose another output directory")
        } else {
            try Data(cfg.utf8).write(to: runDirectory.appendingPathComponent("config.json"), options: .atomic)
        }
        let log = try JSONLLog(url: runDirectory.appendingPathComponent("log.jsonl"))
        let start = ProgressBar.now()
        var lastCheckpoint: String? = hasCheckpoint ? checkpointPath : nil

        func saveCheckpoint(epoch e: Int, batch b: Int) throws {
            var tensors: [String: Tensor] = [:]
            for (k, v) in model.stateDict() { tensors["model." + k] = v }
            for (i, a) in adapters.enumerated() { for (k, v) in a.stateDict() { tensors["adapter\(i)." + k] = v } }
            for (k, v) in optimizer.stateDict() { tensors["optimizer." + k] = v }
            for (k, v) in extraState?.save() ?? [:] { tensors["extra." + k] = v }
            let ck = TrainingCheckpoint(epoch: e, batch: b, step: step, lossSum: lossSum, correct: correct, seen: seen,
                                        seconds: priorSeconds + ProgressBar.now() - start, configJSON: cfg,
                                        tensors: tensors, dropout: model.dropoutStates(), history: history)
            try ck.write(to: checkpointPath)
            lastCheckpoint = checkpointPath
            try log.write(["event": "checkpoint", "epoch": e, "batch": b, "step": step])
        }

        model.train()
        for a in adapters { a.train() }
        while epoch < config.epochs {
            let bar = showProgress ? ProgressBar(label: "epoch \(epoch + 1)/\(config.epochs)", total: perEpoch, plainEvery: max(perEpoch / 4, 1)) : nil
            var iterator = loader.batches(epoch: epoch, startingAt: batchIndex)
            while let batch = iterator.next() {
                optimizer.learningRate = schedule.learningRate(at: step)
                beforeStep?(epoch)
                let (loss, logits) = try lossFunction(batch)
                let value = loss.item
                guard value.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, value: value, checkpoint: lastCheckpoint)
                }
                model.zeroGradients()
                for a in adapters { a.zeroGradients() }
                loss.backward()
                if let maxNorm = config.gradClip { Trainer.clipGradients(trainedParameters.map(\.parameter), maxNorm: maxNorm) }
                optimizer.step()
                step += 1
                batchIndex += 1
                let n = batch.labels.count
                lossSum += Double(value) * Double(n)
                seen += n
                let predicted = logits.argmax(alongAxis: 1).scalars
                for (p, y) in zip(predicted, batch.labels.scalars) where p == y { correct += 1 }
                bar?.update(step: batchIndex, items: n, metrics: [("loss", lossSum / Double(max(seen, 1))), ("acc", Double(correct) / Double(max(seen, 1)))])
                if config.checkpointEvery > 0 && step % config.checkpointEvery == 0 && batchIndex < perEpoch {
                    try saveCheckpoint(epoch: epoch, batch: batchIndex)
                }
            }
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                                     testAccuracy: .nan, testNLL: .nan, learningRate: Double(optimizer.learningRate), seconds: 0)
            if let test {
                let logits = try Evaluation.logits(of: model, on: test, transform: evalTransform)
                let m = ClassificationSummary(logits: logits, labels: test.labels)
                record.testAccuracy = m.accuracy
                record.testNLL = m.nll
            }
            record.fidelity = try measureEpoch?()
            epoch += 1
            batchIndex = 0
            lossSum = 0; correct = 0; seen = 0
            record.seconds = priorSeconds + ProgressBar.now() - start
            history.append(record)
            try saveCheckpoint(epoch: epoch, batch: 0)
            try model.save(to: modelPath, metadata: ["model": config.model, "data": config.data])
            try log.write(["event": "epoch", "epoch": record.epoch, "train_loss": record.trainLoss, "train_accuracy": record.trainAccuracy,
                           "test_accuracy": record.testAccuracy.isNaN ? NSNull() : record.testAccuracy,
                           "test_nll": record.testNLL.isNaN ? NSNull() : record.testNLL,
                           "learning_rate": record.learningRate, "seconds": record.seconds])
            onEpoch?(record)
            if showProgress, let t = test {
                FileHandle.standardError.write(Data(String(format: "epoch %d: train loss %.4f  train acc %.4f  test acc %.4f (%d errors of %d)  test NLL %.4f\n",
                    record.epoch + 1, record.trainLoss, record.trainAccuracy, record.testAccuracy,
                    Int((1 - record.testAccuracy) * Double(t.count) + 0.5), t.count, record.testNLL).utf8))
            }
        }
        return history
    }
}

/// Accuracy and mean negative log-likelihood of logits against labels (rows labelled −1 skipped).
public struct ClassificationSummary: Codable, Equatable, Sendable {
    public var accuracy: Double
    public var nll: Double
    public var count: Int

    public init(logits: Tensor, labels: IntTensor) {
        accuracy = Metrics.accuracy(logits: logits, labels: labels)
        nll = Metrics.negativeLogLikelihood(logits: logits, labels: labels)
        count = labels.scalars.filter { $0 >= 0 }.count
    }
}
