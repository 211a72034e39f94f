import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// What the scheme tests share: a plain-SGD config for hand-computed update rules, a pair of tiny
/// linear networks, and the runner of a shipped experiment's `--short` version.
enum SchemeFixtures {
    /// SGD without momentum or weight decay, so one step is w ← w − lr · ∂L/∂w.
    static func plainSGD(learningRate lr: Float) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "linear"; c.optimizer = "sgd"; c.momentum = 0; c.weightDecay = 0; c.learningRate = lr
        return c
    }

    /// Two 2 → 3 linear layers drawn from their own seeds.
    static func linearPair(_ names: (String, String), seeds: (UInt64, UInt64)) -> [(name: String, module: Module, spec: String)] {
        var g1 = SeededGenerator(seed: seeds.0), g2 = SeededGenerator(seed: seeds.1)
        return [(names.0, Linear(2, 3, using: &g1), "linear"), (names.1, Linear(2, 3, using: &g2), "linear")]
    }

    /// A runner for `experiments/FILE` in its `--short` version, writing to a fresh temporary directory.
    static func shortRunner(_ file: String, prefix: String) throws -> (ExperimentConfig, ExperimentRunner, URL) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ExperimentConfig.load(path: root.appendingPathComponent("experiments/\(file)").path, short: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        let runner = ExperimentRunner(config: config, directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        return (config, runner, dir)
    }
}
