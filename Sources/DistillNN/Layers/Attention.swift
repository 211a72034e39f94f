import DistillCore

/// Key padding mask for attention: `padded[n][j]` true means key j of sample n is ignored
/// (PyTorch's `key_padding_mask` convention). Stored as an additive bias [N, 1, 1, L]
/// (0 or −∞).
public struct KeyPaddingMask {
    public let batch: Int, length: Int
    let bias: Tensor

    public init(_ padded: [[Bool]]) {
        batch = padded.count
        length = padded.first?.count ?? 0
        let l = length
        ensure(padded.allSatisfy { $0.count == l }, "KeyPaddingMask: rows of unequal length")
        let flat = padded.flatMap { $0 }
        bias = Tensor(shape: [batch, 1, 1, length], scalars: flat.map { $0 ? -Float.infinity : 0 })
    }
}

/// Multi-head self-attention (Vaswani et al., "Attention Is All You Need", NeurIPS 2017):
/// softmax(Q·Kᵀ/√d + mask)·V per head, heads concatenated and projected.
///
/// Batch-first: x [N, L, E] → [N, L, E] (PyTorch `batch_first=True`). Parameters use PyTorch's
/// names: `in_proj_weight` [3E, E] (rows q, k, v; Xavier-uniform), `in_proj_bias` [3E] (zeros),
/// `out_proj.weight` [E, E] (Linear default), `out_proj.bias` [E] (zeros). Dropout on the
/// attention weights in training (default 0, as in PyTorch).
public final class MultiheadSelfAttention: Module, RandomStateOwner {
    public let embedDim: Int, heads: Int, dropoutProbability: Float
    public let inProjWeight: Parameter
    public let inProjBias: Parameter
    public let outProj: Linear
    public var generator: SeededGenerator
    /// The dropout generator's state, for checkpoints (`RandomStateOwner`).
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }

    public init(embedDim: Int, heads: Int, dropout: Float = 0, seed: UInt64 = 0, using g: inout SeededGenerator) {
        ensure(heads > 0 && embedDim % heads == 0, "MultiheadSelfAttention: embedDim \(embedDim) is not divisible by heads \(heads)")
        self.embedDim = embedDim; self.heads = heads; dropoutProbability = dropout
        inProjWeight = Parameter(Tensor.xavierUniform([3 * embedDim, embedDim], using: &g))
        inProjBias = Parameter(Tensor.zeros([3 * embedDim]))
        outProj = Linear(embedDim, embedDim, using: &g)
        outProj.bias!.value = Tensor.zeros([embedDim])
        generator = SeededGenerator(seed: seed)
        super.init()
        register(parameter: inProjWeight, as: "in_proj_weight")
        register(parameter: inProjBias, as: "in_proj_bias")
        register(child: outProj, as: "out_proj")
    }

    public override func forward(_ x: Tensor) -> Tensor { attend(x, keyPaddingMask: nil).output }

    /// Self-attention with an optional key padding mask; feature taps see `x` and the output.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: KeyPaddingMask?) -> Tensor {
        tapped(input: x) { attend(x, keyPaddingMask: keyPaddingMask).output }
    }

    /// The output [N, L, E] and the attention weights per head [N, heads, L, L] (after masking,
    /// before dropout).
    public func attend(_ x: Tensor, keyPaddingMask mask: KeyPaddingMask?) -> (output: Tensor, weights: Tensor) {
        ensure(x.rank == 3 && x.shape[2] == embedDim,
                     "MultiheadSelfAttention: input \(Shape.describe(x.shape)) is not [N, L, \(embedDim)]")
        let n = x.shape[0], l = x.shape[1], e = embedDim, d = embedDim / heads
        if let mask {
            ensure(mask.batch == n && mask.length == l,
                         "MultiheadSelfAttention: mask [\(mask.batch), \(mask.length)] does not match input \(Shape.describe(x.shape))")
        }
        let qkv = Tensor.matmul(x, inProjWeight.value, transposeB: true) + inProjBias.value
        func split(_ i: Int) -> Tensor {
            qkv.slice(axis: 2, start: i * e, length: e).reshaped([n, l, heads, d]).permuted([0, 2, 1, 3])
        }
        let q = split(0) * (1 / Float(d).squareRoot()), k = split(1), v = split(2)
        var scores = Tensor.matmul(q, k, transposeB: true)
        if let mask { scores = scores + mask.bias }
        let weights = scores.softmax(alongAxis: -1)
        var attn = weights
        if isTraining && dropoutProbability > 0 {
            attn = DropoutKernel.apply(attn, probability: dropoutProbability, using: &generator)
        }
        let ctx = Tensor.matmul(attn, v).permuted([0, 2, 1, 3]).reshaped([n, l, e])
        return (outProj(ctx), weights)
    }
}

