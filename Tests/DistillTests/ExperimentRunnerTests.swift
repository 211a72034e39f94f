import XCTest
import DistillCore
import DistillNN
import DistillData
@testable import Distill

final class ExperimentRunnerTests: XCTestCase {
    static var hasFashionMNIST: Bool {
        FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    }

    func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("distill-exp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func testTinyExperimentWritesItsReportAndResumesWithoutRedoingWork() throws {
        try XCTSkipUnless(Self.hasFashionMNIST, "Fashion-MNIST is not installed")
        let yaml = """
        name: tiny
        seeds: [0, 1]
        transfer: {kind: subset, count: 600}
        teacher:
          model: mlp:64
          train: {epochs: 1, subset: 3000, learning_rate: 0.1}
        student:
          model: mlp:16
          train: {epochs: 2, learning_rate: 0.1}
        method: hinton:temperature=4,alpha=0.9
        """
        let config = try ExperimentConfig.parse(yaml, file: "tiny.yaml")
        let dir = try temporaryDirectory()
        let runner = ExperimentRunner(config: config, directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        let r = try runner.run()
        for f in ["metrics.json", "report.md", "learning_curves.svg", "accuracy_agreement.svg", "config.yaml",
                  "seed-1/student-distilled/metrics.json", "seed-0/student-alone/log.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
        let teachers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("teachers").path)
        XCTAssertEqual(teachers.count, 1, "\(teachers)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("teachers/\(teachers[0])/member-0/model.safetensors").path))
        XCTAssertEqual(r.seeds.count, 2)
        for s in r.seeds {
            for role in [s.studentAlone!, s.studentDistilled] {
                for f in [role.train, role.test] {
                    XCTAssertTrue((0...1).contains(f.agreement!), "agreement \(f.agreement!)")
                    XCTAssertGreaterThanOrEqual(f.predictiveKL!, 0)
                    XCTAssertTrue((0...1).contains(f.student.accuracy!))
                }
            }
            XCTAssertEqual(s.distilledCurve.count, 2)
        }
        XCTAssertEqual(r.summary["student_distilled.test.accuracy"]?.n, 2)
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("student distilled") && report.contains("agreement (test)"), report)
        // a second run reuses every finished sub-run and gives the same numbers
        var said: [String] = []
        let again = ExperimentRunner(config: config, directory: dir)
        again.showProgress = false
        again.say = { said.append($0) }
        let r2 = try again.run()
        XCTAssertEqual(said.filter { $0.contains("reusing") }.count, 5, "\(said)")   // teacher + 2 × (alone, distilled)
        XCTAssertEqual(r2.seeds.map(\.studentDistilled.test), r.seeds.map(\.studentDistilled.test))
        // a finished sub-run of other settings is refused, never reported as this experiment's
        for change in ["method=hinton:temperature=2,alpha=0.5", "student.train.epochs=3"] {
            let other = ExperimentRunner(config: try ExperimentConfig.parse(yaml, file: "tiny.yaml", overrides: [change]), directory: dir)
            other.showProgress = false
            other.say = { _ in }
            XCTAssertThrowsError(try other.run(), change) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("seed-0/student-") && text.contains("different configuration"), text)
            }
        }
    }

    func testSweepSharesTeachersAndBaselinesAndComparesVariants() throws {
        try XCTSkipUnless(Self.hasFashionMNIST, "Fashion-MNIST is not installed")
        let yaml = """
        name: tiny-sweep
        transfer: {kind: subset, count: 300}
        teacher:
          model: mlp:32
          train: {epochs: 1, subset: 1000}
        student:
          model: mlp:8
          train: {epochs: 1}
        method: hinton:temperature=4
        variants:
          T2: ["method=hinton:temperature=2"]
          T8: ["method=hinton:temperature=8"]
          bigger-teacher: ["teacher.model=mlp:48"]
        """
        let config = try ExperimentConfig.parse(yaml, file: "sweep.yaml")
        XCTAssertEqual(config.variants.map(\.name), ["T2", "T8", "bigger-teacher"])
        XCTAssertEqual(config.variants[1].config.methods, [MethodSpec(name: "hinton", options: ["temperature": "8"])])
        let dir = try temporaryDirectory()
        let runner = ExperimentRunner(config: config, directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        let sweep = try runner.runSweep()
        XCTAssertEqual(sweep.variants.count, 3)
        let teachers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("teachers").path)
        XCTAssertEqual(teachers.count, 2, "mlp:32 is trained once for T2 and T8, mlp:48 once: \(teachers)")
        let baselines = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("baselines").path)
        XCTAssertEqual(baselines.count, 1, "the student alone is trained once for all variants: \(baselines)")
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        for row in ["| T2", "| T8", "| bigger-teacher", "| student alone", "| teacher"] { XCTAssertTrue(report.contains(row), report) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("variants.svg").path))
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml + "\n  broken: [\"student.train.epochs=zero\"]\n", file: "sweep.yaml")) { e in
            XCTAssertTrue("\(e)".contains("variant 'broken'") && "\(e)".contains("epochs"), "\(e)")
        }
    }

    func testAValidationSplitChoosesTheBestEpochAndTheReportsSayItsNumbers() throws {
        try XCTSkipUnless(Self.hasFashionMNIST, "Fashion-MNIST is not installed")
        let yaml = """
        name: tiny-validated
        transfer: {kind: subset, count: 400}
        teacher:
          model: mlp:32
          train: {epochs: 1, subset: 1000}
        student:
          model: mlp:8
          train: {epochs: 3, val_split: 100, val_seed: 0}
        method: hinton:temperature=4
        variants:
          T2: ["method=hinton:temperature=2"]
        """
        let dir = try temporaryDirectory()
        let runner = ExperimentRunner(config: try ExperimentConfig.parse(yaml, file: "v.yaml"), directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        let sweep = try runner.runSweep()
        let seed = try XCTUnwrap(sweep.variants.first?.result?.seeds.first)
        let best = try XCTUnwrap(seed.distilledBest, "no validation-chosen epoch recorded")
        XCTAssertNotNil(seed.aloneBest)
        XCTAssertEqual(seed.curveSplit, "validation")
        XCTAssertEqual(best.valAccuracy, seed.distilledCurve.max()!, accuracy: 1e-12, "the best epoch is the highest validation accuracy")
        XCTAssertEqual(best.epoch, seed.distilledCurve.firstIndex(of: seed.distilledCurve.max()!)! + 1)
        let top = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(top.contains("best epoch: validation accuracy") && top.contains(String(format: "%.4f", best.testAccuracy)), top)
        let own = try String(contentsOf: dir.appendingPathComponent("variant-T2/report.md"), encoding: .utf8)
        XCTAssertTrue(own.contains("best epoch (on validation)") && !own.contains("found on the test split"), own)
    }

    func testMutualInformationExperimentDrawsItsLambdaGraph() throws {
        try XCTSkipUnless(Self.hasFashionMNIST, "Fashion-MNIST is not installed")
        let yaml = """
        name: tiny-mi
        transfer: {kind: subset, count: 300}
        teacher:
          model: mlp:32x32
          train: {epochs: 1, subset: 1000}
        student:
          model: mlp:16x16
          baseline: false
          train: {epochs: 1}
        method:
          - {name: ce, weight: 0.5}
          - {name: mi, weight: 0.5, student: "fc1,fc2", teacher: "fc1,fc2", lambda: learned}
        """
        let dir = try temporaryDirectory()
        let runner = ExperimentRunner(config: try ExperimentConfig.parse(yaml, file: "mi.yaml"), directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        try runner.run()
        let svg = try String(contentsOf: dir.appendingPathComponent("lambda_graph_seed-0_term-1.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<") && svg.contains("</svg>") && svg.contains("fc2"), svg)
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("lambda_graph_seed-0_term-1.svg"), report)
    }

    func testTeacherWithAnotherClassCountIsRefusedWithBothNumbers() throws {
        var g = SeededGenerator(seed: 1)
        let teacher = ModelTeacher(Linear(4, 5, using: &g), classCount: 5)
        let student = Linear(4, 10, using: &g)
        XCTAssertThrowsError(try DistillationSession(student: student, teacher: teacher, methods: [MethodSpec(name: "hinton")],
                                                     probe: Tensor.zeros([2, 4]))) { e in
            XCTAssertEqual("\(e)", "the teacher predicts 5 classes but the student predicts 10")
        }
    }

    func testTheTrainingEpochReachesLossesThatWarmUp() throws {
        try XCTSkipUnless(Self.hasFashionMNIST, "Fashion-MNIST is not installed")
        // DKD's term is scaled by min((epoch + 1) / W, 1): with W = 1000 the first epochs' loss is
        // a thousandth of the unscaled one, which only holds if the runner passes the epoch on.
        var firstLoss: [String: Double] = [:]
        for method in ["dkd", "dkd:warmup=1000"] {
            let yaml = """
            name: warm
            seeds: [0]
            transfer: {kind: subset, count: 300}
            teacher:
              model: mlp:32
              train: {epochs: 1, subset: 1000, learning_rate: 0.1}
            student:
              model: mlp:16
              baseline: false
              train: {epochs: 2, learning_rate: 0.1}
            method: \(method)
            """
            let dir = try temporaryDirectory()
            let runner = ExperimentRunner(config: try ExperimentConfig.parse(yaml, file: "warm.yaml"), directory: dir)
            runner.showProgress = false
            runner.say = { _ in }
            _ = try runner.run()
            let summary = try ResultJSON.decoder.decode(TrainingSummary.self, from: Data(contentsOf: dir.appendingPathComponent("seed-0/student-distilled/metrics.json")))
            XCTAssertEqual(summary.history.count, 2)
            firstLoss[method] = summary.history[0].trainLoss
        }
        let full = firstLoss["dkd"]!, warm = firstLoss["dkd:warmup=1000"]!
        XCTAssertGreaterThan(full, 0)
        XCTAssertLessThan(warm, full / 100, "first-epoch loss \(warm) with warm-up vs \(full) without")
    }

    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        var g = SeededGenerator(seed: 2)
        let images = Tensor.uniform([64, 1, 2, 2], using: &g)
        let data = Dataset(name: "toy", images: images, labels: IntTensor((0..<64).map { $0 % 2 }), classCount: 2)
        let model = MLP(inputs: 4, hidden: [8], classes: 2, seed: 1)
        var cfg = TrainingConfig()
        cfg.model = "mlp:8"; cfg.epochs = 3; cfg.batchSize = 16; cfg.learningRate = 0.1
        let dir = try temporaryDirectory()
        /// Cross-entropy that turns NaN on its sixth call (the second batch of epoch 2).
        final class FailingScheme: TrainingScheme {
            let kind = "failing", evaluated = "model", identity = ""
            let members: [SchemeMember], groups: [ParameterGroup]
            let model: Module
            var calls = 0
            init(_ model: Module, _ cfg: TrainingConfig) {
                self.model = model
                members = [SchemeMember(name: "model", module: model)]
                groups = [ParameterGroup(name: "model", members: members, config: cfg)]
            }
            func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
                calls += 1
                let logits = model(batch.images)
                let loss = crossEntropy(logits: logits, labels: batch.labels) * (calls == 6 ? Float.nan : 1)
                guard loss.item.isFinite else { return StepOutput(loss: loss.item, logits: nil) }
                try updater.update(groups[0], minimising: loss, context: context)
                return StepOutput(loss: loss.item, logits: logits)
            }
        }
        let trainer = try TrainingLoop(config: cfg, scheme: FailingScheme(model, cfg), train: data, test: nil, runDirectory: dir)
        trainer.showProgress = false
        XCTAssertThrowsError(try trainer.run()) { e in
            XCTAssertTrue("\(e)".contains("the loss became nan at epoch 2, step 5"), "\(e)")
            XCTAssertTrue("\(e)".contains("checkpoint.safetensors"), "\(e)")
        }
        let ck = try TrainingCheckpoint.read(from: dir.appendingPathComponent("checkpoint.safetensors").path)
        XCTAssertEqual(ck.epoch, 1, "the checkpoint of the last finished epoch is kept")
        XCTAssertEqual(ck.step, 4)
    }
}
