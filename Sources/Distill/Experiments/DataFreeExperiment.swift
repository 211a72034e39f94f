import DistillNN
import Foundation
import Yams

/// A `kind: datafree` experiment file: a teacher (a model file, or trained here once and shared
/// under `--teachers`, as in distillation experiments), then one `distill datafree` run per seed
/// (`DIR/seed-N`, each resuming from its checkpoints), and `DIR/report.md` with every row's
/// mean ± std over the seeds.
///
/// ```yaml
/// kind: datafree
/// name: datafree-lenet5-fashion-mnist
/// data: fashion-mnist
/// seeds: [0, 1, 2]
/// teacher:               # as in distillation experiments: checkpoint: FILE, or model + train
///   model: lenet5:bn=true
///   train: {epochs: 10, optimizer: adam, lr: 0.002}
/// datafree:              # the options of `distill datafree`, with '_' for '-'
///   method: deepinversion
///   student: lenet5:half=true
///   images: 1000
///   baselines: true
/// short: [teacher.train.epochs=1, datafree.images=100, datafree.iterations=20, datafree.kd_steps=100]
/// ```
public struct DataFreeExperiment: Sendable {
    public var name = "datafree"
    public var data = "fashion-mnist"
    public var seeds: [UInt64] = [0]
    public var teacher = TeacherSpec()
    public var settings = DataFreeRun.Settings.commandLine

    public static func load(path: String, overrides: [String] = [], short: Bool = false) throws -> DataFreeExperiment {
        try parse(try DataExperimentDocument.read(path: path), file: path, overrides: overrides, short: short)
    }

    /// Parses the text of a `kind: datafree` file; `file` names it in errors.
    public static func parse(_ text: String, file path: String = "<experiment>", overrides: [String] = [], short: Bool = false) throws -> DataFreeExperiment {
        let d = try DataExperimentDocument.parse(text, file: path, overrides: overrides, short: short, defaultName: "datafree")
        var e = DataFreeExperiment(name: d.name, data: d.data, seeds: d.seeds)
        guard let t = try d.root.map("teacher") else {
            throw ExperimentError(file: path, line: nil, "a datafree experiment needs a 'teacher:' (checkpoint: FILE, or model: and train:)")
        }
        e.teacher = try ExperimentConfig.teacher(t, data: d.data)
        e.teacher.train.data = d.data
        e.teacher.train.model = e.teacher.model
        guard e.teacher.ensemble == 1, e.teacher.checkpoints.count <= 1, e.teacher.logits == nil, e.teacher.stopEpoch == nil else {
            throw ExperimentError(file: path, line: t.line, "key 'teacher': data-free distillation takes one teacher network (no ensemble, logits or stop_epoch)")
        }
        if let r = try d.root.map("datafree") { try read(r, into: &e.settings) }
        try d.root.finish()
        try e.settings.validate()
        return e
    }

    static func read(_ r: MapReader, into s: inout DataFreeRun.Settings) throws {
        s.method = try r.string("method") ?? s.method
        s.student = try r.string("student") ?? s.student
        s.images = try r.int("images") ?? s.images
        s.inversionBatch = try r.int("inversion_batch") ?? s.inversionBatch
        s.inversion.iterations = try r.int("iterations") ?? s.inversion.iterations
        s.inversion.learningRate = try r.float("lr") ?? s.inversion.learningRate
        s.inversion.bnWeight = try r.float("bn_weight") ?? s.inversion.bnWeight
        let adi = try r.float("adi_weight")
        s.inversion.adiWeight = s.method == "adi" ? (adi ?? 1) : 0
        s.kd.steps = try r.int("kd_steps") ?? s.kd.steps
        s.kd.batchSize = try r.int("kd_batch") ?? s.kd.batchSize
        if let lr = try r.float("kd_lr") { s.kd.learningRate = lr; s.dafl.studentLR = lr }
        s.kd.temperature = try r.float("temperature") ?? s.kd.temperature
        s.kd.augmentation = try r.string("kd_augment") ?? s.kd.augmentation
        s.daflEpochs = try r.int("dafl_epochs") ?? s.daflEpochs
        s.dafl.iterationsPerEpoch = try r.int("dafl_iterations") ?? s.dafl.iterationsPerEpoch
        s.dafl.batchSize = try r.int("dafl_batch") ?? s.dafl.batchSize
        s.baselines = try r.bool("baselines") ?? s.baselines
        s.testSubset = try r.int("test_subset") ?? s.testSubset
        s.validation = try r.int("validation") ?? s.validation
        s.metadata = try r.string("metadata") ?? s.metadata
        s.lopesTemperature = try r.float("lopes_temperature") ?? s.lopesTemperature
        s.lopesInitMean = try r.float("lopes_init_mean") ?? s.lopesInitMean
        s.lopesInitStd = try r.float("lopes_init_std") ?? s.lopesInitStd
        try r.finish()
    }

