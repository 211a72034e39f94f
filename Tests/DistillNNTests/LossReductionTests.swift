import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// Per-example losses (`reduction: .none`) against PyTorch 1.13
/// (Fixtures/make_reduction_values.py), and their means and gradients against the fused mean ops.
final class LossReductionTests: XCTestCase {
    let z = Tensor(shape: [3, 3], scalars: [1, 2, 0.5, 0.1, -1, 3, 2, 2, 2])
    let y = IntTensor([1, 2, 0])

    func testPerExampleCrossEntropyMatchesPyTorch() {
        assertClose(crossEntropy(logits: z, labels: y, reduction: .none), Tensor([0.4643688, 0.0707742, 1.0986123]), "ce none")
        assertClose(crossEntropy(logits: z, labels: y, reduction: .sum), Tensor(1.6337553), "ce sum")
        assertClose(crossEntropy(logits: z, labels: y, reduction: .none, labelSmoothing: 0.1),
                    Tensor([0.5477021, 0.3007742, 1.0986123]), "ce none, ε = 0.1")
    }

    func testPerExampleKLMatchesPyTorch() {
        let p = Tensor(shape: [3, 3], scalars: [0.2, 0.5, 0.3, 0, 0.1, 0.9, 1.0 / 3, 1.0 / 3, 1.0 / 3])
        assertClose(klDivergence(logQ: z.logSoftmax(alongAxis: 1), p: p, reduction: .none), Tensor([0.0847158, 0.1456912, 0]), "kl none")
        assertClose(klDivergence(logQ: z.logSoftmax(alongAxis: 1), p: p, reduction: .none).mean(),
                    klDivergence(logQ: z.logSoftmax(alongAxis: 1), p: p), "mean of kl none is batchmean")
    }

    /// The mean of the per-example form has the fused op's value and gradient (which has its own
    /// finite-difference check); the sum's gradient is N times it.
    func testGradientsOfThePerExampleFormAreTheFusedOnes() {
        func grad(_ f: (Tensor) -> Tensor) -> Tensor {
            let x = z.detached().requiringGradient()
            return gradients(of: f(x), wrt: [x])[0]
        }
        let fused = grad { crossEntropy(logits: $0, labels: self.y) }
        assertClose(grad { crossEntropy(logits: $0, labels: self.y, reduction: .none).mean() }, fused, "d mean(none)")
        assertClose(grad { crossEntropy(logits: $0, labels: self.y, reduction: .sum) }, fused * 3, "d sum")
        // each example's loss depends on its own row only
        let g0 = grad { crossEntropy(logits: $0, labels: self.y, reduction: .none).slice(axis: 0, start: 0, length: 1).sum() }
        XCTAssertEqual(Array(g0.scalars[3...]), [Float](repeating: 0, count: 6))
    }

    /// Finite differences of a weighted sum of the per-example values (distinct weights, so each
    /// row's gradient is checked on its own), with label smoothing and for the KL to a fixed p.
    func testPerExampleFormsMatchFiniteDifferences() {
        let w = Tensor([0.5, -1.25, 2])
        let p = Tensor(shape: [3, 3], scalars: [0.2, 0.5, 0.3, 0.05, 0.1, 0.85, 1.0 / 3, 1.0 / 3, 1.0 / 3])
        let ce = GradientCheck.firstOrder([z], eps: 1e-2) { xs in
            (crossEntropy(logits: xs[0], labels: self.y, reduction: .none, labelSmoothing: 0.1) * w).sum()
        }
        XCTAssertTrue(ce.isEmpty, "ce none: \(ce.prefix(3))")
        let kl = GradientCheck.firstOrder([z], eps: 1e-2) { xs in
            (klDivergence(logQ: xs[0].logSoftmax(alongAxis: 1), p: p, reduction: .none) * w).sum()
        }
        XCTAssertTrue(kl.isEmpty, "kl none: \(kl.prefix(3))")
    }
}
