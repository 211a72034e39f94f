import DistillCore

/// One step of stochastic gradient descent written as tensor ops on the tape, so that the
/// updated parameters are differentiable with respect to the data the loss saw, the learning
/// rate and the starting parameters (the inner loop of dataset distillation and meta-learning).
///
///     g  = ∇θ L(θ)                       (gradients(of:wrt:createGraph: true))
///     v' = g (first step),  v' = μ·v + g  (later)          [if μ ≠ 0; PyTorch's SGD, dampening 0]
///     θ' = θ − η·v'   (θ − η·g without momentum)
///
/// η is a tensor with one element (rank 0 or [1]), typically a leaf or `softplus(raw)`, so
/// ∂/∂η flows through every step. The update records the ops `multiply`, `subtract` (and `add`
/// with momentum) and nothing else: it needs no gradient check of its own.
///
/// Defaults: μ = 0 (the unrolled SGD of Wang et al. 2018, "Dataset Distillation", arXiv
/// 1811.10959, whose reference code takes plain steps `w − lr·∇w`).
public struct DifferentiableSGD {
    public var momentum: Float

    public init(momentum: Float = 0) {
        ensure(momentum >= 0 && momentum < 1, "DifferentiableSGD: momentum \(momentum) is outside [0, 1)")
        self.momentum = momentum
    }

    /// θ' from θ and its gradients g (same shapes, aligned). `velocity` holds the momentum
    /// buffers between steps (nil before the first; ignored and left nil when μ = 0).
    public func step(_ parameters: [Tensor], gradients g: [Tensor], learningRate: Tensor,
                     velocity: inout [Tensor]?) -> [Tensor] {
        ensure(learningRate.count == 1, "DifferentiableSGD: learning rate of shape \(Shape.describe(learningRate.shape)) is not one element")
        ensure(parameters.count == g.count, "DifferentiableSGD: \(parameters.count) parameters but \(g.count) gradients")
        let lr = learningRate.rank == 0 ? learningRate : learningRate.reshaped([])
        var directions = g
        if momentum != 0 {
            if let v = velocity {
                ensure(v.count == g.count, "DifferentiableSGD: \(v.count) velocity buffers for \(g.count) parameters")
                directions = zip(v, g).map { $0 * momentum + $1 }
            }
            velocity = directions
        }
        return zip(parameters, directions).map { theta, d in
            ensure(theta.shape == d.shape, "DifferentiableSGD: parameter \(Shape.describe(theta.shape)) and gradient \(Shape.describe(d.shape))")
            return theta - lr * d
        }
    }

    /// θ' = θ − η·∇θ loss, the gradient taken with `createGraph: true` so that θ' is
    /// differentiable again. Every parameter must be on the tape (a leaf or an earlier θ').
    public func step(loss: Tensor, parameters: [Tensor], learningRate: Tensor, velocity: inout [Tensor]?) -> [Tensor] {
        let g = gradients(of: loss, wrt: parameters, createGraph: true)
        return step(parameters, gradients: g, learningRate: learningRate, velocity: &velocity)
    }
}
