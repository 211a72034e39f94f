import DistillCore

/// Instance normalisation (Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing
/// Ingredient for Fast Stylization", 2016) with a per-channel affine, as PyTorch's
/// `nn.GroupNorm(C, C, affine=True)` — the normalisation of DC's ConvNet (Zhao, Mopuri & Bilen,
/// ICLR 2021; `networks.py` builds `instancenorm` exactly so).
///
/// y[n, c] = (x[n, c] − μ[n, c]) / √(σ²[n, c] + ε) · γ[c] + β[c], μ and biased σ² over H × W of
/// one sample and channel. No running statistics: training and eval compute the same thing.
///
/// Shapes: x [N, C, H, W] with H·W > 1 → y of the same shape; `weight` γ and `bias` β [C],
/// initialised to 1 and 0; ε = 1e-5 (PyTorch's GroupNorm defaults).
///
/// Built from differentiable ops: the statistics are those of a training-mode `batchNorm` over
/// the input viewed as [1, N·C, H, W] (one "channel" per sample and channel), then the affine is a
/// broadcast multiply-add, so gradients of any order flow to x, γ and β.
public final class InstanceNorm2d: Module {
    public let weight: Parameter?, bias: Parameter?
    public let features: Int
    public let eps: Float

    public init(_ features: Int, eps: Float = 1e-5, affine: Bool = true) {
        self.features = features; self.eps = eps
        weight = affine ? Parameter(Tensor.ones([features])) : nil
        bias = affine ? Parameter(Tensor.zeros([features])) : nil
        super.init()
        if let weight, let bias { register(parameter: weight, as: "weight"); register(parameter: bias, as: "bias") }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank == 4 && x.shape[1] == features && x.shape[2] * x.shape[3] > 1,
               "InstanceNorm2d: input \(Shape.describe(x.shape)) is not [N, \(features), H, W] with H·W > 1")
        let n = x.shape[0], c = features
        var rm = Tensor.zeros([n * c]), rv = Tensor.ones([n * c])
        let flat = x.reshaped([1, n * c, x.shape[2], x.shape[3]])
        var y = batchNorm(flat, weight: nil, bias: nil, runningMean: &rm, runningVar: &rv, training: true, eps: eps).reshaped(x.shape)
        if let weight, let bias { y = y * weight.value.reshaped([1, c, 1, 1]) + bias.value.reshaped([1, c, 1, 1]) }
        return y
    }
}
