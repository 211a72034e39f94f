import DistillCore
import DistillData
import DistillNN
import Foundation

/// One epoch's summary, as logged.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// NaN when not measured: in every epoch but the last of a run with a validation split.
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
    /// On the validation split (runs with `val_split`).
    public var valAccuracy: Double? = nil
    /// What a learning curve plots: the validation accuracy when the run holds a split out
    /// (its test accuracy is measured once, at the end), else the test accuracy.
    public var curveAccuracy: Double { valAccuracy ?? testAccuracy }
    public var valNLL: Double? = nil
    /// Top-5 accuracies, with more than five classes.
    public var valTop5: Double? = nil
    public var testTop5: Double? = nil
}

/// The version of what a finished run writes (checkpoints, metrics, the meaning of the numbers in
/// them). Bump it whenever a loss, a metric or a training step changes its numbers: a finished
/// run written under another version is not reused, so `make run` never shows stale results.
public enum ResultFormat {
    public static let version = 2
}

/// Runs any `TrainingScheme` with checkpoints that survive a kill.
///
/// The run directory holds `config.json` (`RunSettings`: the config, the scheme's and the data's
/// identity, one JSON object), `log.jsonl` (one record per epoch, with each loss term's mean, and
/// per checkpoint), `steps.csv`, `metrics.csv` and `tb/` (the scalars people plot: `RunLogs`),
/// `checkpoint.safetensors` (the full resumable state: every member under `NAME.`, every
/// optimizer under `optimizer.[GROUP.]`, the scheme's state under `extra.`, and in the metadata
/// the counters, running sums, history and every random generator; written atomically at the end
/// of each epoch and every `checkpointEvery` steps), `model.safetensors` (the evaluated member,
/// PyTorch names, its spec in the metadata), `NAME.safetensors` for the other exported members,
/// and with `val_split` `best.safetensors` (the evaluated member after its best epoch on
/// validation). Data order and augmentation depend only on (seed, epoch, batch), so a resumed
/// run continues with the same numbers as an uninterrupted one (same thread count).
///
/// With `val_split` the held-out rows of `train` are never trained on; each epoch is evaluated
/// on them, and the test set is read once, at the end, for the last and the best epoch (`best`).
/// Batches keep the row numbers of `train` in their `indices` (what precomputed teacher outputs
/// and memory banks are indexed by).
///
/// The loop knows no method: it sets each step's learning rate, calls the scheme's step, checks
/// the loss is finite, calls `afterUpdate`, counts, logs, evaluates and checkpoints.
public final class TrainingLoop {
    public let config: TrainingConfig
    public let scheme: TrainingScheme
    /// The training set as given (the validation rows included).
    public let train: Dataset
    public let test: Dataset?
    /// The held-out rows of `train` (`val_split`); nil without a split.
    public let validation: Dataset?
    /// The rows trained on, and their row numbers in `train` (nil: all of them, in order).
    let fitting: Dataset
    let fittingRows: [Int]?
    public let runDirectory: URL
    /// Called after each epoch with its record (reports, tests).
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Measured on the evaluated member after each epoch and kept in its record (fidelity).
    public var measureEpoch: ((Module) throws -> FidelityPoint)?
    /// Hooks after every backward pass, before the update (a gradient all-reduce).
    public var afterBackward: [(ParameterGroup) throws -> Void] = []
    /// Print a progress bar on standard error.
    public var showProgress = true
    /// Evaluate the evaluated member after each epoch (stages that only pre-train skip it).
    public var evaluates = true
    /// The label of the progress bar (`epoch`, or a pre-training stage's name).
    public var label = "epoch"
    /// What defines the training data beyond the config (label noise, say): part of the settings
    /// checked on resume and reuse, so a run on other data is not taken for this one.
    public var dataIdentity = ""
    /// Also write the evaluated member after every epoch K to `epochs/epoch-K.safetensors` (the
    /// per-epoch teacher checkpoints of the early-stopping studies).
    public var keepsEpochSnapshots = false
    /// Let `run(resume: true)` continue a run whose checkpoint was written with fewer `epochs`
    /// (`distill train --resume --epochs N`). The schedule is then the one of the new total from
    /// the resumed step on: for a schedule that depends on the total (cosine) the result equals
    /// neither the shorter nor an uninterrupted longer run, and the loop says so. Off, a
    /// different `epochs` is a different configuration (experiments refuse it).
    public var allowsMoreEpochs = false
    /// Write TensorBoard event files under `tb/`.
    public var writesTensorBoard = true

