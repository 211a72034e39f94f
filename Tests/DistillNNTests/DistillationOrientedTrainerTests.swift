import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// DOT's update rule against a hand computation, its reduction to SGD with momentum at Δ = 0,
/// and its exported state.
final class DistillationOrientedTrainerTests: XCTestCase {
    /// Sets the gradient of each parameter to `g` by the backward of ⟨θ, g⟩ (nil: no gradient).
    func backward(_ params: [Parameter], _ grads: [Float?]) {
        for p in params { p.zeroGradient() }
        var total: Tensor? = nil
        for (p, g) in zip(params, grads) {
            guard let g else { continue }
            let term = (p.value * g).sum()
            total = total.map { $0 + term } ?? term
        }
        total?.backward()
    }

    /// A: both gradients, B: task only, C: distillation only; lr 0.1, μ 0.9, Δ 0.05, λ 0.01.
    func testTwoStepsMatchAHandComputation() {
        let a = Parameter(Tensor([1])), b = Parameter(Tensor([2])), c = Parameter(Tensor([-1]))
        let ps = [a, b, c]
        let dot = DistillationOrientedTrainer([("a", a), ("b", b), ("c", c)], learningRate: 0.1, momentum: 0.9, delta: 0.05, weightDecay: 0.01)
        XCTAssertEqual(dot.taskMomentum, 0.85, accuracy: 1e-7)
        XCTAssertEqual(dot.distillationMomentum, 0.95, accuracy: 1e-7)
        // step 1: g_kd = (−0.2, —, 0.4), g_task = (0.5, 0.3, —)
        backward(ps, [-0.2, nil, 0.4]); dot.captureDistillationGradients()
        backward(ps, [0.5, 0.3, nil]); dot.step()
        // A: b_task = 0.5 + 0.01·1 = 0.51, θ = 1 − 0.051 = 0.949; b_kd = −0.2, θ = 0.969
        // B: b_task = 0.3 + 0.01·2 = 0.32, θ = 1.968.  C: b_kd = 0.4 (no decay on its first step), θ = −1.04
        XCTAssertEqual(a.value.scalars[0], 0.969, accuracy: 1e-6)
        XCTAssertEqual(b.value.scalars[0], 1.968, accuracy: 1e-6)
        XCTAssertEqual(c.value.scalars[0], -1.04, accuracy: 1e-6)
        // step 2: g_kd = (0.3, —, −0.1), g_task = (0.1, −0.4, —)
        backward(ps, [0.3, nil, -0.1]); dot.captureDistillationGradients()
        backward(ps, [0.1, -0.4, nil]); dot.step()
        // A: b_task = 0.85·0.51 + (0.1 + 0.01·0.969) = 0.54319, θ = 0.969 − 0.054319 = 0.914681;
        //    b_kd = 0.95·(−0.2) + 0.3 = 0.11, θ = 0.903681
        // B (task only, mean momentum 0.9): b = 0.9·0.32 + (−0.4 + 0.01968) = −0.09232, θ = 1.977232
        // C (kd only, mean momentum 0.9, decay): b = 0.9·0.4 + (−0.1 − 0.0104) = 0.2496, θ = −1.06496
        XCTAssertEqual(a.value.scalars[0], 0.903681, accuracy: 1e-6)
        XCTAssertEqual(b.value.scalars[0], 1.977232, accuracy: 1e-6)
        XCTAssertEqual(c.value.scalars[0], -1.06496, accuracy: 1e-6)
        let state = dot.stateDict()
        XCTAssertEqual(state["a.momentum_buffer"]!.scalars[0], 0.54319, accuracy: 1e-6)
        XCTAssertEqual(state["a.momentum_kd_buffer"]!.scalars[0], 0.11, accuracy: 1e-6)
        XCTAssertNil(state["b.momentum_kd_buffer"]); XCTAssertNil(state["c.momentum_buffer"])
    }

    /// With Δ = 0 the two buffers sum to SGD's one: the same trajectory as SGD with momentum on
    /// the sum of the two losses.
    func testZeroDeltaIsSGDWithMomentumOnTheSum() {
        var g = SeededGenerator(seed: 5)
        let x0 = Tensor.normal([3, 2], using: &g), u = Tensor.normal([3, 2], using: &g), v = Tensor.normal([3, 2], using: &g)
        let p = Parameter(x0), q = Parameter(x0)
        let dot = DistillationOrientedTrainer([("w", p)], learningRate: 0.05, momentum: 0.9, delta: 0, weightDecay: 0.01)
        let sgd = SGD([("w", q)], learningRate: 0.05, momentum: 0.9, weightDecay: 0.01)
        func task(_ t: Tensor) -> Tensor { (t * t * u).sum() }
        func kd(_ t: Tensor) -> Tensor { ((t - v) * (t - v)).sum() * 0.5 }
        for _ in 0..<5 {
            p.zeroGradient(); kd(p.value).backward(); dot.captureDistillationGradients()
            p.zeroGradient(); task(p.value).backward(); dot.step()
            q.zeroGradient(); (task(q.value) + kd(q.value)).backward(); sgd.step()
        }
        assertClose(p.value, q.value, rtol: 1e-5, atol: 1e-6, "DOT at Δ = 0 against SGD")
    }

    func testResumeFromExportedStateIsExact() throws {
        let a = Parameter(Tensor([0.5, -1])), b = Parameter(Tensor([0.5, -1]))
        let oa = DistillationOrientedTrainer([("w", a)], learningRate: 0.1, weightDecay: 1e-3)
        var ob = DistillationOrientedTrainer([("w", b)], learningRate: 0.1, weightDecay: 1e-3)
        for s in 0..<4 {
            for (p, o) in [(a, oa), (b, ob)] {
                p.zeroGradient(); (p.value * p.value).sum().backward(); o.captureDistillationGradients()
                p.zeroGradient(); (p.value * Tensor([Float(s), 1])).sum().backward(); o.step()
            }
            if s == 1 {
                let state = ob.stateDict()
                XCTAssertEqual(Set(state.keys), ["w.momentum_buffer", "w.momentum_kd_buffer"])
                ob = DistillationOrientedTrainer([("w", b)], learningRate: 0.1, weightDecay: 1e-3)
                try ob.loadStateDict(state)
            }
        }
        XCTAssertEqual(a.value.scalars, b.value.scalars)
        XCTAssertThrowsError(try ob.loadStateDict(["w.momentum_kd_buffer": Tensor([1, 2, 3])]))
        XCTAssertThrowsError(try ob.loadStateDict(["v.momentum_buffer": Tensor([1, 2])]))
    }
}
