import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Toy runs of the loop (7 classes of 2×2 images, milliseconds each) shared by the validation,
/// log and resume tests.
enum ToyRun {
    static func data(_ n: Int, seed: UInt64) -> Dataset {
        var g = SeededGenerator(seed: seed)
        return Dataset(name: "toy\(seed)", images: Tensor.uniform([n, 1, 2, 2], using: &g), labels: IntTensor((0..<n).map { $0 % 7 }), classCount: 7)
    }

    static let train = data(84, seed: 2), test = data(35, seed: 3)

    /// 84 examples, 21 held out: 63 trained on, 4 batches of 16 an epoch; checkpoints every 3 steps.
    static func config(epochs: Int = 3, schedule: String = "cosine", valSplit: Double? = 0.25) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "mlp:8"; c.epochs = epochs; c.batchSize = 16; c.learningRate = 0.3; c.schedule = schedule
        c.checkpointEvery = 3; c.valSplit = valSplit
        return c
    }

    static func loop(_ c: TrainingConfig, dir: URL, scheme: TrainingScheme? = nil) throws -> TrainingLoop {
        let scheme = scheme ?? SupervisedScheme(model: MLP(inputs: 4, hidden: [8], classes: 7, seed: 1), spec: c.model, config: c)
        let l = try TrainingLoop(config: c, scheme: scheme, train: train, test: test, runDirectory: dir)
        l.showProgress = false
        return l
    }

    static func directory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("distill-toy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Records without wall time, as JSON (NaN, which is not equal to itself, as "nan"), for comparing runs.
    static func timeless(_ h: [EpochRecord]) throws -> String {
        String(decoding: try ResultJSON.encoder([.sortedKeys]).encode(h.map { var r = $0; r.seconds = 0; return r }), as: UTF8.self)
    }

    /// A CSV file without its `seconds` column.
    static func timeless(csv url: URL) throws -> [[String: String]] {
        try CSVLog.read(url).rows.map { var r = $0; r["seconds"] = nil; return r }
    }
}

final class ValidationSplitTests: XCTestCase {
    func testSplitRowsAreTheRowsOfDatasetSplit() throws {
        let d = ToyRun.train
        let (train, validation) = try d.split(heldOut: 21, seed: 9)
        let rows = TrainingLoop.splitRows(count: d.count, heldOut: 21, seed: 9)
        XCTAssertEqual(d.subset(rows.train).images.scalars, train.images.scalars)
        XCTAssertEqual(d.subset(rows.validation).labels.scalars, validation.labels.scalars)
        XCTAssertEqual(d.subset(rows.validation).images.scalars, validation.images.scalars)
        XCTAssertEqual(Set(rows.train).union(rows.validation), Set(0..<d.count))
    }

