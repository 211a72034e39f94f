import DistillCore

/// LeNet-5 (LeCun et al., "Gradient-based learning applied to document recognition", Proc.
/// IEEE 1998) in its common modern form: ReLU and max pooling instead of scaled tanh and
/// subsampling. conv1 (C→6, 5×5, padding 2 so 28×28 stays 28×28) → pool → conv2 (6→16, 5×5) →
/// pool → fc1 (→120) → fc2 (→84) → fc3 (→classes). On 28×28 images this is the LeNet-5 of the
/// data-free papers (DAFL's `LeNet5`, ZSKD) on 32×32: padding 2 stands for their resize to 32, and
/// fc1 over the 16×5×5 map is their 5×5 conv c5 to 120.
///
/// `half`: DAFL's `LeNet5Half` (Chen et al., ICCV 2019, huawei-noah DAFL `lenet.py`), every width
/// halved: 3, 8, 60, 42. `batchNorm`: a `BatchNorm2d` after each conv (`bn1`, `bn2`, before the
/// ReLU), what DeepInversion's BN-statistics prior needs.
public final class LeNet5: Module {
    public let conv1: Conv2d, conv2: Conv2d, fc1: Linear, fc2: Linear, fc3: Linear
    public let bn1: BatchNorm2d?, bn2: BatchNorm2d?

    public init(channels: Int, height: Int, width: Int, classes: Int, half: Bool = false, batchNorm: Bool = false, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        let w = half ? [3, 8, 60, 42] : [6, 16, 120, 84]
        conv1 = Conv2d(channels, w[0], kernel: 5, padding: 2, using: &g)
        conv2 = Conv2d(w[0], w[1], kernel: 5, using: &g)
        let fh = (height / 2 - 4) / 2, fw = (width / 2 - 4) / 2
        ensure(fh > 0 && fw > 0, "LeNet5: input \(height)×\(width) is too small (needs at least 12×12)")
        fc1 = Linear(w[1] * fh * fw, w[2], using: &g)
        fc2 = Linear(w[2], w[3], using: &g)
        fc3 = Linear(w[3], classes, using: &g)
        bn1 = batchNorm ? BatchNorm2d(w[0]) : nil
        bn2 = batchNorm ? BatchNorm2d(w[1]) : nil
        super.init()
        register(child: conv1, as: "conv1")
        if let bn1 { register(child: bn1, as: "bn1") }
        register(child: conv2, as: "conv2")
        if let bn2 { register(child: bn2, as: "bn2") }
        register(child: fc1, as: "fc1"); register(child: fc2, as: "fc2"); register(child: fc3, as: "fc3")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = conv1(x)
        if let bn1 { h = bn1(h) }
        h = maxPool2d(h.relu(), kernel: (2, 2))
        h = conv2(h)
        if let bn2 { h = bn2(h) }
        h = maxPool2d(h.relu(), kernel: (2, 2))
        h = fc2(fc1(h.flattened()).relu()).relu()
        return fc3(h)
    }
}

/// Plain ConvNet: K blocks of conv(3×3, padding 1) → [BatchNorm] → ReLU → max-pool 2, then
/// fc1 (→hidden) → ReLU → fc2 (→classes). Blocks are named `conv1…convK` (and `bn1…bnK`).
/// `cnn:32x64,fc=128` is the benchmark CNN; `cnn:32x64x128` the 3-conv + 2-linear network of the
/// all-pairs mutual-information study.
public final class ConvNet: Module {
    public let convs: [Conv2d]
    public let norms: [BatchNorm2d]
    public let fc1: Linear, fc2: Linear

    public init(channels: Int, height: Int, width: Int, widths: [Int], hidden: Int, classes: Int,
                batchNorm: Bool = false, seed: UInt64 = 0) {
        ensure(!widths.isEmpty, "ConvNet: needs at least one convolution width")
        var g = SeededGenerator(seed: seed)
        var c = channels, h = height, w = width
        var cs: [Conv2d] = []
        for width in widths {
            cs.append(Conv2d(c, width, kernel: 3, padding: 1, using: &g))
            c = width; h /= 2; w /= 2
        }
        ensure(h > 0 && w > 0, "ConvNet: input \(height)×\(width) is too small for \(widths.count) pooling stages")
        convs = cs
        norms = batchNorm ? widths.map { BatchNorm2d($0) } : []
        fc1 = Linear(c * h * w, hidden, using: &g)
        fc2 = Linear(hidden, classes, using: &g)
        super.init()
        for (i, conv) in convs.enumerated() {
            register(child: conv, as: "conv\(i + 1)")
            if batchNorm { register(child: norms[i], as: "bn\(i + 1)") }
        }
        register(child: fc1, as: "fc1"); register(child: fc2, as: "fc2")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        for (i, conv) in convs.enumerated() {
            h = conv(h)
            if !norms.isEmpty { h = norms[i](h) }
            h = maxPool2d(h.relu(), kernel: (2, 2))
        }
        return fc2(fc1(h.flattened()).relu())
    }
}
