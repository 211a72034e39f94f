import DistillCore

/// Multi-layer perceptron on flattened inputs: [Linear → ReLU → Dropout] per hidden layer, then
/// a Linear classifier. Layers are named `fc1`, `fc2`, …, `fcK` (the last is the classifier), so
/// taps read `fc1` etc. Hinton et al. (2015) used 784-1200-1200-10 with dropout for the MNIST
/// teacher and 784-800-800-10 for the student.
///
/// Shapes: x [N, ...] (flattened to [N, inputs]) → logits [N, classes].
public final class MLP: Module {
    public let layers: [Linear]
    public let dropouts: [Dropout]
    public let inputDropout: Dropout?

    /// - Parameters:
    ///   - dropout: probability after every hidden ReLU (0 disables).
    ///   - inputDropout: probability on the input (Hinton et al. 2012 used 0.2; default 0).
    public convenience init(inputs: Int, hidden: [Int], classes: Int, dropout: Float = 0, inputDropout: Float = 0, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        let widths = [inputs] + hidden + [classes]
        self.init(layers: (0..<(widths.count - 1)).map { Linear(widths[$0], widths[$0 + 1], using: &g) },
                  dropouts: dropout > 0 ? hidden.indices.map { Dropout(probability: dropout, seed: seed &+ 101 &+ UInt64($0)) } : [],
                  inputDropout: inputDropout > 0 ? Dropout(probability: inputDropout, seed: seed &+ 100) : nil)
    }

    /// An MLP over given layers (shared with another network, e.g. one branch of `OneNetwork`):
    /// `dropouts` follow the first hidden layers (empty: none).
    public init(layers: [Linear], dropouts: [Dropout], inputDropout: Dropout? = nil) {
        ensure(!layers.isEmpty && dropouts.count <= layers.count - 1, "MLP: \(layers.count) layers and \(dropouts.count) dropouts")
        self.layers = layers; self.dropouts = dropouts; self.inputDropout = inputDropout
        super.init()
        if let d = self.inputDropout { register(child: d, as: "input_dropout") }
        for (i, l) in layers.enumerated() {
            register(child: l, as: "fc\(i + 1)")
            if i < dropouts.count { register(child: dropouts[i], as: "dropout\(i + 1)") }
        }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x.rank == 2 ? x : x.flattened()
        if let d = inputDropout { h = d(h) }
        for (i, l) in layers.enumerated() {
            h = l(h)
            if i < layers.count - 1 {
                h = h.relu()
                if i < dropouts.count { h = dropouts[i](h) }
            }
        }
        return h
    }
}
