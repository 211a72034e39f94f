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
    /// The epoch mean of each loss term (example-weighted, like `trainLoss`), by term name.
    public var terms: [String: Double]? = nil
    /// The scheme's own measurements after this epoch (each member's test accuracy, say).
    public var scheme: [String: Double]? = nil
}

/// The version of what a finished run writes (checkpoints, metrics, the meaning of the numbers in
/// them). Bump it whenever a loss, a metric or a training step changes its numbers: a finished
/// run written under another version is not reused, so `make run` never shows stale results.
public enum ResultFormat {
    public static let version = 2
}

/// Runs any `TrainingScheme` with checkpoints that survive a kill.
///
/// The run directory holds `config.json`, `log.jsonl` (one record per epoch, with each loss
/// term's mean, and per checkpoint), `checkpoint.safetensors` (the full resumable state: every
/// member under `NAME.`, every optimizer under `optimizer.[GROUP.]`, the scheme's state under
/// `extra.`, and in the metadata the counters, running sums and every random generator; written
/// atomically at the end of each epoch and every `checkpointEvery` steps), `model.safetensors`
/// (the evaluated member, PyTorch names, its spec in the metadata) and `NAME.safetensors` for the
/// other exported members. Data order and augmentation depend only on (seed, epoch, batch), so a
/// resumed run continues with the same numbers as an uninterrupted one (same thread count).
///
/// The loop knows no method: it sets each step's learning rate, calls the scheme's step, checks
/// the loss is finite, calls `afterUpdate`, counts, logs, evaluates and checkpoints.
public final class TrainingLoop {
    public let config: TrainingConfig
    public let scheme: TrainingScheme
    public let train: Dataset
    public let test: Dataset?
    public let runDirectory: URL
    /// Called after each epoch with its record (reports, tests).
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Measured on the evaluated member after each epoch and kept in its record (fidelity).
    public var measureEpoch: ((Module) throws -> FidelityPoint)?
    /// Hooks after every backward pass, before the update (a gradient all-reduce).
    public var afterBackward: [(ParameterGroup) throws -> Void] = []
    /// Print a progress bar on standard error.
    public var showProgress = true
    /// Evaluate the evaluated member on `test` after each epoch (stages that only pre-train skip it).
    public var evaluates = true
    /// The label of the progress bar (`epoch`, or a pre-training stage's name).
    public var label = "epoch"
    /// What defines the training data beyond the config (label noise, say): part of the settings
    /// checked on resume and reuse, so a run on other data is not taken for this one.
    public var dataIdentity = ""
    /// Also write the evaluated member after every epoch K to `epochs/epoch-K.safetensors` (the
    /// per-epoch teacher checkpoints of the early-stopping studies).
    public var keepsEpochSnapshots = false

    public private(set) var history: [EpochRecord] = []

    public init(config: TrainingConfig, scheme: TrainingScheme, train: Dataset, test: Dataset?, runDirectory: URL) throws {
        try config.validate()
        try train.checkTrainable(against: test)
        let names = scheme.members.map(\.name)
        guard Set(names).count == names.count, !names.contains(where: { $0.isEmpty || $0.contains(".") }) else {
            throw TrainingError.badValue(field: "scheme.members", value: names.joined(separator: ", "), expected: "distinct names without '.'")
        }
        guard names.contains(scheme.evaluated) else {
            throw TrainingError.badValue(field: "scheme.evaluated", value: scheme.evaluated, expected: "one of the members \(names)")
        }
        self.config = config; self.scheme = scheme; self.train = train; self.test = test; self.runDirectory = runDirectory
    }

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint.safetensors").path }
    var modelPath: String { runDirectory.appendingPathComponent("model.safetensors").path }

