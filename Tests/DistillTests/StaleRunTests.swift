import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// A finished run is reused only when it was written by the same result format: after a loss or
/// metric changes its numbers (and `ResultFormat.version` is bumped), an old sub-run is moved
/// aside and trained again instead of being shown as if it were new.
final class StaleRunTests: XCTestCase {
    func testARunOfAnotherResultFormatIsMovedAsideAndTrainedAgain() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let config = try ExperimentConfig.parse("""
        name: stale
        seeds: [0]
        transfer: {kind: subset, count: 300}
        teacher:
          model: mlp:16
          train: {epochs: 1, subset: 600}
        student:
          model: mlp:8
          baseline: false
          train: {epochs: 1}
        test_subset: 200
        method: hinton:temperature=4
        """, file: "stale.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distill-stale-\(UUID().uuidString)")
        var said: [String] = []
        func run() throws -> ExperimentResult {
            let runner = ExperimentRunner(config: config, directory: dir)
            runner.showProgress = false
            runner.say = { said.append($0) }
            return try runner.run()
        }
        let first = try run()
        // rewrite the distilled student's checkpoint as an older build would have written it (checksums and all)
        let sub = dir.appendingPathComponent("seed-0/student-distilled")
        let ckPath = sub.appendingPathComponent("checkpoint.safetensors").path
        let file = try SafeTensors.read(from: ckPath)
        var meta = file.metadata
        meta["result_format"] = String(ResultFormat.version - 1)
        try SafeTensors(tensors: file.tensors, metadata: TrainingCheckpoint.withChecksums(meta, tensors: file.tensors)).write(to: ckPath)

        said = []
        let second = try run()
        XCTAssertTrue(said.contains { $0.contains("result format \(ResultFormat.version - 1)") && $0.contains("trained again") }, "\(said)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: sub.path + ".stale-format-\(ResultFormat.version - 1)/metrics.json"))
        XCTAssertEqual(try TrainingCheckpoint.read(from: ckPath).resultFormat, ResultFormat.version)
        var a = second.seeds[0].studentDistilled, b = first.seeds[0].studentDistilled
        a.seconds = 0; b.seconds = 0
        XCTAssertEqual(a, b, "the same seed trains to the same numbers")
        XCTAssertTrue(said.contains { $0.contains("reusing") }, "the teacher, still current, is reused: \(said)")

        // a loop refuses to resume such a run outright
        meta["result_format"] = "1"
        try SafeTensors(tensors: file.tensors, metadata: TrainingCheckpoint.withChecksums(meta, tensors: file.tensors)).write(to: ckPath)
        var cfg = config.student.train
        cfg.seed = 0
        let loop = try TrainingLoop(config: cfg, scheme: SupervisedScheme(model: MLP(inputs: 784, hidden: [8], classes: 10, seed: 0), spec: "mlp:8", config: cfg),
                                    train: .init(name: "x", images: Tensor.zeros([1, 1, 28, 28]), labels: IntTensor([0]), classCount: 10), test: nil, runDirectory: sub)
        XCTAssertThrowsError(try loop.checkExistingRun()) { XCTAssertTrue("\($0)".contains("result format 1"), "\($0)") }
        try? FileManager.default.removeItem(at: dir)
    }
}
