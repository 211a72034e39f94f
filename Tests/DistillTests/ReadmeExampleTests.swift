import XCTest
import DistillCore
import DistillNN
import DistillData
import Distill

/// The README's library example, on a small synthetic data set, so the example keeps compiling
/// and working as the API changes.
final class ReadmeExampleTests: XCTestCase {
    func testLibraryExampleRuns() throws {
        var g = SeededGenerator(seed: 3)
        let images = Tensor.uniform([64, 1, 28, 28], using: &g)
        let train = Dataset(name: "toy", images: images, labels: IntTensor((0..<64).map { $0 % 10 }), classCount: 10)
        let test = train.first(32)
        let teacher = try ModelZoo.make("resnet8", input: .fashionMNIST, seed: 0)
        let student = try ModelZoo.make("cnn:16x32,fc=64", input: .fashionMNIST, seed: 1)
        let session = try DistillationSession(
            student: student, teacher: ModelTeacher(teacher, classCount: 10),
            methods: [MethodSpec(name: "hinton", options: ["temperature": "4"]),
                      MethodSpec(name: "at", weight: 1000, options: ["student": "conv1,conv2", "teacher": "layer1,layer2"])],
            probe: train.images.slice(axis: 0, start: 0, length: 8))
        var config = TrainingConfig()
        config.model = "cnn:16x32,fc=64"; config.epochs = 1; config.batchSize = 32
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        let scheme = OfflineDistillation(session: session, spec: config.model, config: config, identity: "readme")
        let trainer = try TrainingLoop(config: config, scheme: scheme, train: train, test: test, runDirectory: dir)
        trainer.showProgress = false
        let history = try trainer.run()
        XCTAssertEqual(history.count, 1)
        XCTAssertTrue(history[0].trainLoss.isFinite)

        let x = Tensor.uniform([4, 3], using: &g).requiringGradient()
        let w = Tensor.uniform([3, 5], using: &g).requiringGradient()
        let loss = crossEntropy(logits: x.matmul(w), labels: IntTensor([0, 2, 1, 0]))
        loss.backward()
        XCTAssertEqual(x.gradient?.shape, [4, 3])
        XCTAssertEqual(w.gradient?.shape, [3, 5])
        let loss2 = crossEntropy(logits: x.matmul(w).tanh(), labels: IntTensor([0, 2, 1, 0]))
        let gx = gradients(of: loss2, wrt: [x], createGraph: true)[0]
        XCTAssertTrue(gx.requiresGradient, "the gradient can be differentiated again")
    }
}
