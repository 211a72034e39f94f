import DistillCore

/// DOT, the distillation-oriented trainer (Zhao, Song, Cui, Li & Liang, "DOT: A Distillation-
/// Oriented Trainer", ICCV 2023): SGD with one momentum buffer for the task-loss gradient and
/// another for the distillation-loss gradient, the distillation one heavier, so the optimiser
/// trusts the distillation direction more and trades less of it for the task loss.
///
/// A step takes two gradients of the same parameters: first `captureDistillationGradients()`
/// after the backward of L_kd, then (gradients cleared) the backward of L_task and `step()`.
/// With μ_task = μ − Δ, μ_kd = μ + Δ, η the learning rate, λ the weight decay, for a parameter θ
/// with both gradients g_task and g_kd (mdistiller's `dot()`, mdistiller/engine/dot.py):
///
///     b_task = g_task + λθ (first step),  μ_task·b_task + (g_task + λθ) (later);  θ = θ − η·b_task
///     b_kd   = g_kd        (first step),  μ_kd·b_kd + g_kd                (later);  θ = θ − η·b_kd
///
/// A parameter that only one loss reaches keeps that loss's buffer with the mean momentum
/// (μ_task + μ_kd)/2 = μ, as plain SGD with momentum μ would (weight decay then on its only
/// gradient, except on the first step of a distillation-only parameter: the reference clones the
/// bare gradient there, and so do we). Weight decay enters once, with the task gradient. With
/// Δ = 0 the two buffers sum to one SGD-with-momentum buffer, so the update is SGD's exactly.
///
/// Shapes: any; each buffer has its parameter's shape. Defaults: Δ = 0.075 and μ = 0.9, as the
/// reference's CIFAR-100 and ImageNet configs (`SOLVER.DOT.DELTA`, `SOLVER.MOMENTUM`); dampening 0
/// and no Nesterov (the reference has neither). Checkpoint state: `PATH.momentum_buffer` (task)
/// and `PATH.momentum_kd_buffer`, the reference's state names. Without a captured distillation
/// gradient (a scheme that has no distillation loss), `step()` is SGD with momentum μ.
public final class DistillationOrientedTrainer: Optimizer {
    public let params: [(path: String, parameter: Parameter)]
    public var learningRate: Float
    public let taskMomentum: Float, distillationMomentum: Float, weightDecay: Float
    var taskBuffers: SlotState, kdBuffers: SlotState
    /// The distillation gradients captured for the next `step()` (copies), nil where none.
    var kdGradients: [Tensor?]

    /// - Parameters: `momentum` μ and `delta` Δ give μ_task = μ − Δ and μ_kd = μ + Δ, each in [0, 1).
    public init(_ params: [(path: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0.9,
                delta: Float = 0.075, weightDecay: Float = 0) {
        ensure(momentum - delta >= 0 && momentum + delta < 1,
               "DOT: momentum \(momentum) ± delta \(delta) must lie in [0, 1)")
        self.params = params; self.learningRate = learningRate
        taskMomentum = momentum - delta; distillationMomentum = momentum + delta; self.weightDecay = weightDecay
        taskBuffers = SlotState(count: params.count); kdBuffers = SlotState(count: params.count)
        kdGradients = Array(repeating: nil, count: params.count)
    }

    /// Keeps a copy of every parameter's current gradient as its distillation gradient (the
    /// reference's `step_kd`); clear the gradients before the task loss's backward.
    public func captureDistillationGradients() {
        for (k, e) in params.enumerated() {
            kdGradients[k] = e.parameter.gradient.map { Tensor(shape: $0.shape, scalars: $0.scalars) }
        }
    }

    public func step() {
        withoutGradients {
            let lr = learningRate, wd = weightDecay
            let mean = (taskMomentum + distillationMomentum) / 2
            let taskGradients: [Tensor?] = params.map { $0.parameter.gradient }
            for (k, e) in params.enumerated() {
                if let g = taskGradients[k] {
                    ensure(g.count == e.parameter.count, "DOT: gradient \(Shape.describe(g.shape)) does not match parameter \(e.path) \(Shape.describe(e.parameter.shape))")
                }
                if let g = kdGradients[k] {
                    ensure(g.count == e.parameter.count, "DOT: distillation gradient \(Shape.describe(g.shape)) does not match parameter \(e.path) \(Shape.describe(e.parameter.shape))")
                }
            }
            // task gradients first, over the parameters as they were
            for (k, e) in params.enumerated() {
                guard let g = taskGradients[k] else { continue }
                let mu = kdGradients[k] != nil ? taskMomentum : mean
                Self.apply(e.parameter, gradient: g, buffer: &taskBuffers.tensors[k], momentum: mu, weightDecay: wd,
                           decayOnFirst: true, learningRate: lr)
            }
            // then the distillation gradients
            for (k, e) in params.enumerated() {
                guard let g = kdGradients[k] else { continue }
                let both = taskGradients[k] != nil
                Self.apply(e.parameter, gradient: g, buffer: &kdBuffers.tensors[k], momentum: both ? distillationMomentum : mean,
                           weightDecay: both ? 0 : wd, decayOnFirst: false, learningRate: lr)
            }
            kdGradients = Array(repeating: nil, count: params.count)
        }
    }

    /// b = d (first step) or μ·b + d, with d = g + λθ (λ omitted on the first step unless
    /// `decayOnFirst`); θ = θ − η·b.
    static func apply(_ p: Parameter, gradient: Tensor, buffer: inout Tensor?, momentum mu: Float, weightDecay wd: Float,
                      decayOnFirst: Bool, learningRate lr: Float) {
        let n = p.count
        let first = buffer == nil
        if first { buffer = Tensor.zeros(p.shape) }
        let gp = gradient.storage.pointer
        let firstDecay: Float = decayOnFirst ? wd : 0
        p.value.withUnsafeMutableBufferPointer { pb in
            buffer!.withUnsafeMutableBufferPointer { bb in
                let w = pb.baseAddress!, b = bb.baseAddress!
                if first {
                    parallelChunks(n) { r in for i in r { let d = gp[i] + firstDecay * w[i]; b[i] = d; w[i] -= lr * d } }
                } else {
                    parallelChunks(n) { r in for i in r { let bi = mu * b[i] + gp[i] + wd * w[i]; b[i] = bi; w[i] -= lr * bi } }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, e) in params.enumerated() {
            if let b = taskBuffers.tensors[k] { out[e.path + ".momentum_buffer"] = b }
            if let b = kdBuffers.tensors[k] { out[e.path + ".momentum_kd_buffer"] = b }
        }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        var known = Set<String>()
        var task = SlotState(count: params.count), kd = SlotState(count: params.count)
        for (k, e) in params.enumerated() {
            for (suffix, isTask) in [(".momentum_buffer", true), (".momentum_kd_buffer", false)] {
                let key = e.path + suffix
                known.insert(key)
                guard let t = state[key] else { continue }
                guard t.shape == e.parameter.shape else { throw OptimizerError.shapeMismatch(key: key, expected: e.parameter.shape, got: t.shape) }
                let copy = Tensor(shape: t.shape, scalars: t.scalars)
                if isTask { task.tensors[k] = copy } else { kd.tensors[k] = copy }
            }
        }
        let extra = state.keys.filter { !known.contains($0) }.sorted()
        if !extra.isEmpty { throw OptimizerError.unexpectedKeys(extra) }
        taskBuffers = task; kdBuffers = kd
    }
}
