/// Finite-difference gradient checks, first and second order, for tests of ops, layers and losses.
public enum GradientCheck {
    public struct Failure: CustomStringConvertible {
        public let input: Int, element: Int, analytic: Float, numeric: Float
        public var description: String { "input \(input)[\(element)]: analytic \(analytic) vs numeric \(numeric)" }
    }

    /// Checks d⟨f(x), w⟩/dx against central differences, with a fixed random projection w so
    /// that every output element matters. Returns the mismatches (empty when the check passes).
    public static func firstOrder(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                                  seed: UInt64 = 7, _ f: @escaping ([Tensor]) -> Tensor) -> [Failure] {
        let xs = inputs.map { $0.detached().requiringGradient() }
        let probe = f(xs.map { $0.detached() })
        var g = SeededGenerator(seed: seed)
        let w = Tensor.uniform(probe.shape, low: 0.5, high: 1.5, using: &g)
        let objective: ([Tensor]) -> Tensor = { (f($0) * w).sum() }
        let analytic = gradients(of: objective(xs), wrt: xs)
        return compare(xs, analytic, eps: eps, atol: atol, rtol: rtol) { objective($0).item }
    }

    /// Second order: checks the gradient of h(x) = ⟨∇ₓ⟨f(x), w⟩, u⟩ (a Hessian-vector product,
    /// built with `createGraph`) against central differences of h.
    public static func secondOrder(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 5e-3, rtol: Float = 5e-2,
                                   seed: UInt64 = 11, _ f: @escaping ([Tensor]) -> Tensor) -> [Failure] {
        let probe = f(inputs.map { $0.detached() })
        var g = SeededGenerator(seed: seed)
        let w = Tensor.uniform(probe.shape, low: 0.5, high: 1.5, using: &g)
        let us = inputs.map { Tensor.uniform($0.shape, low: -1, high: 1, using: &g) }
        let h: ([Tensor]) -> Tensor = { xs in
            let leaves = xs.map { $0.detached().requiringGradient() }
            let gs = gradients(of: (f(leaves) * w).sum(), wrt: leaves, createGraph: true)
            var total = Tensor(0)
            for (gi, ui) in zip(gs, us) { total = total + (gi * ui).sum() }
            return total
        }
        // gradients of h with respect to the original leaves: rebuild h on fixed leaves
        let leaves = inputs.map { $0.detached().requiringGradient() }
        let inner = gradients(of: (f(leaves) * w).sum(), wrt: leaves, createGraph: true)
        var total = Tensor(0)
        for (gi, ui) in zip(inner, us) { total = total + (gi * ui).sum() }
        let analytic = total.requiresGradient ? gradients(of: total, wrt: leaves) : leaves.map { Tensor.zeros($0.shape) }
        return compare(leaves, analytic, eps: eps, atol: atol, rtol: rtol) { h($0).item }
    }

    static func compare(_ xs: [Tensor], _ analytic: [Tensor], eps: Float, atol: Float, rtol: Float,
                        _ value: ([Tensor]) -> Float) -> [Failure] {
        var failures: [Failure] = []
        for (k, x) in xs.enumerated() {
            for e in 0..<x.count {
                func shifted(_ d: Float) -> Float {
                    var copy = xs.map { $0.detached() }
                    var v = x.scalars
                    v[e] += d
                    copy[k] = Tensor(shape: x.shape, scalars: v)
                    return value(copy)
                }
                let numeric = (shifted(eps) - shifted(-eps)) / (2 * eps)
                let a = analytic[k].scalars[e]
                if Swift.abs(a - numeric) > atol + rtol * Swift.abs(numeric) {
                    failures.append(Failure(input: k, element: e, analytic: a, numeric: numeric))
                }
            }
        }
        return failures
    }
}
