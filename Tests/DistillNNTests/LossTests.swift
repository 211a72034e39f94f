import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// Losses: PyTorch golden values and gradients, hand-computable cases, finite differences.
final class LossTests: XCTestCase {
    func labels() throws -> IntTensor { IntTensor(try Fixture.value("losses.labels") as! [Int]) }

    func golden(_ name: String, _ f: @escaping (Tensor) -> Tensor) throws {
        let base = "losses." + name
        let x = try Fixture.tensor(base + ".input").requiringGradient()
        let v = f(x)
        let expected = try Fixture.value(base + ".value") as! Double
        XCTAssertEqual(Double(v.item), expected, accuracy: 1e-4 * abs(expected) + 1e-6, name)
        v.backward()
        assertClose(x.gradient!, try Fixture.tensor(base + ".grad"), "\(name) gradient")
        let failures = GradientCheck.firstOrder([x.detached()]) { f($0[0]) }
        XCTAssertTrue(failures.isEmpty, "\(name) finite differences: \(failures.prefix(3))")
    }

    func testCrossEntropyAndNLL() throws {
        let y = try labels()
        try golden("cross_entropy") { crossEntropy(logits: $0, labels: y) }
        try golden("cross_entropy_smooth") { crossEntropy(logits: $0, labels: y, labelSmoothing: 0.1) }
        try golden("nll") { nllLoss(logProbabilities: $0, labels: y) }
    }

    func testRegressionAndDivergence() throws {
        let mseTarget = try Fixture.tensor("losses.mse.target")
        try golden("mse") { mseLoss($0, mseTarget) }
        let p = try Fixture.tensor("losses.kl.target")
        try golden("kl") { klDivergence(logQ: $0, p: p) }
        let bceTarget = try Fixture.tensor("losses.bce.target")
        try golden("bce") { binaryCrossEntropy(probabilities: $0, targets: bceTarget) }
        try golden("bce_logits") { binaryCrossEntropyWithLogits(logits: $0, targets: bceTarget) }
    }

    func testHandComputableValues() {
        // uniform logits over 4 classes: CE = log 4 with or without smoothing
        let z = Tensor.zeros([2, 4])
        XCTAssertEqual(crossEntropy(logits: z, labels: IntTensor([0, 3]), labelSmoothing: 0.3).item, logf(4), accuracy: 1e-6)
        // KL(p ‖ p) = 0, including zero entries
        let p = Tensor(shape: [1, 3], scalars: [0.5, 0.5, 0])
        XCTAssertEqual(klDivergence(logQ: Tensor(shape: [1, 3], scalars: [logf(0.5), logf(0.5), -5]), p: p).item, 0, accuracy: 1e-7)
        XCTAssertEqual(mseLoss(Tensor([1, 2]), Tensor([0, 0])).item, 2.5)
        XCTAssertEqual(binaryCrossEntropyWithLogits(logits: Tensor([0]), targets: Tensor([1])).item, logf(2), accuracy: 1e-6)
        // BCE clamps log at −100 as PyTorch does
        XCTAssertEqual(binaryCrossEntropy(probabilities: Tensor([0]), targets: Tensor([1])).item, 100)
    }

    func testKLGradientWithRespectToTarget() {
        let logq = Tensor(shape: [2, 3], scalars: [-1.2, -0.8, -1.4, -0.9, -1.1, -1.3])
        let p = Tensor(shape: [2, 3], scalars: [0.2, 0.5, 0.3, 0.6, 0.1, 0.3])
        let failures = GradientCheck.firstOrder([logq, p], eps: 1e-3) { klDivergence(logQ: $0[0], p: $0[1]) }
        XCTAssertTrue(failures.isEmpty, "\(failures)")
    }
}