    func testValSplitIsValidatedNamingTheField() throws {
        for bad in [0.0, -0.1, 1.5, .nan, .infinity, 1e12] {
            var c = TrainingConfig(); c.valSplit = bad
            XCTAssertThrowsError(try c.validate(), "\(bad)") { XCTAssertTrue("\($0)".contains("val_split"), "\($0)") }
        }
        var c = TrainingConfig()
        c.valSplit = 0.25
        XCTAssertEqual(try c.validationCount(of: 84), 21)
        c.valSplit = 10
        XCTAssertEqual(try c.validationCount(of: 84), 10)
        c.valSplit = 84
        XCTAssertThrowsError(try c.validationCount(of: 84)) { XCTAssertTrue("\($0)".contains("fewer than all 84"), "\($0)") }
        c.valSplit = 0.001
        XCTAssertThrowsError(try c.validationCount(of: 84)) { XCTAssertTrue("\($0)".contains("holds out 0"), "\($0)") }
        c.valSplit = nil
        XCTAssertNil(try c.validationCount(of: 84))
        // absent from the JSON without a split, so run keys of settings without one are unchanged
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(TrainingConfig()), as: UTF8.self).contains("val_"))
    }

    func testExperimentFilesTakeValSplitAndValSeed() throws {
        let c = try ExperimentConfig.parse("name: v\nstudent: {train: {val_split: 0.1, val_seed: 4}}\nteacher: {train: {val_split: 500}}\n")
        XCTAssertEqual(c.student.train.valSplit, 0.1)
        XCTAssertEqual(c.student.train.valSeed, 4)
        XCTAssertEqual(c.teacher.train.valSplit, 500)
        XCTAssertThrowsError(try ExperimentConfig.parse("name: v\nstudent: {train: {val_split: 1.5}}\n")) { XCTAssertTrue("\($0)".contains("val_split"), "\($0)") }
    }

    func testBestEpochIsTheHighestValidationAccuracyTiesToLowerNLLThenEarlier() {
        func r(_ e: Int, _ a: Double?, _ nll: Double?) -> EpochRecord {
            var x = EpochRecord(epoch: e, trainLoss: 1, trainAccuracy: 0, testAccuracy: .nan, testNLL: .nan, learningRate: 0.1, seconds: 0)
            x.valAccuracy = a; x.valNLL = nll
            return x
        }
        XCTAssertNil(TrainingLoop.bestEpochIndex(in: [r(0, nil, nil)]))
        XCTAssertEqual(TrainingLoop.bestEpochIndex(in: [r(0, 0.5, 1), r(1, 0.7, 1), r(2, 0.6, 0.1)]), 1)
        XCTAssertEqual(TrainingLoop.bestEpochIndex(in: [r(0, 0.7, 1), r(1, 0.7, 0.5), r(2, 0.7, 0.5)]), 1, "lower NLL, then the earlier")
        XCTAssertEqual(TrainingLoop.bestEpochIndex(in: [r(0, .nan, 1), r(1, 0.1, 3)]), 1)
    }

    /// A supervised step that remembers which rows it trained on.
    final class RecordingScheme: TrainingScheme {
        let kind = "recording", evaluated = "model", identity = ""
        let inner: SupervisedScheme
        var members: [SchemeMember] { inner.members }
        var groups: [ParameterGroup] { inner.groups }
        var rows: Set<Int> = []
        init(_ c: TrainingConfig) { inner = SupervisedScheme(model: MLP(inputs: 4, hidden: [8], classes: 7, seed: 1), spec: c.model, config: c) }
        func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
            rows.formUnion(batch.indices)
            return try inner.step(batch, context: context, updater: updater)
        }
    }

    func testHeldOutRowsAreNeverTrainedOnAndTestIsReadOnlyAtTheEnd() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = ToyRun.config()
        let scheme = RecordingScheme(c)
        let loop = try ToyRun.loop(c, dir: dir, scheme: scheme)
        let history = try loop.run()
        let held = TrainingLoop.splitRows(count: 84, heldOut: 21, seed: c.seed).validation
        XCTAssertEqual(scheme.rows, Set(0..<84).subtracting(held), "batch indices are rows of the given training set, the held-out ones never among them")
        XCTAssertEqual(loop.validation?.count, 21)
        for r in history.dropLast() {
            XCTAssertTrue(r.testAccuracy.isNaN && r.testNLL.isNaN && r.testTop5 == nil, "epoch \(r.epoch + 1) read the test set")
            XCTAssertNotNil(r.valAccuracy); XCTAssertNotNil(r.valTop5, "7 classes: top-5 is measured")
        }
        let best = try XCTUnwrap(loop.best)
        XCTAssertEqual(best.epoch, TrainingLoop.bestEpochIndex(in: history)! + 1)
        XCTAssertEqual(best.valAccuracy, history[best.epoch - 1].valAccuracy)
        // best.safetensors: the model files' metadata plus the epoch, and the weights its test numbers are of
        let file = try SafeTensors.read(from: dir.appendingPathComponent("best.safetensors").path)
        let described = ["data": c.data, "model": "mlp:8", "classes": "7", "input_shape": "1x2x2",
                         "producer": "swift-distill \(DistillVersion.string)", "input_transform": "none"]
        XCTAssertEqual(file.metadata, described.merging(["epoch": "\(best.epoch)"]) { a, _ in a })
        XCTAssertEqual(try SafeTensors.read(from: dir.appendingPathComponent("model.safetensors").path).metadata, described)
        let net = MLP(inputs: 4, hidden: [8], classes: 7, seed: 5)
        try net.loadStateDict(file.tensors)
        let m = ClassificationSummary(logits: try Evaluation.logits(of: net, on: ToyRun.test), labels: ToyRun.test.labels)
        XCTAssertEqual(m.accuracy, best.testAccuracy)
        XCTAssertEqual(m.nll, best.testNLL)
        XCTAssertEqual(m.top5, best.testTop5)
        // the last epoch's test numbers are the final weights', which the model keeps after the run
        let last = ClassificationSummary(logits: try Evaluation.logits(of: scheme.inner.model, on: ToyRun.test), labels: ToyRun.test.labels)
        XCTAssertEqual(history.last?.testAccuracy, last.accuracy)
        XCTAssertEqual(loop.history.last?.testTop5, last.top5)
        // and metrics.json reports both
        let s = try TrainingSummary.write(history: history, config: c, model: scheme.inner.model, to: dir, testCount: 35, best: loop.best)
        XCTAssertTrue(s.description.contains("best epoch on validation \(best.epoch)"), s.description)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("metrics.json"))) as? [String: Any]
        XCTAssertEqual((json?["best"] as? [String: Any])?["epoch"] as? Int, best.epoch)
    }

    func testWithoutASplitEveryEpochReadsTheTestSetAndNoBestIsWritten() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loop = try ToyRun.loop(ToyRun.config(valSplit: nil), dir: dir)
        let history = try loop.run()
        XCTAssertTrue(history.allSatisfy { !$0.testAccuracy.isNaN && $0.valAccuracy == nil && $0.testTop5 != nil })
        XCTAssertNil(loop.best)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("best.safetensors").path))
    }

    func testTopKAccuracyOnHandMadeLogits() {
        // 3 rows, 7 classes; row 0: label 6 is the 6th highest; row 1: label ranked 1st; row 2: a tie
        let logits = Tensor(shape: [3, 7], scalars: [7, 6, 5, 4, 3, 2, 1,
                                                     0, 9, 1, 1, 1, 1, 1,
                                                     5, 5, 5, 5, 5, 5, 0])
        let labels = IntTensor([5, 1, 4])
        XCTAssertEqual(Metrics.topKAccuracy(logits: logits, labels: labels, k: 5), 2.0 / 3.0, accuracy: 1e-12)   // rank 5 misses; tie: 4 lower indices first → rank 4
        XCTAssertEqual(Metrics.topKAccuracy(logits: logits, labels: labels, k: 6), 1)
        XCTAssertEqual(Metrics.topKAccuracy(logits: logits, labels: labels, k: 4), 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(Metrics.topKAccuracy(logits: logits, labels: labels, k: 1), Metrics.accuracy(logits: logits, labels: labels))
        XCTAssertTrue(Metrics.topKAccuracy(logits: logits, labels: IntTensor([-1, -1, -1]), k: 5).isNaN)
        XCTAssertEqual(Metrics.topKAccuracy(logits: logits, labels: IntTensor([5, -1, 4]), k: 5), 0.5)
        XCTAssertEqual(EvaluationReport(logits: logits, labels: labels).top5!, 2.0 / 3.0, accuracy: 1e-12)
        // five classes or fewer: no top-5 (it would be 1), also absent from the eval JSON
        let five = EvaluationReport(logits: Tensor(shape: [1, 5], scalars: [1, 2, 3, 4, 5]), labels: IntTensor([0]))
        XCTAssertNil(five.top5)
        XCTAssertFalse(String(decoding: try! JSONEncoder().encode(five), as: UTF8.self).contains("top5"))
    }
}
