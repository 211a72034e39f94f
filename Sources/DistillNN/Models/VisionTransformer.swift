import DistillCore

/// A small Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021),
/// the transformer student of cross-architecture distillation: `patch_embed` (a Conv2d C → dim
/// with kernel = stride = patch, so each patch is one token) → tokens [N, T, dim] (row-major over
/// the patch grid) with a learned `cls_token` prepended and `position_embedding` [1, T + 1, dim]
/// added → `layers.0…` (pre-norm encoder layers with exact GELU, the paper's and timm's form;
/// PyTorch's `TransformerEncoderLayer(norm_first=True, activation="gelu", batch_first=True)`) →
/// `norm` (LayerNorm) → `head` on the class token.
///
/// Feature taps: `patch_embed` gives the patch map [N, dim, H/p, W/p], `layers.K` the token
/// sequence [N, T + 1, dim]. The class token starts at zero and the position embedding at
/// N(0, 0.02²), as timm initialises them (its truncation at ±2σ aside).
public final class VisionTransformer: Module {
    public let patchEmbed: Conv2d
    public let classToken: Parameter, positions: Parameter
    public let layers: Sequential
    public let norm: LayerNorm
    public let head: Linear
    public let patch: Int, tokens: Int

    public init(channels: Int, height: Int, width: Int, patch: Int, dModel: Int = 64, heads: Int = 4, depth: Int = 2,
                feedforward: Int = 128, dropout: Float = 0, classes: Int, seed: UInt64 = 0) {
        ensure(patch > 0 && height % patch == 0 && width % patch == 0, "VisionTransformer: patch \(patch) does not tile \(height)×\(width) images")
        var g = SeededGenerator(seed: seed)
        self.patch = patch
        tokens = (height / patch) * (width / patch)
        patchEmbed = Conv2d(channels, dModel, kernel: patch, stride: patch, using: &g)
        classToken = Parameter(Tensor.zeros([1, 1, dModel]))
        positions = Parameter(Tensor.normal([1, tokens + 1, dModel], std: 0.02, using: &g))
        layers = Sequential()
        for i in 0..<depth {
            layers.append(TransformerEncoderLayer(dModel: dModel, heads: heads, dimFeedforward: feedforward, dropout: dropout,
                                                  normFirst: true, activation: .gelu, seed: seed &+ 10 &* UInt64(i + 1), using: &g))
        }
        norm = LayerNorm(dModel)
        head = Linear(dModel, classes, using: &g)
        super.init()
        register(child: patchEmbed, as: "patch_embed")
        register(parameter: classToken, as: "cls_token")
        register(parameter: positions, as: "position_embedding")
        register(child: layers, as: "layers")
        register(child: norm, as: "norm")
        register(child: head, as: "head")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank == 4, "VisionTransformer: input \(Shape.describe(x.shape)) is not [N, C, H, W]")
        let p = patchEmbed(x)                                   // [N, D, H/p, W/p]
        let n = p.shape[0], d = p.shape[1]
        let seq = p.reshaped([n, d, tokens]).transposed(1, 2)   // [N, T, D]
        // the class token broadcast over the batch through the input (0 · a token + cls), so a
        // traced export keeps a symbolic batch instead of a constant of the trace's batch size
        let cls = seq.slice(axis: 1, start: 0, length: 1) * 0 + classToken.value
        let h = Tensor.concatenated([cls, seq], alongAxis: 1) + positions.value
        let out = norm(layers(h))
        return head(out.slice(axis: 1, start: 0, length: 1).reshaped([n, d]))
    }
}
