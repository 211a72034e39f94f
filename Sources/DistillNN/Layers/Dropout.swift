import DistillCore

/// Dropout (Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from
/// Overfitting", JMLR 2014), inverted: in training each element is zeroed with probability p and
/// the survivors scaled by 1/(1 − p); in eval mode it is the identity.
///
/// Owns its `SeededGenerator` (default seed 0; set `seed` or `generatorState`), so a run is
/// reproducible and a resumed run continues the same mask stream.
public final class Dropout: Module, RandomStateOwner {
    public let probability: Float
    public var generator: SeededGenerator

    public init(probability: Float = 0.5, seed: UInt64 = 0) {
        ensure(probability >= 0 && probability < 1, "Dropout: probability \(probability) is outside [0, 1)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
        super.init()
    }

    /// Restarts the mask stream from `seed`.
    public func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The generator's full state, for checkpoints (restore by assigning it back).
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        return DropoutKernel.apply(x, probability: probability, using: &generator)
    }
}

enum DropoutKernel {
    /// DistillCore's fused inverted dropout (mask drawn from `g`, kept for the pullback).
    @inline(__always)
    static func apply(_ x: Tensor, probability p: Float, using g: inout SeededGenerator) -> Tensor {
        dropout(x, probability: p, training: true, using: &g)
    }
}
