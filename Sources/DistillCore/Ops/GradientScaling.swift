/// Gradient scaling and reversal: the identity forward, the incoming gradient times λ backward.
///
///     forward: y = x          backward: ∂L/∂x = λ · ∂L/∂y
///
/// λ = −1 is the gradient-reversal layer of Ganin & Lempitsky ("Unsupervised Domain Adaptation by
/// Backpropagation", ICML 2015); CTKD (Li et al., AAAI 2023) passes its curriculum value λ ∈ [−1, 0]
/// as the factor (its `GradientReversalFunction` multiplies by λ as given). The pullback is the
/// linear map g ↦ λ·g, itself differentiable, so second derivatives through it are λ times the
/// identity's. Shapes: any; the output has the input's shape.
extension Tensor {
    public func scalingGradient(by lambda: Float) -> Tensor {
        ensure(lambda.isFinite, "scalingGradient: λ \(lambda) is not finite")
        let r = Elementwise.map(self) { $0 }
        return Tensor.record(.scaleGradient, result: r, inputs: [self]) { g, _ in [g * lambda] }
    }
}
