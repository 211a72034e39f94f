import DistillCore
import DistillData
import DistillNN
import Foundation

/// One `distill condense` run: for each images-per-class size, condense (resuming from
/// `DIR/ipc-N/checkpoint.safetensors` after a kill), write `synthetic.npy` (pixel units, not
/// clipped), `labels.npy`, `grid.png`/`grid.svg`, then evaluate the synthetic set beside a random
/// real subset of the same size, the whole training set (cached) and other architectures, and
/// write `result.json` and `report.md` with the wall-clock cost of every row.
public struct CondensationRun {
    public var data: String
    public var sizes: [Int]
    public var base: CondensationConfig
    public var evaluation: CondensationEvaluation
    /// Epochs of the whole-training-set row (0: skipped); its result is cached in `cache`.
    public var wholeEpochs: Int = 1
    public var cache: String?
    /// Architectures the set condensed with `base.model` is also evaluated on.
    public var crossModels: [String] = ["mlp:128x128", "lenet5"]
    public var out: String
    /// A synthetic set to start from (`--init-file`), pixel units [classes·ipc, C, H, W].
    public var initFile: String?
    public var log: (String) -> Void = { _ in }

    public init(data: String, sizes: [Int], base: CondensationConfig, evaluation: CondensationEvaluation, out: String) {
        self.data = data; self.sizes = sizes; self.base = base; self.evaluation = evaluation; self.out = out
    }

    public struct Row: Codable, Equatable {
        public var name: String, model: String, imagesPerClass: Int
        public var outcome: CondensationEvaluation.Outcome
        /// Wall seconds of the row: condensation plus evaluation for the synthetic row.
        public var seconds: Double
    }

    public struct SizeResult: Codable, Equatable {
        public var imagesPerClass: Int
        public var config: CondensationConfig
        public var condenseSeconds: Double
        public var iterationSeconds: Double
        public var finalLoss: Double?
        public var rows: [Row]
    }

    /// Checks every input before any work: sizes, configs, models against the data, the init file.
    public func validate(train: Dataset) throws -> ModelInput {
        guard !sizes.isEmpty, sizes.count <= 16 else { throw CondensationError.badValue(field: "ipc", detail: "give 1 to 16 sizes, got \(sizes.count)") }
        let input = DataSpec.modelInput(for: train)
        for ipc in sizes {
            var c = base; c.imagesPerClass = ipc
            try c.validate()
            if base.method != .dm, CondensationConfig.referenceLoops(ipc: ipc) == nil {
                _ = try CondensationConfig(method: base.method, imagesPerClass: ipc, iterations: 0)
            }
            for k in 0..<train.classCount where train.classCounts[k] < ipc {
                throw CondensationError.badValue(field: "ipc", detail: "class \(k) has \(train.classCounts[k]) training images, fewer than \(ipc)")
            }
        }
        try evaluation.validate()
        guard (0...10_000).contains(wholeEpochs) else { throw CondensationError.badValue(field: "whole-epochs", detail: "must be in 0…10000, got \(wholeEpochs)") }
        try ModelZoo.check(base.model, input: input)
        try ModelZoo.check(evaluation.model, input: input)
        for m in crossModels { try ModelZoo.check(m, input: input) }
        if let f = initFile {
            guard sizes.count == 1 else { throw CondensationError.badValue(field: "init-file", detail: "needs exactly one --ipc size") }
            let expected = [train.classCount * sizes[0]] + train.imageShape
            let shape = try NumPy.read(f).shape
            guard shape == expected else { throw CondensationError.shapeMismatch(path: f, expected: expected, got: shape) }
        }
        return input
    }