/// One Transformer encoder layer, as PyTorch's `nn.TransformerEncoderLayer`. Default post-norm
/// (`norm_first=False`, ReLU): h = norm1(x + dropout1(SA(x))); y = norm2(h + dropout2(FF(h)))
/// with FF(h) = linear2(dropout(act(linear1(h)))). Pre-norm (`normFirst`, ViT's form):
/// h = x + dropout1(SA(norm1(x))); y = h + dropout2(FF(norm2(h))). `activation` relu or gelu (exact).
///
/// Batch-first [N, L, E]. Defaults from PyTorch: dim_feedforward 2048, dropout 0.1, ε 1e-5.
/// Children: `self_attn`, `linear1`, `dropout`, `linear2`, `norm1`, `norm2`, `dropout1`, `dropout2`.
public final class TransformerEncoderLayer: Module {
    public let selfAttention: MultiheadSelfAttention
    public let linear1: Linear, linear2: Linear
    public let norm1: LayerNorm, norm2: LayerNorm
    public let dropout: Dropout, dropout1: Dropout, dropout2: Dropout

    /// The feed-forward block's nonlinearity (PyTorch's `activation`).
    public enum Activation: String, Sendable { case relu, gelu }
    /// Pre-norm (`norm_first=True`: x + SA(norm1(x)), then + FF(norm2(·))) instead of post-norm.
    public let normFirst: Bool
    public let activation: Activation

    public init(dModel: Int, heads: Int, dimFeedforward: Int = 2048, dropout p: Float = 0.1,
                layerNormEps: Float = 1e-5, normFirst: Bool = false, activation: Activation = .relu,
                seed: UInt64 = 0, using g: inout SeededGenerator) {
        self.normFirst = normFirst; self.activation = activation
        selfAttention = MultiheadSelfAttention(embedDim: dModel, heads: heads, dropout: p, seed: seed, using: &g)
        linear1 = Linear(dModel, dimFeedforward, using: &g)
        dropout = Dropout(probability: p, seed: seed &+ 1)
        linear2 = Linear(dimFeedforward, dModel, using: &g)
        norm1 = LayerNorm([dModel], eps: layerNormEps)
        norm2 = LayerNorm([dModel], eps: layerNormEps)
        dropout1 = Dropout(probability: p, seed: seed &+ 2)
        dropout2 = Dropout(probability: p, seed: seed &+ 3)
        super.init()
        register(child: selfAttention, as: "self_attn")
        register(child: linear1, as: "linear1")
        register(child: dropout, as: "dropout")
        register(child: linear2, as: "linear2")
        register(child: norm1, as: "norm1")
        register(child: norm2, as: "norm2")
        register(child: dropout1, as: "dropout1")
        register(child: dropout2, as: "dropout2")
    }

    public override func forward(_ x: Tensor) -> Tensor { encode(x, keyPaddingMask: nil) }

    public func callAsFunction(_ x: Tensor, keyPaddingMask: KeyPaddingMask?) -> Tensor {
        tapped(input: x) { encode(x, keyPaddingMask: keyPaddingMask) }
    }

    func encode(_ x: Tensor, keyPaddingMask: KeyPaddingMask?) -> Tensor {
        func ff(_ h: Tensor) -> Tensor {
            let a = linear1(h)
            return linear2(dropout(activation == .gelu ? a.gelu() : a.relu()))
        }
        if normFirst {
            let h = x + dropout1(selfAttention(norm1(x), keyPaddingMask: keyPaddingMask))
            return h + dropout2(ff(norm2(h)))
        }
        let h = norm1(x + dropout1(selfAttention(x, keyPaddingMask: keyPaddingMask)))
        return norm2(h + dropout2(ff(h)))
    }
}