    /// The teacher's model file: the checkpoint given, or the one trained (or reused) under
    /// `teacherRoot` with the experiment runner's teacher key.
    public func teacherFile(directory: URL, teacherRoot: URL?, log: @escaping (String) -> Void) throws -> String {
        if let c = teacher.checkpoints.first { return c }
        var c = ExperimentConfig()
        c.name = name; c.data = data; c.teacher = teacher; c.teacher.shared = true
        let runner = ExperimentRunner(config: c, directory: directory)
        if let t = teacherRoot { runner.teacherRoot = t }
        runner.say = log
        _ = try runner.teacherMembers(seed: 0, splits: try runner.splits())
        return runner.teacherRoot.appendingPathComponent("\(ExperimentRunner.teacherKey(c.teacher))/member-0/model.safetensors").path
    }

    /// Trains or finds the teacher, runs (or resumes) every seed, writes `DIR/report.md`.
    public func run(directory: URL, teacherRoot: URL? = nil, log: @escaping (String) -> Void) throws -> [(seed: UInt64, result: DataFreeRun.Result)] {
        _ = try ModelZoo.make(settings.student, input: DataSpec.modelInput(for: try DataSpec(data).load(.test)), seed: 0)   // a bad student fails before the teacher trains
        let path = try teacherFile(directory: directory, teacherRoot: teacherRoot, log: log)
        var out: [(seed: UInt64, result: DataFreeRun.Result)] = []
        for seed in seeds {
            var s = settings
            s.seed = seed; s.kd.seed = seed
            let run = DataFreeRun(settings: s, teacher: path, teacherModel: teacher.checkpoints.isEmpty ? teacher.model : nil, data: data,
                                  out: directory.appendingPathComponent("seed-\(seed)"))
            run.log = log
            log("seed \(seed): \(run.out.path)")
            out.append((seed, try run.run()))
        }
        try Self.markdown(name: name, out).write(to: directory.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        return out
    }

    /// Every row's test accuracy as mean ± std over the seeds (best = last here: the student is
    /// evaluated once, after its KD steps; nothing is chosen on the test set).
    public static func markdown(name: String, _ runs: [(seed: UInt64, result: DataFreeRun.Result)]) -> String {
        guard let first = runs.first?.result else { return "# \(name)\n\nno runs\n" }
        let st = first.settings
        var s = "# \(name)\n\nData-free distillation (`\(st.method)`): teacher `\(first.teacher)` (test accuracy \(String(format: "%.2f", 100 * first.teacherAccuracy)) %) → student `\(st.student)`, "
        s += "\(st.images) recovered images, KD \(st.kd.steps) steps of \(st.kd.batchSize) at T = \(st.kd.temperature), augmentation \(st.kd.augmentation ?? "none"); seeds \(runs.map { String($0.seed) }.joined(separator: ", ")). Per-seed reports and image grids: `seed-N/report.md`.\n\n"
        if let n = st.validation { s += "Validation: the last \(n) training images, held out (settings are chosen on that column).\n\n" }
        s += "| row | validation (%), mean ± std | test accuracy (%), mean ± std over seeds | test per seed | real training images | seconds per seed |\n|---|---:|---:|---|---:|---:|\n"
        for (j, row) in first.rows.enumerated() {
            let same = runs.compactMap { $0.result.rows.count > j ? $0.result.rows[j] : nil }
            let (m, sd) = meanAndStd(same.map(\.accuracy))
            let vals = same.compactMap(\.validationAccuracy)
            let (vm, vs) = meanAndStd(vals)
            let val = vals.isEmpty ? "–" : String(format: "%.2f ± %.2f", 100 * vm, 100 * vs)
            let per = same.map { String(format: "%.2f", 100 * $0.accuracy) }.joined(separator: ", ")
            s += String(format: "| %@ | %@ | %.2f ± %.2f | %@ | %d | %.0f |\n", row.name, val, 100 * m, 100 * sd, per, row.realTrainingImages,
                        same.map(\.seconds).reduce(0, +) / Double(max(same.count, 1)))
        }
        return s
    }
}
