import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// `Module.withParameters` (substituted parameters that stay on the tape) and `DifferentiableSGD`.
final class FunctionalParameterTests: XCTestCase {
    func mlp(seed: UInt64 = 3) -> Sequential {
        var g = SeededGenerator(seed: seed)
        return Sequential(Linear(4, 5, using: &g), Tanh(), Linear(5, 3, using: &g))
    }

    func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, low: -1, high: 1, using: &g)
    }

    /// Substituting every parameter by its own value doubled gives what a module whose stored
    /// weights are doubled gives; the stored weights are unchanged afterwards.
    func testSubstituteIsUsedAndStoredWeightsAreUntouched() throws {
        let m = mlp(), x = input([2, 4], seed: 1)
        let before = m.namedParameters().map { $0.parameter.value.scalars }
        let doubled = Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.path, $0.parameter.value.detached() * 2) })
        let y = try m(x, parameters: doubled)
        let reference = mlp()
        for p in reference.parameters { p.value = p.value.detached() * 2 }
        assertClose(y, reference(x), "substituted forward")
        XCTAssertEqual(m.namedParameters().map { $0.parameter.value.scalars }, before)
        XCTAssertFalse(m.parameters.contains { $0.isSubstituted })
        XCTAssertTrue(m.parameters.allSatisfy { $0.value.node?.isLeaf == true }, "stored weights are leaves again")
    }

    /// The substitute's graph is kept: d(loss)/d(s) where θ = s·θ₀ matches a finite difference,
    /// and no gradient lands on the stored weights.
    func testGradientFlowsThroughSubstituteNotIntoStoredWeights() throws {
        let m = mlp(), x = input([3, 4], seed: 2), y = IntTensor([0, 2, 1])
        func loss(_ s: Tensor) throws -> Tensor {
            let theta = Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.path, $0.parameter.storedValue.detached() * s) })
            return crossEntropy(logits: try m(x, parameters: theta), labels: y)
        }
        let s = Tensor(1.3).requiringGradient()
        let analytic = gradients(of: try loss(s), wrt: [s])[0].item
        let eps: Float = 1e-2
        let numeric = (try loss(Tensor(1.3 + eps)).item - loss(Tensor(1.3 - eps)).item) / (2 * eps)
        XCTAssertEqual(analytic, numeric, accuracy: 2e-3 + 1e-2 * abs(numeric))
        XCTAssertGreaterThan(abs(analytic), 1e-3)
        XCTAssertTrue(m.parameters.allSatisfy { $0.gradient == nil }, "stored weights got a gradient")
    }

    /// A partial substitution keeps the other parameters stored; nesting restores the outer one.
    func testPartialAndNestedSubstitution() throws {
        let m = mlp()
        let w = m.namedParameters().first { $0.path == "2.weight" }!.parameter
        let stored = w.value.scalars
        let outer = Tensor.zeros(w.shape), inner = Tensor.ones(w.shape)
        try m.withParameters(["2.weight": outer]) {
            XCTAssertEqual(w.value.scalars, outer.scalars)
            try m.withParameters(["2.weight": inner]) { XCTAssertEqual(w.value.scalars, inner.scalars) }
            XCTAssertEqual(w.value.scalars, outer.scalars, "the outer substitute is back")
            let other = m.namedParameters().first { $0.path == "0.weight" }!.parameter
            XCTAssertFalse(other.isSubstituted)
        }
        XCTAssertEqual(w.value.scalars, stored)
    }

    struct Boom: Error {}

    /// A throwing body restores the stored weights.
    func testThrowingBodyRestores() {
        let m = mlp()
        let w = m.namedParameters()[0].parameter
        XCTAssertThrowsError(try m.withParameters(["0.weight": Tensor.zeros(w.shape)]) { throw Boom() }) { XCTAssertTrue($0 is Boom) }
        XCTAssertFalse(w.isSubstituted)
    }

    func testUnknownPathAndShapeMismatchThrowNamingThem() {
        let m = mlp()
        XCTAssertThrowsError(try m.withParameters(["0.wieght": Tensor.zeros([5, 4])]) {}) { error in
            XCTAssertEqual(error as? FunctionalParameterError,
                           .unknownPath("0.wieght", valid: ["0.weight", "0.bias", "2.weight", "2.bias"]))
            XCTAssertTrue("\(error)".contains("0.wieght"))
        }
        XCTAssertThrowsError(try m.withParameters(["2.bias": Tensor.zeros([4])]) {}) { error in
            XCTAssertEqual(error as? FunctionalParameterError, .shapeMismatch(path: "2.bias", expected: [3], got: [4]))
            XCTAssertTrue("\(error)".contains("[4]"), "\(error)")
        }
        XCTAssertFalse(m.parameters.contains { $0.isSubstituted })
    }

    /// Two models substituted at once do not see each other's substitutes.
    func testTwoModelsAreIndependent() throws {
        let a = mlp(seed: 1), b = mlp(seed: 1), x = input([2, 4], seed: 5)
        let plain = b(x)
        let zeros = Dictionary(uniqueKeysWithValues: a.namedParameters().map { ($0.path, Tensor.zeros($0.parameter.shape)) })
        try a.withParameters(zeros) {
            assertClose(b(x), plain, "the other model")
            XCTAssertEqual(a(x).scalars, [Float](repeating: 0, count: 6))
        }
    }

    /// Writes inside a scope go to the stored weights (an optimizer step), reads still see the substitute.
    func testAssignmentInsideScopeWritesStoredWeights() throws {
        let m = mlp()
        let p = m.namedParameters()[1].parameter
        let sub = Tensor.ones(p.shape) * 7
        try m.withParameters(["0.bias": sub]) {
            p.value = Tensor.zeros(p.shape)
            XCTAssertEqual(p.value.scalars, sub.scalars)
        }
        XCTAssertEqual(p.value.scalars, [Float](repeating: 0, count: p.count))
        XCTAssertTrue(p.value.node?.isLeaf == true)
    }

    /// Training-mode BatchNorm: running statistics are updated by default and restored with `.restore`;
    /// eval mode reads them.
    func testBatchNormBuffersUpdateOrRestore() throws {
        let bn = BatchNorm2d(2)
        let x = input([4, 2, 3, 3], seed: 9) + 2
        let w = Tensor.ones([2]) * 1.5
        try bn.withParameters(["weight": w], buffers: .restore) { _ = bn(x) }
        XCTAssertEqual(bn.runningMean.value.scalars, [0, 0], "restored")
        try bn.withParameters(["weight": w]) { _ = bn(x) }
        XCTAssertGreaterThan(bn.runningMean.value.scalars[0], 0.1, "updated as by any training forward")
        XCTAssertTrue(bn.runningMean.value.node == nil)
    }

    /// θ' = θ − η·g, with ∂/∂η = −⟨g, ∂L'/∂θ'⟩ checked against a finite difference, and momentum's
    /// second step v = μ·g₁ + g₂.
    func testDifferentiableSGDStep() {
        let theta = [input([3], seed: 11).requiringGradient()]
        let x = input([3], seed: 12)
        func lossAt(_ t: [Tensor]) -> Tensor { ((t[0] * x).tanh() * x).sum() }
        let sgd = DifferentiableSGD()
        func after(_ lr: Tensor) -> Tensor {
            var v: [Tensor]? = nil
            let t1 = sgd.step(loss: lossAt(theta), parameters: theta, learningRate: lr, velocity: &v)
            return (t1[0] * t1[0]).sum()
        }
        let lr = Tensor(0.3).requiringGradient()
        let analytic = gradients(of: after(lr), wrt: [lr])[0].item
        let eps: Float = 1e-2
        let numeric = (after(Tensor(0.3 + eps)).item - after(Tensor(0.3 - eps)).item) / (2 * eps)
        XCTAssertEqual(analytic, numeric, accuracy: 1e-3 + 1e-2 * abs(numeric))

        let heavy = DifferentiableSGD(momentum: 0.9)
        var v: [Tensor]? = nil
        let g1 = [Tensor([1, 2, 3])], g2 = [Tensor([1, 1, 1])]
        let p0 = [Tensor([0, 0, 0])]
        let p1 = heavy.step(p0, gradients: g1, learningRate: Tensor([0.5]), velocity: &v)
        XCTAssertEqual(p1[0].scalars, [-0.5, -1, -1.5])
        let p2 = heavy.step(p1, gradients: g2, learningRate: Tensor(0.5), velocity: &v)
        assertClose(p2[0], Tensor([-0.5 - 0.5 * 1.9, -1 - 0.5 * 2.8, -1.5 - 0.5 * 3.7]), "momentum step")
    }

    /// `gradients(of:wrt:)` runs only pullbacks on a path to a target: ∇ₓ of a loss of x = f(a)
    /// must not run f's pullback.
    func testGradientsWithRespectToAnInteriorTensorSkipsWhatLiesBelowIt() {
        final class Counter { var n = 0 }
        let counter = Counter()
        let a = Tensor([1, 2]).requiringGradient()
        let inner = Tensor.record(.multiply, result: (a * 3).detached(), inputs: [a]) { g, _ in counter.n += 1; return [g * 3] }
        let loss = (inner * inner).sum()
        let g = gradients(of: loss, wrt: [inner])[0]
        XCTAssertEqual(g.scalars, [6, 12])
        XCTAssertEqual(counter.n, 0, "the pullback below the target ran")
        let again = Tensor.record(.multiply, result: (a * 3).detached(), inputs: [a]) { g, _ in counter.n += 1; return [g * 3] }
        let ga = gradients(of: (again * again).sum(), wrt: [a])[0]
        XCTAssertEqual(ga.scalars, [18, 36])
        XCTAssertEqual(counter.n, 1)
    }
}