    /// The configuration, scheme and identity as one string, checked on resume and reuse.
    func configJSON() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let c = String(decoding: try enc.encode(config), as: UTF8.self)
        let id = scheme.identity
        let withScheme = id.isEmpty ? c : c + " " + id
        return dataIdentity.isEmpty ? withScheme : withScheme + " data " + dataIdentity
    }

    /// Where the snapshot of the evaluated member after epoch `epoch` (1-based) is written.
    public static func epochSnapshotPath(in dir: URL, epoch: Int) -> String {
        dir.appendingPathComponent("epochs/epoch-\(epoch).safetensors").path
    }

    /// Throws when the run directory holds a checkpoint written under other settings (another
    /// configuration, scheme, objective or teacher: `checkpointMismatch`) or by another result
    /// format (`staleRun`), so that neither a resumed nor a finished run is taken for the one asked for.
    public func checkExistingRun() throws {
        guard FileManager.default.fileExists(atPath: checkpointPath) else { return }
        try checkSameRun(try TrainingCheckpoint.read(from: checkpointPath), try configJSON())
    }

    private func checkSameRun(_ ck: TrainingCheckpoint, _ cfg: String) throws {
        guard ck.resultFormat == ResultFormat.version else {
            throw TrainingError.staleRun(path: runDirectory.path, found: ck.resultFormat, expected: ResultFormat.version)
        }
        guard ck.configJSON == cfg else {
            throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "was written by a run with a different configuration (\(ck.configJSON)), not this one (\(cfg)); run with the same settings or use another output directory")
        }
    }

    private func groupPrefix(_ g: ParameterGroup) -> String {
        scheme.groups.count == 1 ? "optimizer" : "optimizer.\(g.name)"
    }

    private func randomStates() -> [String: [UInt64]] {
        var out: [String: [UInt64]] = [:]
        for m in scheme.members { for (k, v) in m.module.randomStates() { out[k.isEmpty ? m.name : "\(m.name).\(k)"] = v } }
        for (k, r) in scheme.randomSources { out["scheme:\(k)"] = r.generatorState }
        return out
    }

    private func loadRandomStates(_ states: [String: [UInt64]]) throws {
        let sources = scheme.randomSources
        var perMember: [String: [String: [UInt64]]] = [:]
        for (key, s) in states {
            if key.hasPrefix("scheme:") {
                let name = String(key.dropFirst("scheme:".count))
                guard let r = sources[name] else {
                    throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "holds the state of generator '\(name)', which this scheme does not have (it has \(sources.keys.sorted()))")
                }
                r.generatorState = s
                continue
            }
            let member = key.split(separator: ".", maxSplits: 1).map(String.init)
            perMember[member[0], default: [:]][member.count > 1 ? member[1] : ""] = s
        }
        for (name, s) in perMember {
            guard let m = scheme.members.first(where: { $0.name == name }) else {
                throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "holds generator states of member '\(name)', which this scheme does not have")
            }
            try m.module.loadRandomStates(s)
        }
    }

    /// The metadata of every model file the loop writes (`ModelFile.metadata`, and the epoch of a snapshot).
    func modelFileMetadata(for member: SchemeMember, epoch: Int?) -> [String: String] {
        var meta = ModelFile.metadata(spec: member.spec ?? config.model, data: config.data, dataset: train)
        if let epoch { meta["epoch"] = "\(epoch)" }
        return meta
    }

    /// Writes the evaluated member to `model.safetensors` and the other exported ones to `NAME.safetensors`.
    func exportMembers() throws {
        for m in scheme.members where m.exported || m.name == scheme.evaluated {
            let path = m.name == scheme.evaluated ? modelPath : runDirectory.appendingPathComponent("\(m.name).safetensors").path
            try m.module.save(to: path, metadata: modelFileMetadata(for: m, epoch: nil))
        }
    }

    /// Runs (or, with `resume`, continues) training; returns the per-epoch history.
    @discardableResult
    public func run(resume: Bool = false) throws -> [EpochRecord] {
        let fm = FileManager.default
        try fm.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        AtomicFile.removeStaleTemporaries(in: runDirectory.path)   // what a kill in the middle of a write left
        // the normalisation belongs to the models (they apply it, and their files record it); the
        // loader's steps run on pixels in [0, 1]
        let (augmentation, normalization) = try Evaluation.splitNormalization(
            config.augmentation.isEmpty ? nil : try Augmentation.parse(config.augmentation), channels: train.imageShape[0])
        if let normalization {
            for m in scheme.members where m.spec != nil || m.name == scheme.evaluated { m.module.inputNormalization = normalization }
        }
        let loader = try DataLoader(dataset: train, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                                    augmentation: augmentation)
        let perEpoch = loader.batchesPerEpoch
        let schedule = try config.makeSchedule(stepsPerEpoch: perEpoch)
        let cfg = try configJSON()
        let evaluated = scheme.member(scheme.evaluated).module
        let updater = StepUpdater(scheme: scheme, gradClip: config.gradClip)
        updater.afterBackward = afterBackward

        var epoch = 0, batchIndex = 0, step = 0, sums = RunningSums(), priorSeconds = 0.0
        let hasCheckpoint = fm.fileExists(atPath: checkpointPath)
        if resume && hasCheckpoint {
            let ck = try TrainingCheckpoint.read(from: checkpointPath)
            try checkSameRun(ck, cfg)
            do {
                for m in scheme.members { try m.module.loadStateDict(ck.tensors(under: m.name)) }
                for g in scheme.groups { try g.optimizer.loadStateDict(ck.tensors(under: groupPrefix(g))) }
                try loadRandomStates(ck.random)
                try scheme.loadState(ck.tensors(under: "extra"))
            } catch let e as TrainingError {
                throw e
            } catch {
                throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "does not fit this scheme: \(error)")
            }
            (epoch, batchIndex, step, sums, priorSeconds) = (ck.epoch, ck.batch, ck.step, ck.sums, ck.seconds)
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
            // a checkpoint never holds diverged weights: resume starts from the last good one
            for m in scheme.members {
                for (path, p) in m.module.namedParameters() where !p.value.allFinite {
                    throw TrainingError.nonFiniteWeights(epoch: e, parameter: "\(m.name).\(path)", checkpoint: lastCheckpoint)
                }
            }
            var tensors: [String: Tensor] = [:]
            for m in scheme.members { for (k, v) in m.module.stateDict() { tensors["\(m.name).\(k)"] = v } }
            for g in scheme.groups { for (k, v) in g.optimizer.stateDict() { tensors["\(groupPrefix(g)).\(k)"] = v } }
            for (k, v) in scheme.state { tensors["extra." + k] = v }
            let ck = TrainingCheckpoint(epoch: e, batch: b, step: step, sums: sums,
                                        seconds: priorSeconds + ProgressBar.now() - start, configJSON: cfg,
                                        tensors: tensors, random: randomStates(), history: history)
            try ck.write(to: checkpointPath)
            lastCheckpoint = checkpointPath
            try log.write(["event": "checkpoint", "epoch": e, "batch": b, "step": step])
        }

        for m in scheme.members { m.module.train() }
        while epoch < config.epochs {
            let bar = showProgress ? ProgressBar(label: "\(label) \(epoch + 1)/\(config.epochs)", total: perEpoch, plainEvery: max(perEpoch / 4, 1)) : nil
            var iterator = loader.batches(epoch: epoch, startingAt: batchIndex)
            while let batch = iterator.next() {
                let lr = schedule.learningRate(at: step)
                for g in scheme.groups { g.optimizer.learningRate = lr }
                let context = StepContext(epoch: epoch, step: step, batch: batchIndex, stepsPerEpoch: perEpoch, epochs: config.epochs, learningRate: lr)
                let out = try scheme.step(batch, context: context, updater: updater)
                guard out.loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, value: out.loss, checkpoint: lastCheckpoint)
                }
                try scheme.afterUpdate(context: context)
                step += 1
                batchIndex += 1
                sums.add(out, labels: batch.labels)
                bar?.update(step: batchIndex, items: batch.labels.count, metrics: [("loss", sums.meanLoss), ("acc", sums.accuracy)])
                if config.checkpointEvery > 0 && step % config.checkpointEvery == 0 && batchIndex < perEpoch {
                    try saveCheckpoint(epoch: epoch, batch: batchIndex)
                }
            }
            let lr = scheme.groups.first.map { Double($0.optimizer.learningRate) } ?? Double(schedule.learningRate(at: max(step - 1, 0)))
            var record = EpochRecord(epoch: epoch, trainLoss: sums.meanLoss, trainAccuracy: sums.accuracy,
                                     testAccuracy: .nan, testNLL: .nan, learningRate: lr, seconds: 0)
            record.terms = sums.termMeans
            do {
                if evaluates, let test {
                    let logits = try Evaluation.logits(of: evaluated, on: test)
                    let m = ClassificationSummary(logits: logits, labels: test.labels)
                    record.testAccuracy = m.accuracy
                    record.testNLL = m.nll
                }
                record.fidelity = try measureEpoch?(evaluated)
                var extra = try scheme.epochMetrics()
                if evaluates, let test {   // the other exported members too (a cohort, generations)
                    for m in scheme.members where m.exported && m.name != scheme.evaluated {
                        let logits = try Evaluation.logits(of: m.module, on: test)
                        extra["\(m.name).test_accuracy"] = ClassificationSummary(logits: logits, labels: test.labels).accuracy
                    }
                }
                record.scheme = extra.isEmpty ? nil : extra
            } catch let e as EvaluationError {
                throw TrainingError.nonFiniteOutputs(epoch: epoch, detail: "\(e)", checkpoint: lastCheckpoint)
            }
            epoch += 1
            batchIndex = 0
            sums = RunningSums()
            record.seconds = priorSeconds + ProgressBar.now() - start
            history.append(record)
            if keepsEpochSnapshots {   // before the checkpoint, so a resumed run never lacks one
                try fm.createDirectory(at: runDirectory.appendingPathComponent("epochs"), withIntermediateDirectories: true)
                try evaluated.save(to: TrainingLoop.epochSnapshotPath(in: runDirectory, epoch: epoch),
                                   metadata: modelFileMetadata(for: scheme.member(scheme.evaluated), epoch: epoch))
            }
            try saveCheckpoint(epoch: epoch, batch: 0)
            try exportMembers()
            var entry: [String: Any] = ["event": "epoch", "epoch": record.epoch, "train_loss": record.trainLoss,
                                        "train_accuracy": record.trainAccuracy.isNaN ? NSNull() : record.trainAccuracy,
                                        "test_accuracy": record.testAccuracy.isNaN ? NSNull() : record.testAccuracy,
                                        "test_nll": record.testNLL.isNaN ? NSNull() : record.testNLL,
                                        "learning_rate": record.learningRate, "seconds": record.seconds]
            if let t = record.terms { entry["terms"] = t }
            if let s = record.scheme { entry["scheme"] = s }
            try log.write(entry)
            onEpoch?(record)
            if showProgress, evaluates, let t = test {
                FileHandle.standardError.write(Data(String(format: "epoch %d: train loss %.4f  train acc %.4f  test acc %.4f (%d errors of %d)  test NLL %.4f\n",
                    record.epoch + 1, record.trainLoss, record.trainAccuracy, record.testAccuracy,
                    Int((1 - record.testAccuracy) * Double(t.count) + 0.5), t.count, record.testNLL).utf8))
            }
        }
        return history
    }
}

