import DistillCore

/// The ConvNet of dataset condensation (Zhao, Mopuri & Bilen, "Dataset Condensation with Gradient
/// Matching", ICLR 2021; VICO-UoE/DatasetCondensation `networks.py`, `ConvNet` with
/// `get_default_convnet_setting`): `depth` × [conv 3×3 (width channels) → norm → ReLU → 2×2
/// average pool], then one linear classifier on the flattened features.
///
/// Defaults from the reference: width 128, depth 3, instance norm (`nn.GroupNorm(C, C,
/// affine=True)`), ReLU, average pooling; PyTorch's default init for conv and linear (γ = 1, β = 0
/// for the norms). As the reference, the first convolution of a one-channel input is padded by
/// 3 instead of 1, so a 28 × 28 image becomes 32 × 32 (then 16, 8, 4: 128·4·4 = 2048 features).
///
/// Names follow the reference's state dict: `features.0` (conv), `features.1` (norm), `features.2`
/// (ReLU), `features.3` (pool), … and `classifier`; without a norm the indices shift by one per
/// block, as `nn.Sequential` numbers them.
///
/// Shapes: x [N, C, H, W] → logits [N, classes]; `embed(x)` → [N, features] (what distribution
/// matching compares, `ConvNet.embed` in `main_DM.py`).
public final class ConvNet3: Module {
    /// The normalisation after each convolution (`net_norm` of the reference).
    public enum Norm: String, CaseIterable, Sendable { case instancenorm, batchnorm, none }

    public let features: Sequential
    public let classifier: Linear
    public let featureCount: Int

    public init(channels: Int, height: Int, width: Int, classes: Int, netWidth: Int = 128, depth: Int = 3,
                norm: Norm = .instancenorm, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        var layers: [Module] = []
        var c = channels, h = height, w = width
        for d in 0..<depth {
            let pad = channels == 1 && d == 0 ? 3 : 1
            layers.append(Conv2d(c, netWidth, kernel: 3, padding: pad, using: &g))
            h = h + 2 * pad - 2; w = w + 2 * pad - 2
            switch norm {
            case .instancenorm: layers.append(InstanceNorm2d(netWidth))
            case .batchnorm: layers.append(BatchNorm2d(netWidth))
            case .none: break
            }
            layers.append(ReLU())
            layers.append(AvgPool2d(2))
            c = netWidth; h /= 2; w /= 2
        }
        ensure(h > 0 && w > 0, "ConvNet3: input \(height)×\(width) is too small for \(depth) pooling stages")
        features = Sequential(layers)
        featureCount = c * h * w
        classifier = Linear(featureCount, classes, using: &g)
        super.init()
        register(child: features, as: "features")
        register(child: classifier, as: "classifier")
    }

    /// The flattened features before the classifier, [N, featureCount].
    public func embed(_ x: Tensor) -> Tensor {
        let x = inputNormalization.map { $0.apply(x) } ?? x
        return features(x).flattened()
    }

    public override func forward(_ x: Tensor) -> Tensor { classifier(features(x).flattened()) }

    /// The spatial size after `depth` blocks for an input side `side` (nil when it vanishes).
    public static func outputSide(_ side: Int, channels: Int, depth: Int) -> Int? {
        var s = side
        for d in 0..<depth {
            s = s + 2 * (channels == 1 && d == 0 ? 3 : 1) - 2
            s /= 2
            if s <= 0 { return nil }
        }
        return s
    }
}
