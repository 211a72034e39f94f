import DistillCore
import DistillNN

/// Lopes, Fenu & Starner's reconstruction (reference iRapha/replayed_distillation,
/// `procedures/optimize_dataset.py` and `_optimization_objectives.py`): a batch of images of one
/// class is optimised with Adam so the frozen teacher's activations on it match a draw from that
/// class's recorded statistics (`ActivationMetadata`), the draw fixed for the batch:
///
///     top layer:  L(x) = mean‖relu(ŝ_top) − relu(a_top(x))‖²
///     all layers: L(x) = Σ_l (1/D_l) · mean‖relu(ŝ_l) − relu(a_l(x))‖²   (hidden layers and the top)
///
/// with means over the batch and the units, D_l the units of layer l, a_top = logits / T. The
/// spectral objectives of the paper are not here (the reference's own `spectral_*` objectives
/// compute the all-layers loss). The reference runs 1000 Adam steps per batch; the batch after the
/// last step is kept, as there.
public enum ActivationRecovery {
    /// The two objectives of the reference code that differ.
    public enum Objective: String, Codable, CaseIterable, Sendable {
        case topLayer = "top-layer", allLayers = "all-layers"
    }

    /// The targets of one batch: a draw of the top layer [B, K] and of each hidden layer (all-layers only).
    public struct Targets {
        public var top: Tensor
        public var hidden: [Tensor]
    }

    /// Draws the targets of a batch of `count` images of class `y`.
    public static func targets(_ metadata: ActivationMetadata, objective: Objective, classIndex y: Int, count: Int,
                               using g: inout SeededGenerator) -> Targets {
        let top = metadata.sampleTop(classIndex: y, count: count, using: &g)
        let hidden = objective == .allLayers ? metadata.layers.indices.map { metadata.sampleHidden($0, classIndex: y, count: count, using: &g) } : []
        return Targets(top: top, hidden: hidden)
    }

    /// The objective for the teacher's top layer `top` [B, K] and hidden activations (on the tape).
    public static func loss(objective: Objective, top: Tensor, hidden: [Tensor], targets t: Targets) -> Tensor {
        func term(_ a: Tensor, _ s: Tensor) -> Tensor {
            let d = a.relu() - s.reshaped(a.shape).relu()
            return (d * d).mean()
        }
        switch objective {
        case .topLayer:
            return term(top, t.top)
        case .allLayers:
            precondition(hidden.count == t.hidden.count, "ActivationRecovery: \(hidden.count) hidden activations, \(t.hidden.count) targets")
            var l = term(top, t.top) * (1 / Float(top.shape[1]))
            for (a, s) in zip(hidden, t.hidden) { l = l + term(a, s) * (1 / Float(a.shape.dropFirst().reduce(1, *))) }
            return l
        }
    }

    /// Optimises `initial` [B, C, H, W] towards `targets`; returns the images after the last step
    /// and the loss of that step's input.
    public static func reconstruct(teacher: FrozenTeacher, metadata: ActivationMetadata, objective: Objective, initial: Tensor,
                                   targets: Targets, iterations: Int, learningRate: Float) -> (images: Tensor, loss: Float) {
        let images = Parameter(initial)
        let opt = Adam([(path: "images", parameter: images)], learningRate: learningRate, weightDecay: 0)
        var last: Float = .nan
        for _ in 0..<max(iterations, 1) {
            let out = teacher(images.value)
            let l = loss(objective: objective, top: out.logits / metadata.temperature, hidden: teacher.hidden(out), targets: targets)
            last = l.item
            images.zeroGradient()
            l.backward()
            opt.step()
        }
        return (images.value.detached(), last)
    }
}