/// The running sums of the current epoch (mean loss, accuracy, per-term means), checkpointed so
/// a resumed epoch reports what an uninterrupted one would.
struct RunningSums: Codable, Equatable {
    var lossSum = 0.0, correct = 0, seen = 0
    /// Σ (term value × examples) by term name, and the examples each term was seen on.
    var termSums: [String: Double] = [:]
    var termSeen: [String: Int] = [:]
    /// Labelled examples whose predictions were counted for accuracy (rows labelled −1 are not).
    var counted = 0

    var meanLoss: Double { lossSum / Double(max(seen, 1)) }
    var accuracy: Double { counted == 0 ? .nan : Double(correct) / Double(counted) }
    var termMeans: [String: Double]? {
        termSums.isEmpty ? nil : termSums.reduce(into: [:]) { $0[$1.key] = $1.value / Double(max(termSeen[$1.key] ?? 1, 1)) }
    }

    mutating func add(_ out: StepOutput, labels: IntTensor) {
        let n = labels.count
        lossSum += Double(out.loss) * Double(n)
        seen += n
        for (name, v) in out.terms {
            termSums[name, default: 0] += Double(v) * Double(n)
            termSeen[name, default: 0] += n
        }
        guard let logits = out.logits else { return }
        let predicted = logits.argmax(alongAxis: 1).scalars
        for (p, y) in zip(predicted, labels.scalars) where y >= 0 {
            counted += 1
            if p == y { correct += 1 }
        }
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
