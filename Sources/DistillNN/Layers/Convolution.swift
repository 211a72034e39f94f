import DistillCore

/// 2-D convolution over NCHW images (PyTorch `nn.Conv2d`).
///
/// Shapes: x [N, inChannels, H, W] → [N, outChannels, OH, OW]; weight
/// [outChannels, inChannels/groups, kh, kw], bias [outChannels]. Init: PyTorch's default,
/// W, b ~ U(±1/√fan_in) with fan_in = inChannels/groups·kh·kw.
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                using g: inout SeededGenerator) {
        ensure(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels) → \(outChannels) are not divisible by \(groups) groups")
        let shape = [outChannels, inChannels / groups, kernel.0, kernel.1]
        weight = Parameter(TorchInit.weight(shape, using: &g))
        self.bias = bias ? Parameter(TorchInit.bias(outChannels, fanIn: Tensor.fans(shape).fanIn, using: &g)) : nil
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
        super.init()
        register(parameter: weight, as: "weight")
        if let b = self.bias { register(parameter: b, as: "bias") }
    }

    /// Square kernel, stride and padding.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, bias: Bool = true, using g: inout SeededGenerator) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding),
                  groups: groups, bias: bias, using: &g)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// Batch normalisation (Ioffe & Szegedy, ICML 2015) over channel axis 1, PyTorch `nn.BatchNorm1d`
/// / `nn.BatchNorm2d`: batch statistics in training (running statistics updated with
/// momentum, unbiased variance), running statistics in eval.
///
/// Shapes: [N, C] or [N, C, L] (1d), [N, C, H, W] (2d). Parameters `weight` (ones), `bias`
/// (zeros); buffers `running_mean` (zeros), `running_var` (ones); PyTorch's `num_batches_tracked`
/// is not kept. Defaults ε = 1e-5, momentum 0.1 (PyTorch).
public class BatchNorm: Module {
    public let weight: Parameter?, bias: Parameter?
    public let runningMean: Buffer, runningVar: Buffer
    public let eps: Float, momentum: Float
    public let features: Int

    public init(_ features: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) {
        self.features = features; self.eps = eps; self.momentum = momentum
        weight = affine ? Parameter(Tensor.ones([features])) : nil
        bias = affine ? Parameter(Tensor.zeros([features])) : nil
        runningMean = Buffer(Tensor.zeros([features]))
        runningVar = Buffer(Tensor.ones([features]))
        super.init()
        if let weight, let bias { register(parameter: weight, as: "weight"); register(parameter: bias, as: "bias") }
        register(buffer: runningMean, as: "running_mean")
        register(buffer: runningVar, as: "running_var")
    }

    func normalize(_ x: Tensor) -> Tensor {
        batchNorm(x, weight: weight?.value, bias: bias?.value, runningMean: &runningMean.value, runningVar: &runningVar.value,
                  training: isTraining, momentum: momentum, eps: eps)
    }
}

public final class BatchNorm1d: BatchNorm {
    public override func forward(_ x: Tensor) -> Tensor {
        ensure((x.rank == 2 || x.rank == 3) && x.shape[1] == features,
                     "BatchNorm1d: input \(Shape.describe(x.shape)) is not [N, \(features)] or [N, \(features), L]")
        if x.rank == 2 { return normalize(x) }
        return normalize(x.reshaped(x.shape + [1])).reshaped(x.shape)
    }
}

public final class BatchNorm2d: BatchNorm {
    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank == 4 && x.shape[1] == features,
                     "BatchNorm2d: input \(Shape.describe(x.shape)) is not [N, \(features), H, W]")
        return normalize(x)
    }
}

/// Max pooling (PyTorch `nn.MaxPool2d`; stride defaults to the kernel).
public final class MaxPool2d: Module {
    public let kernel: (Int, Int), stride: (Int, Int)?, padding: (Int, Int)
    public init(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
        super.init()
    }
    public convenience init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }
    public override func forward(_ x: Tensor) -> Tensor { maxPool2d(x, kernel: kernel, stride: stride, padding: padding) }
}

/// Average pooling (PyTorch `nn.AvgPool2d`; stride defaults to the kernel, padding counted).
public final class AvgPool2d: Module {
    public let kernel: (Int, Int), stride: (Int, Int)?, padding: (Int, Int), countIncludePad: Bool
    public init(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0), countIncludePad: Bool = true) {
        self.kernel = kernel; self.stride = stride; self.padding = padding; self.countIncludePad = countIncludePad
        super.init()
    }
    public convenience init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.init(kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }
    public override func forward(_ x: Tensor) -> Tensor {
        avgPool2d(x, kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// Adaptive average pooling to a fixed output size (PyTorch `nn.AdaptiveAvgPool2d`).
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: (Int, Int)
    public init(outputSize: (Int, Int)) { self.outputSize = outputSize; super.init() }
    public convenience init(_ size: Int) { self.init(outputSize: (size, size)) }
    public override func forward(_ x: Tensor) -> Tensor { adaptiveAvgPool2d(x, outputSize: outputSize) }
}
