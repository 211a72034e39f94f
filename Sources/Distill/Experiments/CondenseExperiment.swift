import Foundation
import Yams

/// A `kind: condense` experiment file: one `CondensationPlan` run per seed (`DIR/seed-N`, each
/// resuming from its checkpoints), and `DIR/report.md` with every row's mean ± std over the seeds.
///
/// ```yaml
/// kind: condense
/// name: condense-dm-fashion-mnist
/// data: fashion-mnist
/// seeds: [0, 1, 2]
/// condense:            # the options of `distill condense`, with '_' for '-'
///   method: dm         # dm, dc or dsa
///   ipc: [1, 10, 50]
///   iterations: 1000
///   eval_epochs: 300
/// short: [condense.ipc=1, condense.iterations=20, condense.eval_epochs=20]
/// ```
/// The evaluation networks of seed N are seeded N + 1000 (as `distill condense --seed N`); the
/// whole-training-set row is computed once and cached in `DIR/whole-train-cache.json`.
public struct CondenseExperiment: Sendable {
    public var name = "condense"
    public var seeds: [UInt64] = [0]
    public var plan = CondensationPlan()

    public static func load(path: String, overrides: [String] = [], short: Bool = false) throws -> CondenseExperiment {
        try parse(try DataExperimentDocument.read(path: path), file: path, overrides: overrides, short: short)
    }

    /// Parses the text of a `kind: condense` file; `file` names it in errors.
    public static func parse(_ text: String, file: String = "<experiment>", overrides: [String] = [], short: Bool = false) throws -> CondenseExperiment {
        let d = try DataExperimentDocument.parse(text, file: file, overrides: overrides, short: short, defaultName: "condense")
        var e = CondenseExperiment(name: d.name, seeds: d.seeds)
        e.plan.data = d.data
        if let r = try d.root.map("condense") { try read(r, into: &e.plan) }
        try d.root.finish()
        return e
    }

    static func read(_ r: MapReader, into p: inout CondensationPlan) throws {
        p.method = try r.string("method") ?? p.method
        if let s = try DataExperimentDocument.intList(r, "ipc") {
            guard !s.isEmpty else { throw r.fail("ipc", r.mapping[Node("ipc")], "at least one size") }
            p.sizes = s
        }
        p.iterations = try r.int("iterations", min: 0) ?? p.iterations
        p.model = try r.string("model") ?? p.model
        p.initialization = try r.string("init") ?? p.initialization
        p.initFile = try r.string("init_file") ?? p.initFile
        p.imageLearningRate = try r.float("lr_img") ?? p.imageLearningRate
        p.realBatch = try r.int("batch_real", min: 1) ?? p.realBatch
        p.augmentation = try r.string("augment") ?? p.augmentation
        p.checkpointEvery = try r.int("checkpoint_every", min: 1) ?? p.checkpointEvery
        p.evalModel = try r.string("eval_model") ?? p.evalModel
        p.evalEpochs = try r.int("eval_epochs", min: 1) ?? p.evalEpochs
        p.evalNetworks = try r.int("eval_networks", min: 1) ?? p.evalNetworks
        p.testLimit = try r.int("test_limit", min: 1) ?? p.testLimit
        p.wholeEpochs = try r.int("whole_epochs", min: 0) ?? p.wholeEpochs
        p.cross = try DataExperimentDocument.stringList(r, "cross") ?? p.cross
        try r.finish()
    }

    /// Every seed's run, checked before the first one starts.
    public func runs(directory: URL) throws -> [(seed: UInt64, run: CondensationRun)] {
        try seeds.map { seed in
            var p = plan
            p.seed = seed
            p.cache = p.cache ?? directory.appendingPathComponent("whole-train-cache.json").path
            return (seed, try p.makeRun(out: directory.appendingPathComponent("seed-\(seed)").path))
        }
    }

    /// Runs (or resumes) every seed, writes `DIR/report.md` and returns the per-seed results.
    public func run(directory: URL, log: @escaping (String) -> Void) throws -> [(seed: UInt64, results: [CondensationRun.SizeResult])] {
        let all = try runs(directory: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var out: [(seed: UInt64, results: [CondensationRun.SizeResult])] = []
        for (seed, var r) in all {
            log("seed \(seed): \(r.out)")
            r.log = log
            out.append((seed, try r.run()))
        }
        try Self.markdown(name: name, plan: plan, out).write(to: directory.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        return out
    }

    /// The summary over seeds: one line per (images per class, row, model), the mean over seeds of
    /// each seed's mean over its evaluation networks, ± the standard deviation over seeds.
    public static func markdown(name: String, plan: CondensationPlan, _ runs: [(seed: UInt64, results: [CondensationRun.SizeResult])]) -> String {
        var s = "# \(name)\n\nDataset condensation (`\(plan.method)`) on \(plan.data), seeds \(runs.map { String($0.seed) }.joined(separator: ", ")). "
        s += "Each seed condenses its own set and trains \(plan.evalNetworks) fresh evaluation networks on it; the columns give the mean ± std over seeds of each seed's mean test accuracy, and the mean over seeds of each seed's own std over its networks. Per-seed reports: `seed-N/report.md` (images, learning curves, costs).\n\n"
        s += "| images/class | row | model | accuracy (%) over seeds | std over networks (%) | condensation (s / seed) | outer iteration (s) |\n|---:|---|---|---:|---:|---:|---:|\n"
        guard let first = runs.first else { return s }
        for (i, size) in first.results.enumerated() {
            for (j, row) in size.rows.enumerated() {
                let same = runs.compactMap { $0.results.count > i && $0.results[i].rows.count > j ? ($0.results[i], $0.results[i].rows[j]) : nil }
                let (m, sd) = meanAndStd(same.map { $0.1.outcome.mean })
                let within = same.map { $0.1.outcome.std }.reduce(0, +) / Double(max(same.count, 1))
                let condense = row.name.hasPrefix("synthetic") ? String(format: "%.0f", same.map { $0.0.condenseSeconds }.reduce(0, +) / Double(max(same.count, 1))) : ""
                let iter = row.name.hasPrefix("synthetic") ? String(format: "%.2f", same.map { $0.0.iterationSeconds }.reduce(0, +) / Double(max(same.count, 1))) : ""
                s += String(format: "| %d | %@ | `%@` | %.2f ± %.2f | %.2f | %@ | %@ |\n", row.imagesPerClass, row.name, row.model, 100 * m, 100 * sd, 100 * within, condense, iter)
            }
        }
        return s
    }
}