    /// Data-parallel training over the processes of an `mpirun` job: each trains on its shard of
    /// every global batch, gradients are averaged after backward, and only rank 0 evaluates and
    /// writes files (checkpoint, logs, models); every rank resumes from rank 0's checkpoint.
    public var parallel: DataParallel?
    /// Whether this process writes the run's files (rank 0, or the only process).
    public var isWriter: Bool { parallel?.isWriter ?? true }

    public internal(set) var history: [EpochRecord] = []
    /// The best epoch on validation and its test numbers, after `run` of a run with `val_split`.
    public internal(set) var best: BestEpoch?

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
        if let n = try config.validationCount(of: train.count) {
            let rows = TrainingLoop.splitRows(count: train.count, heldOut: n, seed: config.valSeed ?? config.seed)
            fitting = train.subset(rows.train, name: train.name + "-train")
            validation = train.subset(rows.validation, name: train.name + "-validation")
            fittingRows = rows.train
        } else {
            (fitting, validation, fittingRows) = (train, nil, nil)
        }
    }

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint.safetensors").path }
    var modelPath: String { runDirectory.appendingPathComponent("model.safetensors").path }

    /// The configuration, scheme and data identity, checked on resume and reuse.
    func runSettings() throws -> RunSettings {
        try RunSettings(config: config, scheme: scheme.identity, data: dataIdentity)
    }

    /// `runSettings()` as stored in `config.json` and the checkpoint.
    func configJSON() throws -> String { try runSettings().json() }

    /// Where the snapshot of the evaluated member after epoch `epoch` (1-based) is written.
    public static func epochSnapshotPath(in dir: URL, epoch: Int) -> String {
        dir.appendingPathComponent("epochs/epoch-\(epoch).safetensors").path
    }

    /// Throws when the run directory holds a checkpoint written under other settings (another
    /// configuration, scheme, objective or teacher: `checkpointMismatch`, naming the keys that
    /// differ) or by another result format (`staleRun`), so that neither a resumed nor a finished
    /// run is taken for the one asked for. Returns the epochs the checkpoint has completed (nil:
    /// no checkpoint).
    @discardableResult
    public func checkExistingRun() throws -> Int? {
        guard FileManager.default.fileExists(atPath: checkpointPath) else { return nil }
        let ck = try TrainingCheckpoint.read(from: checkpointPath)
        try checkSameRun(ck, try runSettings())
        return ck.epoch
    }

    private func checkSameRun(_ ck: TrainingCheckpoint, _ settings: RunSettings) throws {
        guard ck.resultFormat == ResultFormat.version else {
            throw TrainingError.staleRun(path: runDirectory.path, found: ck.resultFormat, expected: ResultFormat.version)
        }
        guard let stored = RunSettings.parse(ck.configJSON, scheme: settings.scheme, data: settings.data) else {
            throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "metadata field 'config' is not the settings of a run (\(ck.configJSON.prefix(200)))")
        }
        let differences = settings.differences(from: stored, ignoring: allowsMoreEpochs ? ["epochs"] : [])
        guard differences.isEmpty else {
            throw TrainingError.checkpointMismatch(path: checkpointPath, detail: "was written by a run with a different configuration; the settings that differ (key: checkpoint value → this run's value): \(differences.map(\.description).joined(separator: "; ")); run with the same settings or use another output directory")
        }
        if ck.epoch > config.epochs || (ck.epoch == config.epochs && ck.batch > 0) {
            throw TrainingError.badValue(field: "epochs", value: "\(config.epochs)", expected: "at least the \(ck.epoch) epochs\(ck.batch > 0 ? " and \(ck.batch) batches" : "") that the run in \(runDirectory.path) has done (a resumed run can only go on)")
        }
        if let was = stored.config["epochs"] as? Int, was != config.epochs, config.schedule == "cosine" {
            FileHandle.standardError.write(Data("note: \(runDirectory.path) was checkpointed as a run of \(was) epochs and continues to \(config.epochs): the cosine schedule is recomputed for \(config.epochs) epochs from step \(ck.step) on, so the result equals neither the \(was)-epoch run nor an uninterrupted \(config.epochs)-epoch one\n".utf8))
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

    /// The metadata of every model file the loop writes (`model.safetensors`, `NAME.safetensors`,
    /// `epochs/epoch-K.safetensors`, `best.safetensors`): `ModelFile.metadata` (spec, data,
    /// classes, input shape, class names, producer) and, for a file of one epoch, that epoch
    /// (`epoch`, 1-based); `Module.save` adds the input transform.
    public func modelFileMetadata(for member: SchemeMember, epoch: Int?) -> [String: String] {
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
        if isWriter { AtomicFile.removeStaleTemporaries(in: runDirectory.path) }   // what a kill in the middle of a write left
        try parallel?.check(batchSize: config.batchSize)
        // the normalisation belongs to the models (they apply it, and their files record it); the
        // loader's steps run on pixels in [0, 1]
        let (augmentation, normalization) = try Evaluation.splitNormalization(
            config.augmentation.isEmpty ? nil : try Augmentation.parse(config.augmentation), channels: train.imageShape[0])
        if let normalization {
            for m in scheme.members where m.spec != nil || m.name == scheme.evaluated { m.module.inputNormalization = normalization }
        }
        let loader = try DataLoader(dataset: fitting, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                                    augmentation: augmentation)
        let perEpoch = loader.batchesPerEpoch
        let schedule = try config.makeSchedule(stepsPerEpoch: perEpoch)
        let settings = try runSettings()
        let cfg = try settings.json()
        let evaluatedMember = scheme.member(scheme.evaluated), evaluated = evaluatedMember.module
        let updater = StepUpdater(scheme: scheme, gradClip: config.gradClip)
        var shardRows = (local: 0, global: 0)
        if let parallel {   // the all-reduce first, so clipping and the other hooks see the average
            updater.afterBackward = [{ group in
                try parallel.averageGradients(group.parameters.map(\.parameter), localRows: shardRows.local, globalRows: shardRows.global)
            }]
        }
        updater.afterBackward += afterBackward

        var epoch = 0, batchIndex = 0, step = 0, sums = RunningSums(), priorSeconds = 0.0
        let hasCheckpoint = fm.fileExists(atPath: checkpointPath)
        best = nil
        if resume && hasCheckpoint {
            let ck = try TrainingCheckpoint.read(from: checkpointPath)
            try checkSameRun(ck, settings)
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
            history = []
        }
        try parallel?.broadcast(scheme.members.map(\.module))   // every process starts from rank 0's weights
        // written at every start: a run continued for more epochs records its new count
        if isWriter { try Data((cfg + "\n").utf8).write(to: runDirectory.appendingPathComponent("config.json"), options: .atomic) }
        let log: JSONLLog? = isWriter ? try JSONLLog(url: runDirectory.appendingPathComponent("log.jsonl")) : nil
        let logs: RunLogs? = !isWriter ? nil : try RunLogs(directory: runDirectory, columns: .init(validation: evaluates && validation != nil, test: evaluates && test != nil,
                                                                        top5: train.classCount > 5),
                               stepsPerEpoch: perEpoch, resumedAt: resume && hasCheckpoint ? step : nil, finished: epoch >= config.epochs, history: history,
                               tensorBoard: writesTensorBoard)
        let start = ProgressBar.now()
        var lastCheckpoint: String? = hasCheckpoint ? checkpointPath : nil

        func saveCheckpoint(epoch e: Int, batch b: Int) throws {
            guard isWriter else { return }
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
            try log?.write(["event": "checkpoint", "epoch": e, "batch": b, "step": step])
        }

        for m in scheme.members { m.module.train() }
        while epoch < config.epochs {
            let bar = showProgress && isWriter ? ProgressBar(label: "\(label) \(epoch + 1)/\(config.epochs)", total: perEpoch, plainEvery: max(perEpoch / 4, 1)) : nil
            var iterator = loader.batches(epoch: epoch, startingAt: batchIndex)
            while var batch = iterator.next() {
                if let rows = fittingRows { batch.indices = batch.indices.map { rows[$0] } }   // rows of `train`
                let globalRows = batch.labels.count
                if let parallel { batch = parallel.shard(batch) }
                shardRows = (batch.labels.count, globalRows)
                let lr = schedule.learningRate(at: step)
                for g in scheme.groups { g.optimizer.learningRate = lr }
                let context = StepContext(epoch: epoch, step: step, batch: batchIndex, stepsPerEpoch: perEpoch, epochs: config.epochs, learningRate: lr)
                var out = try scheme.step(batch, context: context, updater: updater)
                var stepSums = RunningSums()
                stepSums.add(out, labels: batch.labels)
                if let parallel {   // the global batch's loss, terms and accuracy, as one process would log them
                    stepSums = try stepSums.summed(over: parallel.group)
                    out.loss = Float(stepSums.meanLoss)
                    if let m = stepSums.termMeans { out.terms = out.terms.map { ($0.name, Float(m[$0.name] ?? .nan)) } }
                }
                guard out.loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, value: out.loss, checkpoint: lastCheckpoint)
                }
                try scheme.afterUpdate(context: context)
                step += 1
                batchIndex += 1
                sums.merge(stepSums)
                try logs?.step(step, epoch: epoch, loss: out.loss, terms: out.terms, learningRate: lr)
                bar?.update(step: batchIndex, items: batch.labels.count, metrics: [("loss", sums.meanLoss), ("acc", sums.accuracy)])
                if config.checkpointEvery > 0 && step % config.checkpointEvery == 0 && batchIndex < perEpoch {
                    try saveCheckpoint(epoch: epoch, batch: batchIndex)
                }
            }
            let lr = scheme.groups.first.map { Double($0.optimizer.learningRate) } ?? Double(schedule.learningRate(at: max(step - 1, 0)))
            var record = EpochRecord(epoch: epoch, trainLoss: sums.meanLoss, trainAccuracy: sums.accuracy,
                                     testAccuracy: .nan, testNLL: .nan, learningRate: lr, seconds: 0)
            record.terms = sums.termMeans
            if isWriter { try evaluateEpoch(&record, checkpoint: lastCheckpoint) }
            epoch += 1
            batchIndex = 0
            sums = RunningSums()
            record.seconds = priorSeconds + ProgressBar.now() - start
            history.append(record)
            // model files and logs before the checkpoint, so a resumed run never lacks one
            if keepsEpochSnapshots && isWriter {
                try fm.createDirectory(at: runDirectory.appendingPathComponent("epochs"), withIntermediateDirectories: true)
                try evaluated.save(to: TrainingLoop.epochSnapshotPath(in: runDirectory, epoch: epoch),
                                   metadata: modelFileMetadata(for: evaluatedMember, epoch: epoch))
            }
            if isWriter && TrainingLoop.bestEpochIndex(in: history) == history.count - 1 {
                try evaluated.save(to: bestPath, metadata: modelFileMetadata(for: evaluatedMember, epoch: epoch))
            }
            try logs?.epoch(record)
            try saveCheckpoint(epoch: epoch, batch: 0)
            if isWriter { try exportMembers() }
            try log?.write(TrainingLoop.logEntry(record))
            onEpoch?(record)
            if showProgress, isWriter, evaluates, let t = validation ?? test {
                let (what, acc, nll) = validation != nil ? ("val", record.valAccuracy ?? .nan, record.valNLL ?? .nan) : ("test", record.testAccuracy, record.testNLL)
                FileHandle.standardError.write(Data(String(format: "epoch %d: train loss %.4f  train acc %.4f  %@ acc %.4f (%d errors of %d)  %@ NLL %.4f\n",
                    record.epoch + 1, record.trainLoss, record.trainAccuracy, what, acc,
                    Int((1 - acc) * Double(t.count) + 0.5), t.count, what, nll).utf8))
            }
        }
        if let logs, let log { try finishWithValidation(logs: logs, log: log) }
        try parallel?.barrier()   // rank 0's files are written before any rank reads them
        return history
    }

    /// The `log.jsonl` entry of an epoch (NaN as null).
    static func logEntry(_ record: EpochRecord) -> [String: Any] {
        func v(_ x: Double?) -> Any { x.map { $0.isNaN ? NSNull() : $0 as Any } ?? NSNull() }
        var entry: [String: Any] = ["event": "epoch", "epoch": record.epoch, "train_loss": record.trainLoss,
                                    "train_accuracy": v(record.trainAccuracy), "test_accuracy": v(record.testAccuracy),
                                    "test_nll": v(record.testNLL), "learning_rate": record.learningRate, "seconds": record.seconds]
        for (k, x) in [("val_accuracy", record.valAccuracy), ("val_nll", record.valNLL), ("val_top5", record.valTop5), ("test_top5", record.testTop5)] where x != nil {
            entry[k] = v(x)
        }
        if let t = record.terms { entry["terms"] = t }
        if let s = record.scheme { entry["scheme"] = s }
        return entry
    }
}
