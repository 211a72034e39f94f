import DistillCore
import DistillData
import DistillNN
import Foundation

/// Runs an experiment file end to end and writes its run directory:
///
///     DIR/config.yaml            the resolved configuration
///     DIR/teachers/SPEC-HASH/member-K/  teacher runs, keyed by model and training settings so
///                                identical teachers are trained once (DIR/seed-S/teacher-K/ when
///                                not shared between seeds)
///     DIR/seed-S/student-alone/  the student trained with cross-entropy alone
///     DIR/seed-S/student-distilled/
///     DIR/metrics.json           per-seed results and mean ± std over seeds
///     DIR/report.md, DIR/*.svg   the report and its plots
///
/// Every sub-run is a `Trainer` run directory: a finished one (with `metrics.json`) is reused,
/// an interrupted one resumes from its checkpoint, so a killed experiment redoes nothing it
/// finished.
public final class ExperimentRunner {
    public let config: ExperimentConfig
    public let directory: URL
    /// Where shared teachers live (variants of a sweep share one).
    public var teacherRoot: URL
    /// Where students trained alone live when shared between the variants of a sweep (nil: in
    /// `DIR/seed-S/student-alone`).
    public var baselineRoot: URL?
    public var showProgress = true
    /// Data-parallel training of every sub-run over the processes of an `mpirun` job; only rank 0
    /// writes the experiment's files (each sub-run's, the reports and plots).
    public var parallel: DataParallel?
    var isWriter: Bool { parallel?.isWriter ?? true }
    /// Bytes the teacher's cached features may take on a non-augmented transfer set (0: no
    /// cache); `Limits.teacherCacheBytes` (2 GiB, `DISTILL_TEACHER_CACHE_BYTES`) unless set.
    public var teacherCacheBytes = Limits.teacherCacheBytes
    /// Called with one line for each stage of the experiment.
    public var say: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(config: ExperimentConfig, directory: URL) {
        self.config = config
        self.directory = directory
        teacherRoot = directory.appendingPathComponent("teachers")
    }

    /// A directory name for a teacher: its model spec (sanitised) and a hash of its training settings.
    static func teacherKey(_ t: TeacherSpec, noise: LabelNoise? = nil) -> String {
        runKey(model: t.model, train: t.train, extra: noise.map { "\($0)" } ?? "")
    }

    /// What the training data is beyond the config: the label noise, when there is any.
    var dataIdentity: String { config.labelNoise.map { "\($0)" } ?? "" }

