import XCTest
import DistillCore

/// Gradient checks of the ops the distillation methods of issue #14 added: gradient scaling
/// (CTKD's gradient reversal). Finite differences see only the identity forward, so the inventory
/// case uses λ = 1, and `GradientScalingTests` checks λ ≠ 1 against hand-derived gradients.
extension GradCases {
    static let methods: [GradCase] = [
        GradCase(.scaleGradient, "scaleGradient λ = 1", [Inputs.uniform([2, 3], seed: 300)]) { $0[0].scalingGradient(by: 1).pow(2) * $0[0] },
    ]
}

final class GradientScalingTests: XCTestCase {
    /// f(x) = Σ GRL_λ(x)³: ∂f/∂x = 3λ·GRL_λ(x)², and ∂(Σ ∂f/∂x)/∂x = 6λ²x (the second derivative
    /// passes the op twice: once in the pullback's λ, once through y = GRL_λ(x) inside 3y²).
    func testGradientIsScaledByLambdaToFirstAndSecondOrder() {
        for lambda: Float in [-1, -0.25, 0, 2] {
            let x = Inputs.uniform([2, 3], seed: 301).requiringGradient()
            let f = x.scalingGradient(by: lambda).pow(3).sum()
            XCTAssertEqual(f.item, x.pow(3).sum().item, accuracy: 1e-6, "the forward is the identity")
            let g = gradients(of: f, wrt: [x], createGraph: true)[0]
            let xs = x.scalars
            for (a, v) in zip(g.scalars, xs) { XCTAssertEqual(a, 3 * lambda * v * v, accuracy: 1e-5, "λ = \(lambda) first order") }
            let h = gradients(of: g.sum(), wrt: [x])[0]
            for (a, v) in zip(h.scalars, xs) { XCTAssertEqual(a, 6 * lambda * lambda * v, accuracy: 1e-5, "λ = \(lambda) second order") }
        }
    }

    /// Only the branch through the op is scaled: Σ (GRL_λ(x) + x)·x has gradient λ·x + 3x (λ = −1: 2x).
    func testOnlyTheReversedBranchIsScaled() {
        let x = Inputs.uniform([4], seed: 302).requiringGradient()
        let g = gradients(of: ((x.scalingGradient(by: -1) + x) * x).sum(), wrt: [x])[0]
        for (a, v) in zip(g.scalars, x.scalars) { XCTAssertEqual(a, 2 * v, accuracy: 1e-6) }
    }
}
