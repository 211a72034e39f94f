import DistillCore
import DistillData
import DistillNN
import Foundation

/// One `distill datafree` run: recover a transfer set from a frozen teacher alone (DeepInversion,
/// Adaptive DeepInversion, DAFL, or Lopes et al.'s reconstruction from activation metadata),
/// distil the student on it, evaluate on the test split, and optionally the reference rows (KD on
/// Gaussian noise, KD on the real training images, the student trained alone on them), then
/// write `report.md`, `result.json` and the per-class grid of recovered images
/// (`recovered_grid.png/.svg`). No real training image is read by the
/// data-free rows; the test split is read for evaluation only. The Lopes methods read the
/// metadata released with the teacher (`metadata`), or record it first from the training split
/// into `metadata.safetensors`, as the model's publisher would: per-class statistics only, never
/// an image, reach the reconstruction.
///
/// Checkpoints: DeepInversion and the Lopes methods write `recovered.npy` after every inverted
/// batch (and, for `adi`, the student after its KD round); DAFL writes `dafl.safetensors`
/// (generator, student, both Adam states, the epoch) after every epoch. A rerun with the same `--out` continues from them.
public final class DataFreeRun {
    public static let methods = ["deepinversion", "adi", "dafl", "lopes-top-layer", "lopes-all-layers"]

    public struct Settings: Codable, Equatable, Sendable {
        public var method = "deepinversion"
        public var student = "lenet5:half=true"
        public var images = 1000
        public var inversionBatch = 100
        public var inversion = DeepInversionSettings()
        public var dafl = DAFLSettings()
        public var daflEpochs = 5
        public var kd = TransferSetKD()
        public var baselines = false
        public var seed: UInt64 = 0
        /// Evaluate on the first N test examples only (nil: all).
        public var testSubset: Int?
        /// Hold out the last N training images as a validation split: every row's student is also
        /// evaluated on them, so settings are chosen there and not on the test set. The data-free
        /// rows never train on real images anyway; the real-data reference rows train on the rest.
        public var validation: Int?
        /// The Lopes methods' activation metadata file (nil: recorded from the training split).
        public var metadata: String?
        /// The temperature of the Lopes top layer (logits / T; the reference's 8).
        public var lopesTemperature: Float = 8
        /// The Lopes images start as pixel-space N(mean, std²): the reference's MNIST 0.15, 0.1.
        public var lopesInitMean: Float = 0.15, lopesInitStd: Float = 0.1
        public init() {}

        /// The Lopes objective of `method`, nil for the other methods.
        public var lopesObjective: ActivationRecovery.Objective? {
            method.hasPrefix("lopes-") ? ActivationRecovery.Objective(rawValue: String(method.dropFirst(6))) : nil
        }

        /// The defaults of `distill datafree` and of a `kind: datafree` experiment file: the
        /// library's, with 200 DeepInversion steps per batch instead of the reference's 2000 (cost).
        public static var commandLine: Settings {
            var s = Settings()
            s.inversion.iterations = 200
            return s
        }

        /// Bounds, checked before any file is read.
        public func validate() throws {
            guard DataFreeRun.methods.contains(method) else {
                throw DataFreeError.badValue(field: "method", value: method, expected: "one of \(DataFreeRun.methods.joined(separator: ", "))")
            }
            for (f, v, r) in [("images", images, 1...100_000), ("inversion-batch", inversionBatch, 2...4096), ("iterations", inversion.iterations, 1...100_000),
                              ("kd-steps", kd.steps, 0...1_000_000), ("kd-batch", kd.batchSize, 1...4096), ("dafl-epochs", daflEpochs, 1...10_000),
                              ("dafl-iterations", dafl.iterationsPerEpoch, 1...100_000), ("dafl-batch", dafl.batchSize, 2...4096)] where !r.contains(v) {
                throw DataFreeError.badValue(field: f, value: "\(v)", expected: "an integer in \(r.lowerBound)…\(r.upperBound)")
            }
            guard lopesInitMean.isFinite, abs(lopesInitMean) <= 1e6 else {
                throw DataFreeError.badValue(field: "lopes-init-mean", value: "\(lopesInitMean)", expected: "a finite number")
            }
            if let n = validation, !(1...100_000).contains(n) {
                throw DataFreeError.badValue(field: "validation", value: "\(n)", expected: "an integer in 1…100000")
            }
            if let n = testSubset, !(1...1_000_000).contains(n) {
                throw DataFreeError.badValue(field: "test-subset", value: "\(n)", expected: "an integer in 1…1000000")
            }
            for (f, v) in [("lr", inversion.learningRate), ("kd-lr", kd.learningRate), ("temperature", kd.temperature),
                           ("lopes-temperature", lopesTemperature), ("lopes-init-std", lopesInitStd)] where !(v > 0 && v.isFinite) {
                throw DataFreeError.badValue(field: f, value: "\(v)", expected: "a positive number")
            }
        }
    }