    /// A directory name for a model and its training settings: the spec (sanitised) and a hash.
    static func runKey(model: String, train: TrainingConfig, extra: String = "") -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let text = model + "|" + String(decoding: (try? enc.encode(train)) ?? Data(), as: UTF8.self) + "|" + extra
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }   // FNV-1a
        let slug = String(model.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return "\(slug)-\(String(h, radix: 16).prefix(8))"
    }

    struct Splits {
        var teacherTrain: Dataset
        var transfer: Dataset
        var validation: Dataset?
        var test: Dataset
        /// Labelled data a student alone trains on.
        var baselineTrain: Dataset
        /// With label noise: the true label of each transfer row (train and subset transfer sets).
        var trueTransferLabels: [Int]? = nil
        /// With label noise: the fraction of the training labels it changed.
        var realisedNoiseRate: Double? = nil
    }

    func splits() throws -> Splits {
        let spec = try DataSpec(config.data)
        var train = try spec.load(.train)
        let fullTest = try spec.load(.test)
        let test = config.testSubset.map { fullTest.first(min($0, fullTest.count)) } ?? fullTest
        try train.checkTrainable(against: test)
        var truth: [Int]? = nil, realised: Double? = nil
        if let noise = config.labelNoise {
            guard noise.clean <= train.count else {
                throw TrainingError.badValue(field: "label_noise.clean", value: "\(noise.clean)", expected: "at most the \(train.count) training examples")
            }
            truth = train.labels.scalars
            let (noisy, flipped) = train.withLabelNoise(noise)
            train = noisy
            realised = Double(flipped) / Double(max(train.count, 1))
            say("label noise: \(noise), \(flipped) of \(train.count) training labels changed (\(String(format: "%.4f", realised!)))")
        }
        var s = Splits(teacherTrain: train, transfer: train, validation: nil, test: test, baselineTrain: train)
        s.realisedNoiseRate = realised
        s.trueTransferLabels = truth
        switch config.transfer {
        case .train: break
        case .subset(let n):
            guard n <= train.count else { throw TrainingError.badValue(field: "transfer.count", value: "\(n)", expected: "at most \(train.count) examples") }
            s.transfer = train.first(n); s.baselineTrain = s.transfer
            s.trueTransferLabels = truth.map { Array($0.prefix(n)) }
        case .dropClasses(let cls):
            s.trueTransferLabels = nil
            let held = config.biasAdjust?.heldOut ?? 0
            guard held < train.count / 2 else { throw TrainingError.badValue(field: "bias_adjust.held_out", value: "\(held)", expected: "less than half the training set") }
            let kept = train.subset(Array(0..<(train.count - held)))
            s.transfer = kept.dropping(classes: cls)
            guard s.transfer.count > 0 else {
                throw TrainingError.badValue(field: "transfer.classes", value: "\(cls)", expected: "classes to drop that leave some of the \(train.classCount) classes (the transfer set would be empty)")
            }
            s.baselineTrain = s.transfer
            if held > 0 { s.validation = train.subset(Array((train.count - held)..<train.count)) }
        case .unlabelled(let n):
            s.trueTransferLabels = nil
            guard n < train.count else { throw TrainingError.badValue(field: "transfer.count", value: "\(n)", expected: "fewer than \(train.count) examples") }
            s.teacherTrain = train.first(train.count - n)
            s.transfer = train.subset(Array((train.count - n)..<train.count)).unlabelled
            s.baselineTrain = s.teacherTrain
        case .withUnlabelled(let n):
            s.trueTransferLabels = nil
            let seen = config.teacher.train.subset ?? train.count - n
            guard n < train.count, seen + n <= train.count else {
                throw TrainingError.badValue(field: "transfer.count", value: "\(n)", expected: "at most \(train.count - seen) examples after the teacher's \(seen)")
            }
            s.teacherTrain = train.first(seen)
            let rows = train.first(seen + n)
            var labels = rows.labels.scalars
            for i in seen..<(seen + n) { labels[i] = Dataset.unlabelledMarker }
            s.transfer = Dataset(name: "\(train.name) (first \(seen), then \(n) unlabelled)", images: rows.images, labels: IntTensor(labels),
                                 classCount: train.classCount)
            s.baselineTrain = s.teacherTrain
        }
        return s
    }

    /// Trains `model` with cross-entropy in `dir`, or reuses the finished run there.
    func trainOrReuse(_ cfg: TrainingConfig, model: Module, train: Dataset, test: Dataset, dir: URL, snapshots: Bool = false) throws -> [EpochRecord] {
        try trainOrReuse(cfg, scheme: SupervisedScheme(model: model, spec: cfg.model, config: cfg), train: train, test: test, dir: dir,
                         snapshots: snapshots)
    }

    /// What defines a distillation run besides its training config: methods and teacher.
    func distillationIdentity() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]   // option dictionaries must serialise the same way in every process
        let methods = String(decoding: (try? enc.encode(config.methods)) ?? Data(), as: UTF8.self)
        let t = config.teacher
        return "methods \(methods) teacher \(t.logits ?? t.model) \(t.checkpoints) ensemble \(t.ensemble) \(t.combine.rawValue)"
            + (config.student.initFromTeacher.map { " init_from_teacher \($0)" } ?? "")
            + (t.stopEpoch.map { " stop_epoch \($0)" } ?? "")
    }

    /// Runs `scheme` in `dir` (after the pre-training `stages`, each in `dir/stage-NAME`), or
    /// reuses the finished run there. A run written by another result format is moved aside to
    /// `DIR.stale-format-N` and trained again; one written under other settings is refused.
    func trainOrReuse(_ cfg: TrainingConfig, scheme: TrainingScheme, stages: [(name: String, config: TrainingConfig, scheme: PreTrainingStageScheme)] = [],
                      train: Dataset, test: Dataset, dir: URL, tracker: FidelityTracker? = nil, snapshots: Bool = false) throws -> [EpochRecord] {
        let train = cfg.subset.map { train.first(min($0, train.count)) } ?? train
        let loop = try TrainingLoop(config: cfg, scheme: scheme, train: train, test: test, runDirectory: dir)
        loop.showProgress = showProgress
        loop.dataIdentity = dataIdentity
        loop.keepsEpochSnapshots = snapshots
        loop.parallel = parallel
        if let tracker { loop.measureEpoch = { try tracker.measure($0) } }
        do {
            try loop.checkExistingRun()   // a finished run of other settings is not reused
        } catch TrainingError.staleRun(_, let found, _) {
            let aside = URL(fileURLWithPath: dir.path + ".stale-format-\(found)")
            if isWriter {
                try? FileManager.default.removeItem(at: aside)
                try FileManager.default.moveItem(at: dir, to: aside)
            }
            try parallel?.barrier()
            say("  \(dir.path) was written by result format \(found) (this build writes \(ResultFormat.version)); moved to \(aside.path) and trained again")
        }
        let finished = FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics.json").path)
        if finished { say("  reusing the finished run in \(dir.path)") }
        for stage in stages where !finished {
            let stageLoop = try TrainingLoop(config: stage.config, scheme: stage.scheme, train: train, test: nil,
                                             runDirectory: dir.appendingPathComponent("stage-\(stage.name)"))
            stageLoop.showProgress = showProgress
            stageLoop.dataIdentity = dataIdentity
            stageLoop.evaluates = false
            stageLoop.label = stage.name
            stageLoop.parallel = parallel
            try stageLoop.run(resume: true)
        }
        let history = try loop.run(resume: true)
        if !finished && isWriter {
            try TrainingSummary.write(history: history, config: cfg, model: scheme.member(scheme.evaluated).module, to: dir, testCount: test.count,
                                      best: loop.best)
        }
        try parallel?.barrier()   // every rank sees the finished run before deciding what to reuse
        return history
    }

    /// The validation-chosen epoch a finished run recorded in `DIR/metrics.json` (nil without a
    /// validation split, or for a run written before it was recorded).
    static func bestEpoch(in dir: URL) -> BestEpoch? {
        guard let data = try? Data(contentsOf: dir.appendingPathComponent("metrics.json")),
              let summary = try? ResultJSON.decoder.decode(TrainingSummary.self, from: data) else { return nil }
        return summary.best
    }

    func teacherMembers(seed: UInt64, splits: Splits) throws -> [Module] {
        let t = config.teacher
        let input = DataSpec.modelInput(for: splits.teacherTrain)
        return try (0..<t.ensemble).map { m in
            let memberSeed = t.shared ? UInt64(m) : seed &* 1000 &+ UInt64(m)
            if m < t.checkpoints.count {
                return try ModelFile.load(t.checkpoints[m], for: splits.teacherTrain, data: config.data, model: t.model,
                                          modelFlag: "teacher.model") { self.say("note: \($0)") }
            }
            let model = try ModelZoo.make(t.model, input: input, seed: memberSeed)
            var cfg = t.train
            cfg.seed = memberSeed
            let dir = t.shared ? teacherRoot.appendingPathComponent("\(ExperimentRunner.teacherKey(t, noise: config.labelNoise))/member-\(m)")
                               : directory.appendingPathComponent("seed-\(seed)/teacher-\(m)")
            say("teacher member \(m + 1)/\(t.ensemble): \(t.model), seed \(memberSeed)")
            _ = try trainOrReuse(cfg, model: model, train: splits.teacherTrain, test: splits.test, dir: dir, snapshots: t.stopEpoch != nil)
            if let e = t.stopEpoch {
                let path = TrainingLoop.epochSnapshotPath(in: dir, epoch: e)
                guard FileManager.default.fileExists(atPath: path) else {
                    throw TrainingError.runDirectory(path: dir.path, detail: "has no snapshot of epoch \(e) (\(path)): it was trained without teacher.stop_epoch, which keeps one per epoch; remove the directory to train the teacher again")
                }
                say("  the teacher as it was after epoch \(e) of \(cfg.epochs)")
                try model.load(from: path)
            }
            return model
        }
    }


    func role(_ model: Module, teacherTrain: Tensor?, teacherTest: Tensor?, splits: Splits, history: [EpochRecord]) throws -> RoleResult {
        let tr = try Evaluation.logits(of: model, on: splits.transfer)
        let te = try Evaluation.logits(of: model, on: splits.test)
        let test = FidelityReport.measure(te, teacher: teacherTest, labels: splits.test.labels, split: "test")
        return RoleResult(train: FidelityReport.measure(tr, teacher: teacherTrain, labels: splits.transfer.labels, split: "train"),
                          test: test, testErrors: errors(te, splits.test.labels), seconds: history.last?.seconds ?? 0)
    }

    func errors(_ logits: Tensor, _ labels: IntTensor) -> Int {
        zip(logits.argmax(alongAxis: 1).scalars, labels.scalars).filter { $0 != $1 && $1 >= 0 }.count
    }

    /// Runs every variant of a sweep, then writes the comparison (metrics.json, report.md, plot).
    @discardableResult
    public func runSweep() throws -> SweepResult {
        let start = ProgressBar.now()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var results: [SweepResult.Variant] = []
        for (k, v) in config.variants.enumerated() {
            say("== variant \(v.name) (\(k + 1)/\(config.variants.count)): \(v.overrides.joined(separator: " "))")
            let runner = ExperimentRunner(config: v.config, directory: directory.appendingPathComponent("variant-\(v.name)"))
            runner.teacherRoot = teacherRoot
            runner.baselineRoot = directory.appendingPathComponent("baselines")
            runner.showProgress = showProgress
            runner.teacherCacheBytes = teacherCacheBytes
            runner.say = say
            runner.parallel = parallel
            // a failing variant (a diverging method, say) is reported, and the others still run
            do {
                results.append(SweepResult.Variant(name: v.name, overrides: v.overrides, result: try runner.run(), error: nil, x: v.x))
            } catch {
                say("variant \(v.name) failed: \(error)")
                results.append(SweepResult.Variant(name: v.name, overrides: v.overrides, result: nil, error: "\(error)", x: v.x))
            }
        }
        let sweep = SweepResult(name: config.name, variants: results, seconds: ProgressBar.now() - start, axis: config.axis)
        if isWriter { try ExperimentReport.write(sweep, to: directory) }
        return sweep
    }

    /// The teacher of `seed` with its logits on the transfer and test splits (test logits are
    /// nil for an offline teacher without `test_logits`).
    func makeTeacher(seed: UInt64, splits: Splits) throws -> (Teacher, Tensor, Tensor?) {
        if let path = config.teacher.logits {
            let t = try PrecomputedTeacher.load(npy: path, expectedRows: splits.transfer.count)
            let test = try config.teacher.testLogits.map { try PrecomputedTeacher.load(npy: $0, expectedRows: splits.test.count).table }
            return (t, t.table, test)
        }
        let members = try teacherMembers(seed: seed, splits: splits)
        let teacher: Teacher = members.count == 1 ? ModelTeacher(members[0], classCount: splits.test.classCount)
            : EnsembleTeacher(members, combine: config.teacher.combine, classCount: splits.test.classCount)
        return (teacher, try teacher.logits(on: splits.transfer), try teacher.logits(on: splits.test))
    }

    /// Runs every seed and writes metrics.json, report.md and the plots.
    @discardableResult
    public func run() throws -> ExperimentResult {
        let start = ProgressBar.now()
        if let t = config.threads { Threads.set(t) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if isWriter { try Data(ExperimentReport.resolvedConfig(config).utf8).write(to: directory.appendingPathComponent("config.yaml"), options: .atomic) }
        if !(try SchemeRegistry.kind(config.scheme.kind)).usesTeacher { return try runCohort(start: start) }
        let splits = try splits()
        say("\(config.name): \(config.data), transfer set \(config.transfer) (\(splits.transfer.count) examples), seeds \(config.seeds)")
        var results: [SeedResult] = []
        // a shared or precomputed teacher and its outputs are the same for every seed: built once
        var shared: (teacher: Teacher, train: Tensor, test: Tensor?)? = nil
        for (k, seed) in config.seeds.enumerated() {
            say("[seed \(seed), \(k + 1)/\(config.seeds.count)]")
            let (teacher, teacherTrain, teacherTest) = try shared ?? makeTeacher(seed: seed, splits: splits)
            if config.teacher.shared || config.teacher.logits != nil { shared = (teacher, teacherTrain, teacherTest) }
            var teacherRole: RoleResult? = nil
            if let tt = teacherTest {
                teacherRole = RoleResult(train: FidelityReport.measure(teacherTrain, teacher: nil, labels: splits.transfer.labels, split: "train"),
                                         test: FidelityReport.measure(tt, teacher: nil, labels: splits.test.labels, split: "test"),
                                         testErrors: errors(tt, splits.test.labels), seconds: 0)
            }
            let input = DataSpec.modelInput(for: splits.transfer)
            var scfg = config.student.train
            scfg.seed = seed
            // the student alone
            var alone: RoleResult? = nil, aloneHistory: [EpochRecord] = []
            var aloneDirectory = directory
            if config.student.baseline {
                say("student alone: \(config.student.model)")
                let m = try ModelZoo.make(config.student.model, input: input, seed: seed)
                let dir = baselineRoot.map {
                    $0.appendingPathComponent(ExperimentRunner.runKey(model: config.student.model, train: scfg, extra: "\(config.data)|\(config.transfer)\(dataIdentity)"))
                } ?? directory.appendingPathComponent("seed-\(seed)/student-alone")
                aloneHistory = try trainOrReuse(scfg, model: m, train: splits.baselineTrain, test: splits.test, dir: dir)
                aloneDirectory = dir
                alone = try role(m, teacherTrain: teacherTrain, teacherTest: teacherTest, splits: splits, history: aloneHistory)
            }
            // the distilled student: teacher outputs are cached when the transfer set is not augmented
            say("student distilled (\(config.methods.map(\.name).joined(separator: " + "))): \(config.student.model)")
            let student = try initialStudent(seed: seed, input: input, teacher: teacher)
            let tracker = config.trackFidelity ? FidelityTracker(transfer: splits.transfer, teacherTrain: teacherTrain, test: splits.test,
                                                                 teacherTest: teacherTest, examples: config.fidelityExamples) : nil
            let initial = try tracker?.measure(student)
            let (history, session) = try distil(student, spec: config.student.model, from: teacher, teacherTrain: teacherTrain, splits: splits,
                                                config: scfg, dir: directory.appendingPathComponent("seed-\(seed)/student-distilled"),
                                                identity: distillationIdentity(), tracker: tracker)
            let chain = try continueChain(seed: seed, input: input, splits: splits, config: scfg, first: student, teacher: teacher,
                                          teacherTest: teacherTest)
            let distilled = try role(student, teacherTrain: teacherTrain, teacherTest: teacherTest, splits: splits, history: history)
            var landscape: LandscapeResult? = nil
            if let spec = config.landscape, k < spec.seeds {
                landscape = try landscapeAround(student, seed: seed, input: input, teacher: teacher, teacherTrain: teacherTrain,
                                                splits: splits, session: session, spec: spec)
            }
            // terms that draw what they learned (the all-pairs MI term's λ graph)
            for (k, l) in session.losses.enumerated() {
                for f in (l as? FigureDrawingLoss)?.figures(title: "\(config.name), seed \(seed)") ?? [] {
                    if isWriter { try Data(f.svg.utf8).write(to: directory.appendingPathComponent("\(f.name)_seed-\(seed)_term-\(k).svg"), options: .atomic) }
                }
            }
            var bias: BiasAdjustResult? = nil
            if let b = config.biasAdjust, let v = splits.validation {
                bias = try adjustBias(student, spec: b, validation: v, test: splits.test)
            }
            results.append(SeedResult(seed: seed, teacher: teacherRole, studentAlone: alone, studentDistilled: distilled, biasAdjust: bias,
                                      distilledCurve: history.map(\.curveAccuracy), aloneCurve: aloneHistory.map(\.curveAccuracy),
                                      initialFidelity: initial, fidelityCurve: config.trackFidelity ? history.compactMap(\.fidelity) : nil,
                                      landscape: landscape, termCurves: ExperimentRunner.termCurves(history), cohort: chain,
                                      curveSplit: history.contains { $0.valAccuracy != nil } ? "validation" : nil,
                                      distilledBest: Self.bestEpoch(in: directory.appendingPathComponent("seed-\(seed)/student-distilled")),
                                      aloneBest: alone == nil ? nil : Self.bestEpoch(in: aloneDirectory)))
        }
        var result = ExperimentResult(name: config.name, seeds: results, summary: ExperimentResult.summarize(results),
                                      seconds: ProgressBar.now() - start)
        result.realisedNoiseRate = splits.realisedNoiseRate
        if isWriter { try ExperimentReport.write(result, config: config, to: directory) }
        return result
    }

    /// Distils `student` from `teacher` with the experiment's objective into `dir` (or reuses the
    /// finished run there). When the transfer set is not augmented the teacher's outputs are
    /// computed once: its logits on the whole set (`teacherTrain`) when no term reads teacher
    /// features, otherwise its logits and features per row as training first meets each row
    /// (`DistillationSession.cacheTeacherOutputs`, within `teacherCacheBytes`).
    func distil(_ student: Module, spec: String, from teacher: Teacher, teacherTrain: Tensor, splits: Splits, config scfg: TrainingConfig,
                dir: URL, identity: String, tracker: FidelityTracker? = nil) throws -> (history: [EpochRecord], session: DistillationSession) {
        let probe = splits.transfer.images.slice(axis: 0, start: 0, length: min(8, splits.transfer.count))
        var session = try DistillationSession(student: student, teacher: teacher, methods: config.methods, probe: probe,
                                              datasetSize: splits.transfer.count)
        if scfg.augmentation.isEmpty && !teacher.networks.isEmpty {
            if session.losses.allSatisfy({ $0.teacherTaps.isEmpty }) {
                let cached = try PrecomputedTeacher(table: teacherTrain, source: "teacher outputs cached on the transfer set")
                session = try DistillationSession(student: student, teacher: cached, methods: config.methods, probe: probe,
                                                  datasetSize: splits.transfer.count)
            } else {
                let rows = min(scfg.subset ?? splits.transfer.count, splits.transfer.count)
                say("  " + session.cacheTeacherOutputs(rows: rows, budgetBytes: teacherCacheBytes))
            }
        }
        let scheme = OfflineDistillation(session: session, spec: spec, config: scfg, identity: identity)
        let history = try trainOrReuse(scfg, scheme: scheme, stages: scheme.preTrainingStages(config: scfg), train: splits.transfer,
                                       test: splits.test, dir: dir, tracker: tracker)
        return (history, session)
    }

    /// The teacher network the student is initialised from and drawn against (member 0).
    func teacherNetwork(_ teacher: Teacher) -> Module? { teacher.networks.first }

    /// A fresh student for `seed`: random, or interpolated towards the teacher (`init_from_teacher`).
    func initialStudent(seed: UInt64, input: ModelInput, teacher: Teacher) throws -> Module {
        let student = try ModelZoo.make(config.student.model, input: input, seed: seed)
        if let lambda = config.student.initFromTeacher {
            guard let t = teacherNetwork(teacher) else {
                throw TrainingError.badValue(field: "student.init_from_teacher", value: "\(lambda)", expected: "a teacher network to start from, not precomputed logits")
            }
            try StudentInitialisation.interpolate(student, towards: t, lambda: lambda)
        }
        return student
    }

    /// Measures (or reads back) the distillation loss around the trained `student` and writes
    /// `landscape_seed-S.json` and its plots.
    func landscapeAround(_ student: Module, seed: UInt64, input: ModelInput, teacher: Teacher, teacherTrain: Tensor,
                         splits: Splits, session: DistillationSession, spec: LandscapeSpec) throws -> LandscapeResult {
        let json = directory.appendingPathComponent("landscape_seed-\(seed).json")
        let n = min(spec.examples, splits.transfer.count)
        let result: LandscapeResult
        if let data = try? Data(contentsOf: json), let saved = try? ResultJSON.decoder.decode(LandscapeResult.self, from: data),
           saved.version == LandscapeResult.currentVersion, saved.x.count == spec.grid, saved.line == Landscape.linePositions(spec), saved.examples == n {
            say("  reusing the landscape in \(json.path)")
            result = saved
        } else {
            guard let t = teacherNetwork(teacher) else {
                throw TrainingError.badValue(field: "landscape", value: config.teacher.model, expected: "a teacher network")
            }
            say("landscape: \(spec.grid)×\(spec.grid) plane and \(Landscape.linePositions(spec).count) points on the line, over \(n) examples")
            // the landscape is of the objective's single kd term (ExperimentConfig checks there is one)
            let temperature = try ResponseOptions.temperature(MethodOptions(method: config.methods[0].name, values: config.methods[0].options))
            result = try Landscape.measure(model: try ModelZoo.make(config.student.model, input: input, seed: seed),
                                           initial: try initialStudent(seed: seed, input: input, teacher: teacher).stateDict(),
                                           student: student.stateDict(), teacher: t.stateDict(),
                                           images: splits.transfer.images.slice(axis: 0, start: 0, length: n),
                                           teacherLogits: teacherTrain.slice(axis: 0, start: 0, length: n),
                                           temperature: temperature, spec: spec, seed: seed)
            if isWriter { try ResultJSON.encoder([.sortedKeys]).encode(result).write(to: json, options: .atomic) }
        }
        let plots = Landscape.plots(result, title: "\(config.name), seed \(seed)")
        if isWriter {
            try Data(plots.plane.utf8).write(to: directory.appendingPathComponent("landscape_plane_seed-\(seed).svg"), options: .atomic)
            try Data(plots.line.utf8).write(to: directory.appendingPathComponent("landscape_line_seed-\(seed).svg"), options: .atomic)
        }
        return result
    }

    /// Raises the output bias of the omitted class by the candidate that maximises held-out accuracy.
    func adjustBias(_ student: Module, spec: BiasAdjustSpec, validation: Dataset, test: Dataset) throws -> BiasAdjustResult {
        let classes = test.classCount
        guard let (path, bias) = student.namedParameters().last(where: { $0.path.hasSuffix("bias") && $0.parameter.shape == [classes] }) else {
            throw TrainingError.badValue(field: "bias_adjust", value: config.student.model, expected: "a student whose last layer has a bias of \(classes) classes")
        }
        _ = path
        let vLogits = try Evaluation.logits(of: student, on: validation)
        let tLogits = try Evaluation.logits(of: student, on: test)
        func shifted(_ l: Tensor, _ b: Float) -> Tensor {
            var offset = [Float](repeating: 0, count: classes); offset[spec.classIndex] = b
            return l + Tensor(offset)
        }
        var best = (bias: Float(0), accuracy: -1.0)
        for c in spec.candidates {
            let a = Metrics.accuracy(logits: shifted(vLogits, c), labels: validation.labels)
            if a > best.accuracy { best = (c, a) }
        }
        let before = errors(tLogits, test.labels), after = errors(shifted(tLogits, best.bias), test.labels)
        let classRows = test.labels.scalars.enumerated().filter { $0.element == spec.classIndex }.map(\.offset)
        let classSet = test.subset(classRows)
        let cBefore = errors(try Evaluation.logits(of: student, on: classSet), classSet.labels)
        let cAfter = errors(shifted(try Evaluation.logits(of: student, on: classSet), best.bias), classSet.labels)
        var b = bias.value
        b.withUnsafeMutableBufferPointer { $0[spec.classIndex] += best.bias }
        bias.value = b
        return BiasAdjustResult(classIndex: spec.classIndex, chosenBias: best.bias, validationAccuracy: best.accuracy,
                                testErrorsBefore: before, testErrorsAfter: after, classTestErrorsBefore: cBefore,
                                classTestErrorsAfter: cAfter, classTestCount: classRows.count)
    }
}