    public func run() throws -> [SizeResult] {
        let spec = try DataSpec(data)
        let train = try spec.load(.train), testRaw = try spec.load(.test)
        _ = try validate(train: train)
        let real = try ClassImages(train)
        let test = Dataset(name: testRaw.name, images: ClassImages.normalise(testRaw.images, mean: real.mean, std: real.std),
                           labels: testRaw.labels, classCount: testRaw.classCount)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var results: [SizeResult] = []
        var whole: Row?
        if wholeEpochs > 0 {
            var e = evaluation; e.epochs = wholeEpochs
            log("whole training set: \(real.images.shape[0]) images, \(wholeEpochs) epochs × \(e.networks) networks (cached in \(cache ?? "nothing"))")
            let o = try e.wholeTrainingSet(real, test: test, dataName: spec.description, cache: cache)
            whole = Row(name: "whole training set (\(wholeEpochs) epochs)", model: e.model, imagesPerClass: train.count / max(train.classCount, 1), outcome: o, seconds: o.seconds)
        }
        for ipc in sizes {
            var c = base; c.imagesPerClass = ipc
            if let l = CondensationConfig.referenceLoops(ipc: ipc), base.method != .dm { c.outerLoop = l.outer; c.innerLoop = l.inner }
            let dir = (out as NSString).appendingPathComponent("ipc-\(ipc)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let initial = try initFile.map { ClassImages.normalise(try NumPy.read($0).tensor, mean: real.mean, std: real.std) }
            let condenser = try Condenser(config: c, real: real, initial: initial)
            let ckpt = (dir as NSString).appendingPathComponent("checkpoint.safetensors")
            var spent = 0.0
            if FileManager.default.fileExists(atPath: ckpt) {
                let saved = try TrainingCheckpoint.read(from: ckpt)
                try condenser.restore(saved, path: ckpt)
                spent = saved.seconds
                log("ipc \(ipc): resumed at iteration \(condenser.iteration) from \(ckpt)")
            }
            let start = Date()
            var done = condenser.iteration
            while condenser.iteration < c.iterations {
                let loss = try condenser.step()
                if condenser.iteration % 10 == 0 || condenser.iteration == c.iterations {
                    log(String(format: "ipc %d: iteration %d/%d, loss %.4f", ipc, condenser.iteration, c.iterations, loss))
                }
                if c.checkpointEvery > 0, condenser.iteration % c.checkpointEvery == 0 {
                    try condenser.checkpoint(seconds: spent + Date().timeIntervalSince(start)).write(to: ckpt)
                }
            }
            let ran = Date().timeIntervalSince(start)
            done = condenser.iteration - done
            try condenser.checkpoint(seconds: spent + ran).write(to: ckpt)
            let condenseSeconds = spent + ran
            let synthetic = condenser.images.value.detached()
            try NumPy.write(NumPyArray(real.denormalise(synthetic)), to: (dir as NSString).appendingPathComponent("synthetic.npy"))
            try NumPy.write(NumPyArray(condenser.labels), to: (dir as NSString).appendingPathComponent("labels.npy"))
            let grid = try ImageGrid.byClass(images: real.denormalise(synthetic), labels: condenser.labels.scalars, classNames: train.classNames)
            _ = try grid.write(stem: (dir as NSString).appendingPathComponent("grid"), title: "\(c.method.rawValue.uppercased()), \(ipc) image(s) per class")

            var rows: [Row] = []
            let syn = try evaluation.run(images: synthetic, labels: condenser.labels, test: test, classes: real.classCount)
            rows.append(Row(name: "synthetic (\(c.method.rawValue))", model: evaluation.model, imagesPerClass: ipc, outcome: syn, seconds: condenseSeconds + syn.seconds))
            let subset = CondensationEvaluation.randomSubset(real, perClass: ipc, seed: evaluation.seed &+ UInt64(ipc))
            let rnd = try evaluation.run(images: subset.images, labels: subset.labels, test: test, classes: real.classCount)
            rows.append(Row(name: "random real subset", model: evaluation.model, imagesPerClass: ipc, outcome: rnd, seconds: rnd.seconds))
            for m in crossModels {
                var e = evaluation; e.model = m
                let o = try e.run(images: synthetic, labels: condenser.labels, test: test, classes: real.classCount)
                rows.append(Row(name: "synthetic (\(c.method.rawValue)), cross-architecture", model: m, imagesPerClass: ipc, outcome: o, seconds: o.seconds))
            }
            if let whole { rows.append(whole) }
            for r in rows { log(String(format: "ipc %d: %@ on %@: %.2f ± %.2f %%", ipc, r.name, r.model, 100 * r.outcome.mean, 100 * r.outcome.std)) }
            results.append(SizeResult(imagesPerClass: ipc, config: c, condenseSeconds: condenseSeconds,
                                      iterationSeconds: done > 0 ? ran / Double(done) : 0, finalLoss: condenser.losses.last, rows: rows))
        }
        try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(results).write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("result.json")))
        try CondensationReport.markdown(results, data: data, evaluation: evaluation, wholeEpochs: wholeEpochs)
            .write(toFile: (out as NSString).appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        try CondensationReport.chart(results).write(toFile: (out as NSString).appendingPathComponent("accuracy.svg"), atomically: true, encoding: .utf8)
        return results
    }
}
