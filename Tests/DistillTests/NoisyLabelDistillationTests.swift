import XCTest
import DistillCore
import DistillNN
import DistillTestSupport
@testable import Distill

/// Li et al. 2017's loss against PyTorch 1.13 (Tests/DistillNNTests/Fixtures/make_reduction_values.py),
/// its limits (λ = 1 is cross-entropy; unlabelled rows take the teacher alone) and its options.
final class NoisyLabelDistillationTests: XCTestCase {
    let s = Tensor(shape: [3, 3], scalars: [1, 2, 0.5, 0.1, -1, 3, 2, 2, 2])
    let t = Tensor(shape: [3, 3], scalars: [0.3, 1.2, -0.4, 2.0, 0.0, 1.0, 0.5, -0.5, 1.5])

    func batch(_ labels: [Int]) -> DistillationBatch {
        DistillationBatch(studentLogits: s, teacherLogits: t, labels: IntTensor(labels))
    }

    func testMatchesPyTorch() {
        assertClose(NoisyLabelDistillationLoss(lambda: 0.5, temperature: 1).loss(batch([1, -1, 0])), Tensor(1.3812004), "λ = 0.5, T = 1")
        assertClose(NoisyLabelDistillationLoss(lambda: 0.3, temperature: 2).loss(batch([1, -1, 0])), Tensor(1.4292611), "λ = 0.3, T = 2")
    }

    func testLambdaOneIsCrossEntropyAndTheTeacherIsAConstant() {
        assertClose(NoisyLabelDistillationLoss(lambda: 1).loss(batch([1, 2, 0])), crossEntropy(logits: s, labels: IntTensor([1, 2, 0])), "λ = 1")
        let teacher = t.detached().requiringGradient()
        let loss = NoisyLabelDistillationLoss(lambda: 0.2).loss(DistillationBatch(studentLogits: s.detached().requiringGradient(), teacherLogits: teacher, labels: IntTensor([1, 2, 0])))
        XCTAssertEqual(gradients(of: loss, wrt: [teacher])[0].scalars, [Float](repeating: 0, count: 9))
    }

    func testGradientsMatchFiniteDifferences() {
        for (lambda, temperature) in [(Float(0.5), Float(1)), (0.3, 2)] {
            let loss = NoisyLabelDistillationLoss(lambda: lambda, temperature: temperature)
            let failures = GradientCheck.firstOrder([s], eps: 1e-2) { xs in
                loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: self.t, labels: IntTensor([1, -1, 0])))
            }
            XCTAssertTrue(failures.isEmpty, "λ = \(lambda), T = \(temperature): \(failures.prefix(3))")
        }
    }

    func testRegistryOptions() throws {
        let l = try XCTUnwrap(try MethodRegistry.make("noisy-label-kd", options: ["lambda": "0.7", "temperature": "2"]) as? NoisyLabelDistillationLoss)
        XCTAssertEqual(l.lambda, 0.7); XCTAssertEqual(l.temperature, 2)
        XCTAssertThrowsError(try MethodRegistry.make("noisy-label-kd", options: ["lambda": "1.5"])) { XCTAssertTrue("\($0)".contains("lambda")) }
        XCTAssertThrowsError(try MethodRegistry.make("noisy-label-kd", options: ["temperature": "0"])) { XCTAssertTrue("\($0)".contains("temperature")) }
    }
}