    public struct Row: Codable, Equatable, Sendable {
        public var name: String, accuracy: Double, seconds: Double, realTrainingImages: Int
        /// Accuracy on the held-out validation split (`validation`), nil without one.
        public var validationAccuracy: Double? = nil
    }

    public struct Result: Codable, Equatable, Sendable {
        public var settings: Settings
        public var teacher: String, teacherAccuracy: Double
        public var rows: [Row]
        public var collapsedBatches: Int?, daflBatches: Int?
        public var teacherValidationAccuracy: Double?
        public var lastDiversity: BatchDiversity?
        /// Training examples whose statistics the Lopes metadata summarises (nil for other methods).
        public var metadataExamples: Int?
    }

    let settings: Settings, teacherPath: String, teacherModel: String?, data: String, out: URL
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(settings: Settings, teacher: String, teacherModel: String?, data: String, out: URL) {
        self.settings = settings; teacherPath = teacher; self.teacherModel = teacherModel; self.data = data; self.out = out
    }

    public func run() throws -> Result {
        try settings.validate()
        let spec = try DataSpec(data)
        var test = try spec.load(.test)
        if let n = settings.testSubset { test = test.first(n) }
        let validation = try settings.validation.map { n -> Dataset in
            let train = try spec.load(.train)
            guard n < train.count else {
                throw DataFreeError.badValue(field: "validation", value: "\(n)", expected: "fewer than the \(train.count) training images")
            }
            return train.subset(Array((train.count - n)..<train.count), name: "\(train.name) (last \(n), validation)")
        }
        let file = try ModelFile.read(teacherPath, model: teacherModel, modelFlag: "--teacher-model")
        try file.check(fits: test, data: data)
        let net = try file.module(input: DataSpec.modelInput(for: test)).module
        let teacher = try FrozenTeacher(net, spec: file.spec, classCount: test.classCount)
        switch settings.method {
        case "dafl": try teacher.requirePenultimate(method: "dafl")
        case _ where settings.lopesObjective != nil: try teacher.requireActivationLayers(method: settings.method)
        default: try teacher.requireBatchNorm(method: settings.method)
        }
        let input = DataSpec.modelInput(for: test)
        let shape = [input.channels, input.height, input.width]
        _ = try settings.kd.parsedAugmentation(imageShape: shape)
        _ = try ModelZoo.make(settings.student, input: input, seed: settings.seed)   // a bad --student fails before work
        if settings.method == "dafl", input.height % 4 != 0 || input.width != input.height {
            throw DataFreeError.badValue(field: "data", value: data, expected: "square images whose size is a multiple of 4 for DAFL's generator, got \(input.height)×\(input.width)")
        }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let metadata = try settings.lopesObjective.map { _ in try lopesMetadata(teacher: teacher, shape: shape, spec: spec) }
        let teacherAccuracy = try TransferSetKD.accuracy(net, on: test)
        log("teacher \(file.spec): test accuracy \(String(format: "%.4f", teacherAccuracy))")
        var rows: [Row] = []
        var result = Result(settings: settings, teacher: file.spec, teacherAccuracy: teacherAccuracy, rows: [])
        result.metadataExamples = metadata.map { $0.classCounts.reduce(0, +) }
        let clock = ContinuousClock(), start = clock.now
        let student = try ModelZoo.make(settings.student, input: input, seed: settings.seed)
        let recovered: Tensor
        if settings.method == "dafl" {
            recovered = try runDAFL(teacher: teacher, student: student, shape: shape, result: &result)
        } else {
            recovered = try runInversion(teacher: teacher, student: student, shape: shape, metadata: metadata)
            settings.kd.distil(student: student, teacher: teacher, images: recovered)
        }
        try student.save(to: out.appendingPathComponent(Self.modelFile("\(settings.method) (data-free)")).path, metadata: ["model": settings.student, "data": data])
        rows.append(Row(name: "\(settings.method) (data-free)", accuracy: try TransferSetKD.accuracy(student, on: test),
                        seconds: seconds(clock.now - start), realTrainingImages: 0))
        let labels = teacher.logits(recovered).argmax(alongAxis: 1).scalars
        let shown = Self.perClass(labels, classes: test.classCount, each: 10)
        let grid = try ImageGrid.byClass(images: recovered.indexSelect(alongAxis: 0, indices: IntTensor(shown)),
                                         labels: shown.map { labels[$0] }, classNames: test.classNames)
        _ = try grid.write(stem: out.appendingPathComponent("recovered_grid").path, title: "\(settings.method): recovered images by the teacher's class")
        if settings.baselines { rows += try baselineRows(teacher: teacher, input: input, test: test, spec: spec) }
        if let validation {
            result.teacherValidationAccuracy = try TransferSetKD.accuracy(net, on: validation)
            for i in rows.indices {
                let s = try ModelZoo.make(settings.student, input: input, seed: settings.seed)
                try s.load(from: out.appendingPathComponent(Self.modelFile(rows[i].name)).path)
                rows[i].validationAccuracy = try TransferSetKD.accuracy(s, on: validation)
            }
        }
        result.rows = rows
        try ResultJSON.encoder([.prettyPrinted, .sortedKeys]).encode(result).write(to: out.appendingPathComponent("result.json"))
        try Self.markdown(result).write(to: out.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
        return result
    }

    /// Where a row's student is saved: `student.safetensors` for the data-free row, else
    /// `reference-N.safetensors` (N: 1 noise, 2 real KD, 3 alone).
    static func modelFile(_ row: String) -> String {
        if row.hasSuffix("(data-free)") { return "student.safetensors" }
        let i = ["KD on Gaussian noise", "KD on the real training images", "student alone (real images, labels)"].firstIndex(of: row) ?? 0
        return "reference-\(i + 1).safetensors"
    }

    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

    /// Up to `each` indices per class, in order.
    static func perClass(_ labels: [Int], classes: Int, each: Int) -> [Int] {
        var count = [Int](repeating: 0, count: classes), out: [Int] = []
        for (i, y) in labels.enumerated() where count[y] < each { count[y] += 1; out.append(i) }
        return out
    }

    /// The metadata file given, checked against the teacher, or the statistics recorded once from
    /// the training split (all of it but the validation rows) into `metadata.safetensors`.
    func lopesMetadata(teacher: FrozenTeacher, shape: [Int], spec: DataSpec) throws -> ActivationMetadata {
        if let path = settings.metadata {
            let m = try ActivationMetadata.load(path, for: teacher, input: shape)
            guard m.temperature == settings.lopesTemperature else {
                throw DataFreeError.badValue(field: "lopes-temperature", value: "\(settings.lopesTemperature)", expected: "the temperature \(m.temperature) the metadata \(path) was recorded at")
            }
            return m
        }
        let path = out.appendingPathComponent("metadata.safetensors").path
        if FileManager.default.fileExists(atPath: path) {
            let m = try ActivationMetadata.load(path, for: teacher, input: shape)
            if m.temperature == settings.lopesTemperature { log("activation metadata: \(path)"); return m }
        }
        var train = try spec.load(.train)
        if let n = settings.validation { train = train.first(train.count - n) }
        log("recording the teacher's activation statistics on \(train.count) training images (the metadata a publisher releases with the model)")
        let m = try ActivationMetadata.record(teacher: teacher, on: train, temperature: settings.lopesTemperature)
        try m.save(to: path)   // `run` has created `out`
        return m
    }

    func runInversion(teacher: FrozenTeacher, student: Module, shape: [Int], metadata: ActivationMetadata?) throws -> Tensor {
        let path = out.appendingPathComponent("recovered.npy").path
        var parts: [Tensor] = []
        var done = 0
        if FileManager.default.fileExists(atPath: path) {
            let t = try NumPy.read(path).tensor
            guard t.rank == 4, Array(t.shape.dropFirst()) == shape else {
                throw DataFreeError.badValue(field: "checkpoint", value: path, expected: "recovered images [N, \(shape.map(String.init).joined(separator: ", "))], got \(Shape.describe(t.shape))")
            }
            parts = [t]; done = t.shape[0]
            log("resuming from \(path): \(done) images recovered")
        }
        let studentPath = out.appendingPathComponent("adi_student.safetensors").path
        if settings.method == "adi", done > 0, FileManager.default.fileExists(atPath: studentPath) { try student.load(from: studentPath) }
        var s = settings.inversion
        if settings.method == "adi" && s.adiWeight == 0 { s.adiWeight = 1 }
        let norm = teacher.model.inputNormalization
        while done < settings.images {
            let b = min(settings.inversionBatch, settings.images - done)
            var g = SeededGenerator(seed: settings.seed &+ UInt64(done) &* 7919)
            var initial = Tensor.normal([b] + shape, using: &g)
            if settings.lopesObjective != nil {   // the Lopes reference's pixel-space N(0.15, 0.1²) (its MNIST setting)
                initial = initial * settings.lopesInitStd + settings.lopesInitMean
            } else if let norm {   // Gaussian noise in the teacher's normalised space, as the reference
                let c = norm.mean.count
                initial = initial * Tensor(shape: [1, c, 1, 1], scalars: norm.std) + Tensor(shape: [1, c, 1, 1], scalars: norm.mean)
            }
            let images: Tensor, summary: String
            if let metadata, let objective = settings.lopesObjective {
                // one class per batch, as the reference: batch i holds class i mod K
                let y = (done / max(settings.inversionBatch, 1)) % teacher.classCount
                let t = ActivationRecovery.targets(metadata, objective: objective, classIndex: y, count: b, using: &g)
                let r = ActivationRecovery.reconstruct(teacher: teacher, metadata: metadata, objective: objective, initial: initial, targets: t,
                                                       iterations: s.iterations, learningRate: s.learningRate)
                images = r.images
                summary = String(format: "class %d, last step loss %.5f", y, r.loss)
            } else {
                let (x, terms) = DeepInversion.invert(teacher: teacher, student: settings.method == "adi" ? student : nil, initial: initial,
                                                      targets: DeepInversion.targets(b, classes: teacher.classCount, offset: done), settings: s, using: &g)
                images = x
                summary = String(format: "last batch loss %.4f (CE %.4f, BN %.4f, ADI %.4f)", terms.total, terms.ce, terms.bn, terms.adi)
            }
            parts.append(images); done += b
            let all = Tensor.concatenated(parts, alongAxis: 0)
            parts = [all]
            if settings.method == "adi" {   // KD round on everything so far, so the next batch challenges the current student
                var kd = settings.kd
                kd.steps = max(1, settings.kd.steps * b / max(settings.images, 1)); kd.seed = settings.seed &+ UInt64(done)
                kd.distil(student: student, teacher: teacher, images: all)
                try student.save(to: studentPath)
            }
            try NumPy.write(NumPyArray(all), to: path)
            log("\(settings.method): \(done)/\(settings.images) images; \(summary)")
        }
        return parts[0]
    }

    func runDAFL(teacher: FrozenTeacher, student: Module, shape: [Int], result: inout Result) throws -> Tensor {
        let gen = DAFLGenerator(latent: settings.dafl.latent, channels: shape[0], imageSize: shape[1], seed: settings.seed &+ 1)
        let trainer = try DAFLTrainer(generator: gen, student: student, teacher: teacher, settings: settings.dafl, seed: settings.seed &+ 2)
        let path = out.appendingPathComponent("dafl.safetensors").path
        var epoch = 0
        if FileManager.default.fileExists(atPath: path) {
            let f = try SafeTensors.read(from: path)
            func part(_ p: String) -> [String: Tensor] { f.tensors.filter { $0.key.hasPrefix(p) }.reduce(into: [:]) { $0[String($1.key.dropFirst(p.count))] = $1.value } }
            try gen.loadStateDict(part("generator.")); try student.loadStateDict(part("student."))
            try trainer.generatorOptimizer.loadStateDict(part("opt_g.")); try trainer.studentOptimizer.loadStateDict(part("opt_s."))
            epoch = Int(f.metadata["epoch"] ?? "0") ?? 0
            if let st = f.metadata["random"]?.split(separator: ",").compactMap({ UInt64($0) }), st.count == 4 { trainer.random = SeededGenerator(state: st) }
            log("resuming DAFL after epoch \(epoch)")
        }
        var collapsed = 0, batches = 0
        while epoch < settings.daflEpochs {
            var last: DAFLTrainer.Step?
            for _ in 0..<settings.dafl.iterationsPerEpoch {
                let s = trainer.step()
                batches += 1
                if s.diversity.collapsed(pixels: shape.reduce(1, *)) { collapsed += 1 }
                last = s
            }
            epoch += 1
            var tensors: [String: Tensor] = [:]
            for (k, v) in gen.stateDict() { tensors["generator." + k] = v }
            for (k, v) in student.stateDict() { tensors["student." + k] = v }
            for (k, v) in trainer.generatorOptimizer.stateDict() { tensors["opt_g." + k] = v }
            for (k, v) in trainer.studentOptimizer.stateDict() { tensors["opt_s." + k] = v }
            try SafeTensors(tensors: tensors, metadata: ["epoch": "\(epoch)", "random": trainer.random.state.map(String.init).joined(separator: ",")]).write(to: path)
            if let l = last {
                log(String(format: "dafl epoch %d/%d: one-hot %.4f, entropy %.4f, activation %.4f, kd %.4f; diversity: pairwise %.3f, class entropy %.3f (%d classes)%@",
                           epoch, settings.daflEpochs, l.oneHot, l.informationEntropy, l.activation, l.kd, l.diversity.meanPairwiseDistance,
                           l.diversity.predictedClassEntropy, l.diversity.classesPresent, l.diversity.collapsed(pixels: shape.reduce(1, *)) ? " — MODE COLLAPSE" : ""))
                result.lastDiversity = l.diversity
            }
        }
        result.collapsedBatches = collapsed; result.daflBatches = batches
        return trainer.sample(settings.images)
    }

    /// KD on Gaussian noise, KD on the real training images, the student alone on them.
    func baselineRows(teacher: FrozenTeacher, input: ModelInput, test: Dataset, spec: DataSpec) throws -> [Row] {
        var train = try spec.load(.train)
        if let n = settings.validation { train = train.first(train.count - n) }
        let clock = ContinuousClock()
        var rows: [Row] = []
        var g = SeededGenerator(seed: settings.seed &+ 99)
        for name in ["KD on Gaussian noise", "KD on the real training images", "student alone (real images, labels)"] {
            let start = clock.now
            let s = try ModelZoo.make(settings.student, input: input, seed: settings.seed)
            switch name {
            case "KD on Gaussian noise": settings.kd.distil(student: s, teacher: teacher, images: Tensor.normal([settings.images] + Array(train.images.shape.dropFirst()), using: &g))
            case "KD on the real training images": settings.kd.distil(student: s, teacher: teacher, images: train.images)
            default: settings.kd.supervised(student: s, on: train)
            }
            rows.append(Row(name: name, accuracy: try TransferSetKD.accuracy(s, on: test), seconds: seconds(clock.now - start),
                            realTrainingImages: name.hasPrefix("KD on G") ? 0 : train.count))
            try s.save(to: out.appendingPathComponent(Self.modelFile(name)).path, metadata: ["model": settings.student, "data": data])
            log("\(name): \(String(format: "%.4f", rows.last!.accuracy))")
        }
        return rows
    }

    public static func markdown(_ r: Result) -> String {
        var s = "# Data-free distillation: \(r.settings.method)\n\nTeacher \(r.teacher): test accuracy \(String(format: "%.4f", r.teacherAccuracy)). "
        s += "Student \(r.settings.student); \(r.settings.images) recovered images; KD \(r.settings.kd.steps) steps of \(r.settings.kd.batchSize), T = \(r.settings.kd.temperature), augmentation \(r.settings.kd.augmentation ?? "none"), seed \(r.settings.seed).\n\n"
        if let n = r.metadataExamples {
            s += "Metadata (Lopes et al.): per-class activation statistics of \(n) training images at top-layer temperature \(r.settings.lopesTemperature); the reconstruction and the student see these statistics, never an image.\n\n"
        }
        if let v = r.teacherValidationAccuracy, let n = r.settings.validation {
            s += "Validation split: the last \(n) training images (teacher \(String(format: "%.4f", v))); choose settings on its column, not on the test column.\n\n"
            s += "| row | validation accuracy | test accuracy | real training images | seconds |\n|---|---|---|---|---|\n"
            for row in r.rows {
                s += "| \(row.name) | \(row.validationAccuracy.map { String(format: "%.4f", $0) } ?? "–") | \(String(format: "%.4f", row.accuracy)) | \(row.realTrainingImages) | \(String(format: "%.0f", row.seconds)) |\n"
            }
        } else {
            s += "| row | test accuracy | real training images | seconds |\n|---|---|---|---|\n"
            for row in r.rows { s += "| \(row.name) | \(String(format: "%.4f", row.accuracy)) | \(row.realTrainingImages) | \(String(format: "%.0f", row.seconds)) |\n" }
        }
        if let c = r.collapsedBatches, let n = r.daflBatches {
            s += "\nDAFL mode collapse: \(c) of \(n) generated batches collapsed (≤ 2 predicted classes or near-identical images)"
            s += c > 0 ? " — the generator COLLAPSED.\n" : "; none collapsed.\n"
        }
        s += "\n![recovered images](recovered_grid.svg)\n"
        return s
    }
}
