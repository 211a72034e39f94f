import XCTest
import DistillCore

final class AutogradTests: XCTestCase {
    func testGradientsAccumulateIntoLeavesAcrossBackwardCalls() {
        let x = Tensor([1, 2, 3]).requiringGradient()
        (x * x).sum().backward()
        XCTAssertEqual(x.gradient!.scalars, [2, 4, 6])
        (x * 3).sum().backward()
        XCTAssertEqual(x.gradient!.scalars, [5, 7, 9])
        x.zeroGradient()
        XCTAssertNil(x.gradient)
    }

    func testSharedSubexpressionSumsBothPaths() {
        let x = Tensor([2]).requiringGradient()
        let y = x * x          // dy/dx = 2x
        let z = (y + y * x).sum()  // z = x² + x³, dz/dx = 2x + 3x² = 16
        z.backward()
        XCTAssertEqual(x.gradient!.item, 16, accuracy: 1e-5)
    }

    func testWithoutGradientsRecordsNothing() {
        let x = Tensor([1, 2]).requiringGradient()
        let y = withoutGradients { x * x }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue(GradMode.isEnabled, "the scope restores recording")
    }

    func testDetachCutsTheTape() {
        let x = Tensor([3]).requiringGradient()
        let y = (x * x.detached()).sum()   // gradient flows only through the first factor
        y.backward()
        XCTAssertEqual(x.gradient!.item, 3, accuracy: 1e-6)
    }

    func testGradientsOfDoesNotTouchLeafAccumulators() {
        let x = Tensor([1, 2]).requiringGradient()
        let g = gradients(of: (x * x).sum(), wrt: [x])
        XCTAssertEqual(g[0].scalars, [2, 4])
        XCTAssertNil(x.gradient)
    }

    func testSecondDerivativeOfCube() {
        // f = x³: f' = 3x², f'' = 6x
        let x = Tensor([2]).requiringGradient()
        let g = gradients(of: x.pow(3).sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(g.item, 12, accuracy: 1e-5)
        XCTAssertTrue(g.requiresGradient)
        let h = gradients(of: g.sum(), wrt: [x])[0]
        XCTAssertEqual(h.item, 12, accuracy: 1e-5)
    }

    func testDeepGraphDoesNotOverflowTheStack() {
        let x = Tensor([1]).requiringGradient()
        var y = x
        for _ in 0..<100_000 { y = y + 0 }
        y.sum().backward()
        XCTAssertEqual(x.gradient!.item, 1)
    }

    func testGraphIsFreedAfterBackward() {
        weak var weakStorage: TensorStorage?
        let x = Tensor([1, 2, 3]).requiringGradient()
        do {
            let hidden = x.exp()        // exp keeps its output for the pullback
            weakStorage = hidden.storage
            hidden.sum().backward()
        }
        XCTAssertNil(weakStorage, "intermediate buffers are released once backward has run")
        XCTAssertNotNil(x.gradient)
    }

    func testEachNodeIsFreedAsSoonAsItsPullbackHasRun() {
        // x → a = x·x (captures x and a saved copy) → b = a·a (captures a), then backward: by the
        // time the first op's pullback runs, the second op's captures must be gone, so a training
        // step's activations go back to the buffer cache during backward, not after it.
        weak var capturedBySecond: TensorStorage?
        var releasedInTime: Bool?
        let x = Tensor([1, 2, 3]).requiringGradient()
        do {
            let a = Tensor.record(.multiply, result: withoutGradients { x * x }, inputs: [x]) { g, _ in
                releasedInTime = capturedBySecond == nil
                return [g * x * 2]
            }
            let b: Tensor = {
                let kept = a.detached() * 1     // a buffer only the second pullback holds
                capturedBySecond = kept.storage
                return Tensor.record(.multiply, result: withoutGradients { a * a }, inputs: [a]) { g, _ in [g * kept * 2] }
            }()
            XCTAssertNotNil(capturedBySecond)
            b.sum().backward()
        }
        XCTAssertEqual(releasedInTime, true)
        XCTAssertEqual(x.gradient!.scalars, [4, 32, 108])
        // with retainGraph the graph stays whole for a second pass
        let y = Tensor([1, 2]).requiringGradient()
        let z = (y * y).exp().sum()
        z.backward(retainGraph: true)
        z.backward()
        let once: [Float] = [2 * Float(M_E), 4 * Float(exp(4.0))]   // d/dy exp(y²) = 2y·exp(y²)
        for (g, e) in zip(y.gradient!.scalars, once) { XCTAssertEqual(g, 2 * e, accuracy: 1e-3 * e) }
    }

    func testUnbroadcastSumsGradientToOperandShape() {
        let b = Tensor([1, 2, 3]).requiringGradient()
        let x = Tensor(shape: [4, 3], repeating: 1)
        (x + b).sum().backward()
        XCTAssertEqual(b.gradient!.scalars, [4, 4, 4])
    }

    func testSeededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xa = Tensor.normal([100], using: &a), xb = Tensor.normal([100], using: &b), xc = Tensor.normal([100], using: &c)
        XCTAssertEqual(xa.scalars, xb.scalars)
        XCTAssertNotEqual(xa.scalars, xc.scalars)
        var s = SeededGenerator(seed: 5)
        _ = s.next()
        var r = SeededGenerator(state: s.state)
        XCTAssertEqual(s.next(), r.next(), "state round-trips for checkpoints")
    }

    func testInitialiserStatistics() {
        var g = SeededGenerator(seed: 1)
        let n = Tensor.normal([20_000], mean: 1, std: 2, using: &g)
        XCTAssertEqual(n.mean().item, 1, accuracy: 0.05)
        XCTAssertEqual(n.variance(alongAxes: [0]).item.squareRoot(), 2, accuracy: 0.05)
        let k = Tensor.kaimingUniform([64, 100], using: &g)   // bound √2·√(3/100)
        let bound = Float(2).squareRoot() * (Float(3) / 100).squareRoot()
        XCTAssertLessThanOrEqual(k.abs().max().item, bound)
        XCTAssertGreaterThan(k.abs().max().item, 0.95 * bound)
        let xv = Tensor.xavierNormal([300, 200], using: &g)    // std √(2/500)
        XCTAssertEqual(xv.variance(alongAxes: [0, 1]).item.squareRoot(), (Float(2) / 500).squareRoot(), accuracy: 0.002)
    }
}

final class AutogradTeardownTests: XCTestCase {
    func testDroppingADeepUnusedGraphDoesNotOverflowTheStack() {
        let x = Tensor([1]).requiringGradient()
        do {
            var y = x
            for _ in 0..<200_000 { y = y * 1 }
            XCTAssertTrue(y.requiresGradient)
        }
        XCTAssertNil(x.gradient)
    }
}
