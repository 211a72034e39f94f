import DistillCore

/// Lookup table (PyTorch `nn.Embedding`): out[…, :] = weight[indices[…], :].
///
/// Shapes: indices any shape with values in 0..<numEmbeddings → indices.shape + [dim].
/// Parameter `weight` [numEmbeddings, dim], initialised N(0, 1) as in PyTorch.
public final class Embedding: Module {
    public let weight: Parameter
    public init(numEmbeddings: Int, dim: Int, using g: inout SeededGenerator) {
        weight = Parameter(Tensor.normal([numEmbeddings, dim], using: &g))
        super.init()
        register(parameter: weight, as: "weight")
    }

    /// Looks up `indices`; a tap on this module records the output only.
    public func callAsFunction(_ indices: IntTensor) -> Tensor {
        tapped(input: nil) { embedding(indices, weight: weight.value) }
    }

    /// Looks up token ids carried as Float values (integers in 0..<numEmbeddings, checked), with
    /// the lookup traced from `x` so that an exported graph reads the ids from its input.
    public func callAsFunction(tokens x: Tensor) -> Tensor {
        let ids = TokenIDs.from(x, vocabulary: weight.shape[0])
        return tapped(input: nil) { embedding(ids, weight: weight.value, ids: x) }
    }
}

/// Long short-term memory (Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural
/// Computation 1997), PyTorch `nn.LSTM(batch_first=True)` semantics:
///
///     [i f g o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh        (gate order i, f, g, o)
///     c' = σ(f)·c + σ(i)·tanh(g),   h' = σ(o)·tanh(c')
///
/// Shapes: x [N, T, inputSize] → output [N, T, D·hidden] (D = 2 when bidirectional: forward and
/// reverse outputs concatenated), h_n and c_n [layers·D, N, hidden]. Parameters per layer k and
/// direction, PyTorch names: `weight_ih_lk` [4H, in], `weight_hh_lk` [4H, H], `bias_ih_lk`,
/// `bias_hh_lk` [4H], with suffix `_reverse` for the reverse direction; all U(±1/√H) as in
/// PyTorch. Dropout (default 0) applies to the outputs of every layer but the last, in training.
public final class LSTM: Module, RandomStateOwner {
    public let inputSize: Int, hiddenSize: Int, numLayers: Int, bidirectional: Bool, dropoutProbability: Float
    /// [layer][direction] → (w_ih, w_hh, b_ih, b_hh)
    public let weights: [[(wih: Parameter, whh: Parameter, bih: Parameter, bhh: Parameter)]]
    public var generator: SeededGenerator
    /// The dropout generator's state, for checkpoints (`RandomStateOwner`).
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }

    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
                dropout: Float = 0, seed: UInt64 = 0, using g: inout SeededGenerator) {
        self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.bidirectional = bidirectional; dropoutProbability = dropout
        generator = SeededGenerator(seed: seed)
        let b = 1 / Float(hiddenSize).squareRoot()
        let dirs = bidirectional ? 2 : 1
        var w: [[(Parameter, Parameter, Parameter, Parameter)]] = []
        for layer in 0..<numLayers {
            let inSize = layer == 0 ? inputSize : hiddenSize * dirs
            var perDir: [(Parameter, Parameter, Parameter, Parameter)] = []
            for _ in 0..<dirs {
                perDir.append((Parameter(Tensor.uniform([4 * hiddenSize, inSize], low: -b, high: b, using: &g)),
                               Parameter(Tensor.uniform([4 * hiddenSize, hiddenSize], low: -b, high: b, using: &g)),
                               Parameter(Tensor.uniform([4 * hiddenSize], low: -b, high: b, using: &g)),
                               Parameter(Tensor.uniform([4 * hiddenSize], low: -b, high: b, using: &g))))
            }
            w.append(perDir)
        }
        weights = w.map { $0.map { (wih: $0.0, whh: $0.1, bih: $0.2, bhh: $0.3) } }
        super.init()
        for (layer, perDir) in weights.enumerated() {
            for (d, p) in perDir.enumerated() {
                let suffix = "_l\(layer)" + (d == 1 ? "_reverse" : "")
                register(parameter: p.wih, as: "weight_ih" + suffix)
                register(parameter: p.whh, as: "weight_hh" + suffix)
                register(parameter: p.bih, as: "bias_ih" + suffix)
                register(parameter: p.bhh, as: "bias_hh" + suffix)
            }
        }
    }

    public override func forward(_ x: Tensor) -> Tensor { run(x).output }

    /// The full result: output [N, T, D·H] and final states h_n, c_n [layers·D, N, H]. Initial
    /// states default to zeros (give both or neither).
    public func run(_ x: Tensor, initial: (h: Tensor, c: Tensor)? = nil) -> (output: Tensor, h: Tensor, c: Tensor) {
        let dirs = bidirectional ? 2 : 1, hs = hiddenSize
        ensure(x.rank == 3 && x.shape[2] == inputSize,
                     "LSTM: input \(Shape.describe(x.shape)) is not [N, T, \(inputSize)]")
        let n = x.shape[0], t = x.shape[1]
        if let initial {
            ensure(initial.h.shape == [numLayers * dirs, n, hs] && initial.c.shape == [numLayers * dirs, n, hs],
                         "LSTM: initial states \(Shape.describe(initial.h.shape)), \(Shape.describe(initial.c.shape)) are not [\(numLayers * dirs), \(n), \(hs)]")
        }
        var layerInput = x
        var hN: [Tensor] = [], cN: [Tensor] = []
        for layer in 0..<numLayers {
            var outs: [Tensor] = []
            for d in 0..<dirs {
                let p = weights[layer][d]
                let k = layer * dirs + d
                var h = initial.map { $0.h.slice(axis: 0, start: k, length: 1).reshaped([n, hs]) } ?? Tensor.zeros([n, hs])
                var c = initial.map { $0.c.slice(axis: 0, start: k, length: 1).reshaped([n, hs]) } ?? Tensor.zeros([n, hs])
                // input projections for all steps at once: [N, T, 4H]
                let xw = Tensor.matmul(layerInput, p.wih.value, transposeB: true) + (p.bih.value + p.bhh.value)
                var steps = [Tensor?](repeating: nil, count: t)
                for s in 0..<t {
                    let ts = d == 0 ? s : t - 1 - s
                    let gates = xw.slice(axis: 1, start: ts, length: 1).reshaped([n, 4 * hs])
                        + Tensor.matmul(h, p.whh.value, transposeB: true)
                    let i = gates.slice(axis: 1, start: 0, length: hs).sigmoid()
                    let f = gates.slice(axis: 1, start: hs, length: hs).sigmoid()
                    let gg = gates.slice(axis: 1, start: 2 * hs, length: hs).tanh()
                    let o = gates.slice(axis: 1, start: 3 * hs, length: hs).sigmoid()
                    c = f * c + i * gg
                    h = o * c.tanh()
                    steps[ts] = h
                }
                outs.append(Tensor.stacked(steps.map { $0! }, alongAxis: 1))
                hN.append(h); cN.append(c)
            }
            layerInput = dirs == 1 ? outs[0] : Tensor.concatenated(outs, alongAxis: 2)
            if layer < numLayers - 1 && isTraining && dropoutProbability > 0 {
                layerInput = DropoutKernel.apply(layerInput, probability: dropoutProbability, using: &generator)
            }
        }
        return (layerInput, Tensor.stacked(hN, alongAxis: 0), Tensor.stacked(cN, alongAxis: 0))
    }
}
