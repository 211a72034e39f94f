#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Elementwise math with gradients. Pullbacks are written with differentiable ops so they can
/// be differentiated again; when no graph is being built (`GradMode` off during backward) the
/// hot ones use a fused kernel instead.
extension Tensor {
    public func exp() -> Tensor {
        let r = Elementwise.map(self) { expf($0) }
        return Tensor.record(.exp, result: r, inputs: [self], savesOutput: true) { g, y in [g * y] }
    }

    public func log() -> Tensor {
        let r = Elementwise.map(self) { logf($0) }
        return Tensor.record(.log, result: r, inputs: [self]) { g, _ in [g / self] }
    }

    public func sqrt() -> Tensor {
        let r = Elementwise.map(self) { $0.squareRoot() }
        return Tensor.record(.sqrt, result: r, inputs: [self], savesOutput: true) { g, y in [g / (2 * y)] }
    }

    /// `self` raised to a constant power.
    public func pow(_ p: Float) -> Tensor {
        let r: Tensor
        if p == 2 { r = Elementwise.map(self) { $0 * $0 } } else { r = Elementwise.map(self) { powf($0, p) } }
        return Tensor.record(.pow, result: r, inputs: [self], attributes: ["exponent": .float(p)]) { g, _ in
            [p == 2 ? g * self * 2 : g * self.pow(p - 1) * p]
        }
    }

    /// Absolute value; the gradient at 0 is taken as 0 (sign(0) = 0), as in PyTorch.
    public func abs() -> Tensor {
        let r = Elementwise.map(self) { Swift.abs($0) }
        return Tensor.record(.abs, result: r, inputs: [self]) { g, _ in
            [g * Elementwise.map(self.detached()) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        }
    }

    public func sigmoid() -> Tensor {
        let r = Elementwise.map(self) { 1 / (1 + expf(-$0)) }
        return Tensor.record(.sigmoid, result: r, inputs: [self], savesOutput: true) { g, y in [g * y * (1 - y)] }
    }

    public func tanh() -> Tensor {
        let r = Elementwise.map(self) { tanhf($0) }
        return Tensor.record(.tanh, result: r, inputs: [self], savesOutput: true) { g, y in [g * (1 - y * y)] }
    }

    /// max(x, 0); gradient 0 at x = 0 as in PyTorch.
    public func relu() -> Tensor {
        let r = Elementwise.map(self) { Swift.max($0, 0) }
        return Tensor.record(.relu, result: r, inputs: [self], savesOutput: true) { g, y in
            if !GradMode.isEnabled { return [Elementwise.zipSame(g, y) { gv, yv in yv > 0 ? gv : 0 }] }
            return [g * Elementwise.map(y.detached()) { $0 > 0 ? 1 : 0 }]
        }
    }

    /// x for x > 0, `slope`·x otherwise (PyTorch default slope 0.01).
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        let r = Elementwise.map(self) { $0 > 0 ? $0 : slope * $0 }
        return Tensor.record(.leakyRelu, result: r, inputs: [self], attributes: ["slope": .float(slope)]) { g, _ in
            [g * Elementwise.map(self.detached()) { $0 > 0 ? 1 : slope }]
        }
    }

    /// Gauss error function.
    public func erf() -> Tensor {
        let r = Elementwise.map(self) { erff($0) }
        return Tensor.record(.erf, result: r, inputs: [self]) { g, _ in
            [g * (-(self * self)).exp() * Float(2 / Double.pi.squareRoot())]
        }
    }

    /// Exact GELU, x·Φ(x) with Φ the standard normal CDF (PyTorch's default, not the tanh form).
    public func gelu() -> Tensor {
        let r = Elementwise.map(self) { $0 * 0.5 * (1 + erff($0 * 0.70710678118654752)) }
        return Tensor.record(.gelu, result: r, inputs: [self]) { g, _ in
            let cdf = ((self * 0.70710678118654752).erf() + 1) * 0.5
            let pdf = (self * self * -0.5).exp() * 0.39894228040143268
            return [g * (cdf + self * pdf)]
        }
    }

    /// log(1 + eˣ), computed stably as max(x, 0) + log1p(e^(−|x|)); its gradient is sigmoid(x).
    public func softplus() -> Tensor {
        let r = Elementwise.map(self) { Swift.max($0, 0) + log1pf(expf(-Swift.abs($0))) }
        return Tensor.record(.softplus, result: r, inputs: [self]) { g, _ in [g * self.sigmoid()] }
    }

    /// Clamps into [lo, hi]; the gradient passes only strictly inside.
    public func clamped(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        let r = Elementwise.map(self) { Swift.min(Swift.max($0, lo), hi) }
        return Tensor.record(.clamp, result: r, inputs: [self], attributes: ["min": .float(lo), "max": .float(hi)]) { g, _ in
            [g * Elementwise.map(self.detached()) { $0 > lo && $0 < hi ? 1 : 0 }]
        }
    }
}

