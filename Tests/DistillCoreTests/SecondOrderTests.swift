import XCTest
import DistillTestSupport
import DistillCore

/// Second-order differentiation end to end, on the computations dataset distillation needs.
/// Reference values are central finite differences (step ε, error O(ε²)) of first-order
/// gradients or losses computed without `createGraph`.
final class SecondOrderTests: XCTestCase {
    /// logits = tanh(x·W1 + b1)·W2 + b2.
    static func mlp(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        Tensor.matmul((Tensor.matmul(x, p[0]) + p[1]).tanh(), p[2]) + p[3]
    }

    static func parameters(inputs: Int, hidden: Int, classes: Int, seed: UInt64) -> [Tensor] {
        [Inputs.uniform([inputs, hidden], -0.8, 0.8, seed: seed), Inputs.uniform([hidden], -0.3, 0.3, seed: seed + 1),
         Inputs.uniform([hidden, classes], -0.8, 0.8, seed: seed + 2), Inputs.uniform([classes], -0.3, 0.3, seed: seed + 3)]
    }

    static func loss(_ x: Tensor, _ y: IntTensor, _ p: [Tensor]) -> Tensor { crossEntropy(logits: mlp(x, p), labels: y) }

    /// Flat concatenation of tensors' values, for comparisons.
    static func flat(_ ts: [Tensor]) -> [Float] { ts.flatMap(\.scalars) }

    static func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var bad = 0
        for (i, (x, y)) in zip(a, b).enumerated() where Swift.abs(x - y) > atol + rtol * Swift.abs(y) {
            if bad < 5 { XCTFail("\(what)[\(i)]: analytic \(x) vs finite difference \(y)", file: file, line: line) }
            bad += 1
        }
    }

    /// H·v of a small MLP's loss with respect to all its weights, against (∇L(θ+εv) − ∇L(θ−εv)) / 2ε.
    func testHessianVectorProductOfMLPLoss() {
        let x = Inputs.uniform([5, 4], seed: 100)
        let y = IntTensor([0, 2, 1, 2, 0])
        let theta = Self.parameters(inputs: 4, hidden: 6, classes: 3, seed: 101)
        let v = theta.enumerated().map { Inputs.uniform($0.element.shape, seed: 110 + UInt64($0.offset)) }

        let leaves = theta.map { $0.requiringGradient() }
        let g = gradients(of: Self.loss(x, y, leaves), wrt: leaves, createGraph: true)
        var gv = Tensor(0)
        for (gi, vi) in zip(g, v) { gv = gv + (gi * vi).sum() }
        let hv = gradients(of: gv, wrt: leaves)

        let eps: Float = 1e-2
        func grad(at shift: Float) -> [Float] {
            let shifted = zip(theta, v).map { ($0 + $1 * shift).requiringGradient() }
            return Self.flat(gradients(of: Self.loss(x, y, shifted), wrt: shifted))
        }
        let plus = grad(at: eps), minus = grad(at: -eps)
        let numeric = zip(plus, minus).map { ($0 - $1) / (2 * eps) }
        let analytic = Self.flat(hv)
        XCTAssertGreaterThan(analytic.map { Swift.abs($0) }.max()!, 1e-2, "the Hessian-vector product is not trivially zero")
        Self.assertClose(analytic, numeric, atol: 1e-3, rtol: 2e-2, "Hv")
    }

    /// The gradient, with respect to a batch of (synthetic) images, of the validation loss after
    /// one SGD step taken on those images: w' = w − η ∇_w L(w; x_syn), then ∂L(w'; x_val)/∂x_syn.
    func testGradientThroughOneSGDStepWithRespectToImages() {
        let xSyn = Inputs.uniform([3, 1, 4, 4], seed: 120)
        let ySyn = IntTensor([0, 1, 2])
        let xVal = Inputs.uniform([6, 16], seed: 121)
        let yVal = IntTensor([0, 1, 2, 2, 1, 0])
        let w = Self.parameters(inputs: 16, hidden: 5, classes: 3, seed: 122)
        let lr: Float = 0.5

        func unrolled(_ images: Tensor, createGraph: Bool) -> Tensor {
            let params = w.map { $0.requiringGradient() }
            let g = gradients(of: Self.loss(images.reshaped([3, 16]), ySyn, params), wrt: params, createGraph: createGraph)
            let stepped = zip(params, g).map { $0 - $1 * lr }
            return Self.loss(xVal, yVal, stepped)
        }

        let images = xSyn.requiringGradient()
        let analytic = gradients(of: unrolled(images, createGraph: true), wrt: [images])[0]
        XCTAssertEqual(analytic.shape, [3, 1, 4, 4])

        let eps: Float = 1e-2
        var numeric = [Float](repeating: 0, count: xSyn.count)
        for e in 0..<xSyn.count {
            func at(_ d: Float) -> Float {
                var v = xSyn.scalars
                v[e] += d
                return unrolled(Tensor(shape: xSyn.shape, scalars: v), createGraph: false).item
            }
            numeric[e] = (at(eps) - at(-eps)) / (2 * eps)
        }
        XCTAssertGreaterThan(numeric.map { Swift.abs($0) }.max()!, 1e-3, "the images influence the validation loss")
        Self.assertClose(analytic.scalars, numeric, atol: 5e-4, rtol: 2e-2, "dL_val/dx_syn")

        // Without createGraph the step's gradient is a constant, so the images no longer reach
        // the validation loss: the second-order path is what carries the signal.
        let cut = xSyn.requiringGradient()
        let none = gradients(of: unrolled(cut, createGraph: false), wrt: [cut])[0]
        XCTAssertTrue(none.scalars.allSatisfy { $0 == 0 })
    }
}
