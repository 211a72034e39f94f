import XCTest
import DistillCore
@testable import DistillData
import DistillNN
@testable import Distill

/// The teacher's outputs cached per transfer row (`TeacherFeatureCache`): a run with the cache
/// is the uncached run bit for bit (feature, relation and staged methods, over epochs that
/// reshuffle the rows and end on a short batch), mixed batches bypass it, the runner turns it on
/// only without augmentation, and a budget that is too small refuses it, naming both sizes.
final class TeacherFeatureCacheTests: XCTestCase {
    let input = ModelInput(channels: 1, height: 8, width: 8, classes: 3)

    func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("distill-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// 37 rows of 1×8×8 images: batches of 8 end on one of 5.
    func transferSet() -> Dataset {
        var g = SeededGenerator(seed: 11)
        return Dataset(name: "toy", images: Tensor.uniform([37, 1, 8, 8], low: 0, high: 1, using: &g),
                       labels: IntTensor((0..<37).map { $0 % 3 }), classCount: 3)
    }

    func session(_ methods: [MethodSpec], rows: Int = 37) throws -> DistillationSession {
        let teacher = try ModelZoo.make("cnn:6x8,fc=12", input: input, seed: 1)
        let student = try ModelZoo.make("cnn:3x4,fc=6", input: input, seed: 2)
        return try DistillationSession(student: student, teacher: ModelTeacher(teacher, classCount: 3), methods: methods,
                                       probe: transferSet().images.slice(axis: 0, start: 0, length: 4), datasetSize: rows)
    }

    /// What an epoch's record says of the training (the rest is time, and NaN test numbers).
    struct Epoch: Equatable {
        var loss: Double, accuracy: Double, terms: [String: Double]
    }

    /// Trains a fresh student for 3 epochs of batch 8 (after the methods' pre-training stages, as
    /// `ExperimentRunner` runs them); returns the epochs, the student's and adapters' parameters
    /// and the session.
    func train(_ methods: [MethodSpec], cached: Bool) throws -> (history: [Epoch], parameters: [String: [Float]], session: DistillationSession) {
        let s = try session(methods)
        let train = transferSet()
        if cached {
            let line = s.cacheTeacherOutputs(rows: train.count)
            XCTAssertTrue(line.hasPrefix("teacher outputs cached per row"), line)
        }
        var cfg = TrainingConfig()
        cfg.model = "cnn:3x4,fc=6"; cfg.epochs = 3; cfg.batchSize = 8; cfg.learningRate = 0.05; cfg.seed = 4
        let scheme = OfflineDistillation(session: s, spec: cfg.model, config: cfg, identity: "teacher cache test")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for stage in scheme.preTrainingStages(config: cfg) {
            let loop = try TrainingLoop(config: stage.config, scheme: stage.scheme, train: train, test: nil,
                                        runDirectory: dir.appendingPathComponent("stage-\(stage.name)"))
            loop.showProgress = false
            loop.evaluates = false
            try loop.run()
        }
        let loop = try TrainingLoop(config: cfg, scheme: scheme, train: train, test: nil, runDirectory: dir.appendingPathComponent("main"))
        loop.showProgress = false
        let history = try loop.run()
        var parameters: [String: [Float]] = [:]
        for m in scheme.members { for (path, p) in m.module.namedParameters() { parameters["\(m.name).\(path)"] = p.value.scalars } }
        return (history.map { Epoch(loss: $0.trainLoss, accuracy: $0.trainAccuracy, terms: $0.terms ?? [:]) }, parameters, s)
    }

    func testTrainingWithTheCacheIsTheUncachedRunBitForBit() throws {
        let objectives: [(String, [MethodSpec])] = [
            ("fitnet", [MethodSpec(name: "ce"),
                        MethodSpec(name: "fitnet", options: ["student": "conv2", "teacher": "conv2", "regressor": "conv1x1", "hint_epochs": "1"])]),
            ("at", [MethodSpec(name: "ce"), MethodSpec(name: "at", weight: 100, options: ["student": "conv1,conv2", "teacher": "conv1,conv2"])]),
            ("crd + kd", [MethodSpec(name: "ce"), MethodSpec(name: "kd", options: ["temperature": "4"]),
                          MethodSpec(name: "crd", options: ["student": "fc1", "teacher": "fc1", "feat_dim": "5", "nce_k": "6"])]),
            ("rkd", [MethodSpec(name: "ce"), MethodSpec(name: "rkd", options: ["student": "fc2:input", "teacher": "fc2:input"])]),
        ]
        for (name, methods) in objectives {
            let plain = try train(methods, cached: false), cached = try train(methods, cached: true)
            XCTAssertNil(plain.session.teacherCache, name)
            XCTAssertEqual(cached.history, plain.history, "\(name): losses, terms and accuracies per epoch")
            XCTAssertEqual(cached.parameters, plain.parameters, "\(name): the trained student and adapters")
            XCTAssertEqual(plain.history.count, 3, name)
            let cache = try XCTUnwrap(cached.session.teacherCache, name)
            XCTAssertEqual(cache.filledCount, 37, "\(name): every row filled in the first epoch")
            XCTAssertGreaterThanOrEqual(cache.hits, 2 * 5, "\(name): the later epochs' batches are served from the cache")
            XCTAssertEqual(cache.misses, 5, "\(name): only the first epoch runs the teacher")
        }
    }

    func testMixedBatchesBypassTheCache() throws {
        let methods = [MethodSpec(name: "ce"), MethodSpec(name: "kd", options: ["temperature": "2"]),
                       MethodSpec(name: "at", weight: 100, options: ["student": "conv1", "teacher": "conv1"])]
        let plain = try session(methods), cached = try session(methods)
        cached.cacheTeacherOutputs(rows: 37)
        let cache = try XCTUnwrap(cached.teacherCache)
        let x = transferSet().images.slice(axis: 0, start: 0, length: 6), y = IntTensor([0, 1, 2, 0, 1, 2])
        let partners = [3, 4, 5, 0, 1, 2]
        let mix = Mixing(lambda: 0.3, partners: partners, partnerLabels: IntTensor(partners.map { y.scalars[$0] }))
        let mixed = Batch(images: x * 0.5, labels: y, indices: Array(0..<6), mixing: mix)
        XCTAssertEqual(try cached.loss(mixed).loss.item, try plain.loss(mixed).loss.item)
        XCTAssertEqual(cache.filledCount, 0, "a mixed batch's teacher outputs are not stored")
        XCTAssertEqual(try cached.loss(Batch(images: x, labels: y, indices: Array(0..<6))).loss.item,
                       try plain.loss(Batch(images: x, labels: y, indices: Array(0..<6))).loss.item)
        XCTAssertEqual(cache.filledCount, 6)
        // the rows are filled now, but a mixed batch of them still runs the teacher on its images
        XCTAssertEqual(try cached.loss(mixed).loss.item, try plain.loss(mixed).loss.item)
        XCTAssertEqual(cache.hits, 0)
        let again = Batch(images: x, labels: y, indices: Array(0..<6))
        XCTAssertEqual(try cached.loss(again).loss.item, try plain.loss(again).loss.item)
        XCTAssertEqual(cache.hits, 1)
    }

    func testABudgetTooSmallRefusesTheCacheNamingBothSizes() throws {
        let s = try session([MethodSpec(name: "ce"), MethodSpec(name: "at", options: ["student": "conv1,conv2", "teacher": "conv1,conv2"])])
        s.cacheTeacherOutputs(rows: 37, budgetBytes: 1 << 20)
        let shapes = try XCTUnwrap(s.teacherCache).rowShapes
        XCTAssertEqual(shapes.first, [3], "the logits first, then the taps")
        XCTAssertEqual(shapes.count, 3)
        let need = Int(TeacherFeatureCache.bytes(rows: 37, rowShapes: shapes))
        XCTAssertEqual(need, 37 * 4 * shapes.reduce(0) { $0 + Shape.count($1) })
        XCTAssertTrue(s.cacheTeacherOutputs(rows: 37, budgetBytes: need).hasPrefix("teacher outputs cached"), "a budget of exactly the size fits")
        let line = s.cacheTeacherOutputs(rows: 37, budgetBytes: need - 1)
        XCTAssertNil(s.teacherCache)
        XCTAssertTrue(line.hasPrefix("teacher outputs not cached") && line.contains("= \(need) bytes") && line.contains("budget of \(need - 1) bytes")
                      && line.contains("DISTILL_TEACHER_CACHE_BYTES"), line)
        let off = s.cacheTeacherOutputs(rows: 37, budgetBytes: 0)
        XCTAssertNil(s.teacherCache, off)
    }

    func testTheRunnerCachesFeaturesOnlyWithoutAugmentationAndGivesTheSameResult() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let yaml = """
        name: cache
        seeds: [0]
        transfer: {kind: subset, count: 250}
        teacher:
          model: mlp:32
          train: {epochs: 1, subset: 1000, learning_rate: 0.1}
        student:
          model: mlp:16
          baseline: false
          train: {epochs: 2, batch_size: 64, learning_rate: 0.1}
        method: [ce, 'rkd:student=fc1,teacher=fc1']
        """
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        func run(_ overrides: [String], budget: Int) throws -> (result: ExperimentResult, said: [String]) {
            let runner = ExperimentRunner(config: try ExperimentConfig.parse(yaml, file: "cache.yaml", overrides: overrides),
                                          directory: root.appendingPathComponent(UUID().uuidString))
            runner.teacherRoot = root.appendingPathComponent("teachers")
            runner.teacherCacheBytes = budget
            runner.showProgress = false
            var said: [String] = []
            runner.say = { said.append($0) }
            return (try runner.run(), said)
        }
        let cached = try run([], budget: 1 << 30), plain = try run([], budget: 0)
        XCTAssertEqual(cached.said.filter { $0.contains("teacher outputs cached per row") }.count, 1, "\(cached.said)")
        XCTAssertTrue(plain.said.contains { $0.contains("teacher outputs not cached") && $0.contains("budget of 0 bytes") }, "\(plain.said)")
        XCTAssertEqual(cached.result.seeds[0].studentDistilled.test, plain.result.seeds[0].studentDistilled.test)
        XCTAssertEqual(cached.result.seeds[0].studentDistilled.train, plain.result.seeds[0].studentDistilled.train)
        let augmented = try run(["student.train.augmentation=flip"], budget: 1 << 30)
        XCTAssertFalse(augmented.said.contains { $0.contains("teacher outputs") }, "\(augmented.said)")
    }
}
