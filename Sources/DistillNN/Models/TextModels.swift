import DistillCore

/// Bidirectional LSTM text classifier: `embedding` → `lstm` (bidirectional, multi-layer) → mean
/// over time of the concatenated directions → `fc`.
///
/// Input: token ids [N, T] carried as Float values (exact below 2²⁴) so the model has the common
/// `Module` signature; ids must lie in 0..<vocabulary.
public final class BiLSTMClassifier: Module {
    public let embedding: Embedding, lstm: LSTM, fc: Linear
    public let vocabulary: Int

    public init(vocabulary: Int, embedDim: Int = 64, hidden: Int = 64, layers: Int = 1, classes: Int, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        self.vocabulary = vocabulary
        embedding = Embedding(numEmbeddings: vocabulary, dim: embedDim, using: &g)
        lstm = LSTM(inputSize: embedDim, hiddenSize: hidden, numLayers: layers, bidirectional: true, seed: seed &+ 1, using: &g)
        fc = Linear(2 * hidden, classes, using: &g)
        super.init()
        register(child: embedding, as: "embedding"); register(child: lstm, as: "lstm"); register(child: fc, as: "fc")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let e = embedding(tokens: x)
        let out = lstm.run(e).output
        return fc(out.mean(alongAxis: 1))
    }
}

/// Small Transformer encoder classifier (Vaswani et al., NeurIPS 2017): `embedding` plus a learned
/// `position_embedding` → `layers.0…` (post-norm encoder layers) → mean over positions → `fc`.
/// Input: token ids [N, T] as Float values, T ≤ maxLength.
public final class TransformerClassifier: Module {
    public let embedding: Embedding
    public let positions: Parameter
    public let layers: Sequential
    public let fc: Linear
    public let vocabulary: Int, maxLength: Int

    public init(vocabulary: Int, dModel: Int = 64, heads: Int = 4, depth: Int = 2, feedforward: Int = 128,
                maxLength: Int = 256, dropout: Float = 0.1, classes: Int, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        self.vocabulary = vocabulary; self.maxLength = maxLength
        embedding = Embedding(numEmbeddings: vocabulary, dim: dModel, using: &g)
        positions = Parameter(Tensor.normal([maxLength, dModel], std: 0.02, using: &g))
        layers = Sequential()
        for i in 0..<depth {
            layers.append(TransformerEncoderLayer(dModel: dModel, heads: heads, dimFeedforward: feedforward, dropout: dropout,
                                                  seed: seed &+ 10 &* UInt64(i + 1), using: &g))
        }
        fc = Linear(dModel, classes, using: &g)
        super.init()
        register(child: embedding, as: "embedding")
        register(parameter: positions, as: "position_embedding")
        register(child: layers, as: "layers")
        register(child: fc, as: "fc")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank == 2 && x.shape[1] <= maxLength, "TransformerClassifier: input \(Shape.describe(x.shape)) is not [N, T ≤ \(maxLength)]")
        let t = x.shape[1]
        let h = embedding(tokens: x) + positions.value.slice(axis: 0, start: 0, length: t)
        return fc(layers(h).mean(alongAxis: 1))
    }
}

enum TokenIDs {
    /// Converts token ids carried as Float values into an `IntTensor`, checking range and integrality.
    static func from(_ x: Tensor, vocabulary: Int) -> IntTensor {
        let ids = x.scalars.map { v -> Int in
            ensure(v >= 0 && v < Float(vocabulary) && v.rounded() == v, "token id \(v) is not an integer in 0..<\(vocabulary)")
            return Int(v)
        }
        return IntTensor(shape: x.shape, scalars: ids)
    }
}
