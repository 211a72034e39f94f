import DistillCore

/// LeNet-5 (LeCun et al., "Gradient-based learning applied to document recognition", Proc.
/// IEEE 1998) in its common modern form: ReLU and max pooling instead of scaled tanh and
/// subsampling. conv1 (C→6, 5×5, padding 2 so 28×28 stays 28×28) → pool → conv2 (6→16, 5×5) →
/// pool → fc1 (→120) → fc2 (→84) → fc3 (→classes).
public final class LeNet5: Module {
    public let conv1: Conv2d, conv2: Conv2d, fc1: Linear, fc2: Linear, fc3: Linear

    public init(channels: Int, height: Int, width: Int, classes: Int, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        conv1 = Conv2d(channels, 6, kernel: 5, padding: 2, using: &g)
        conv2 = Conv2d(6, 16, kernel: 5, using: &g)
        let h = (height / 2 - 4) / 2, w = (width / 2 - 4) / 2
        ensure(h > 0 && w > 0, "LeNet5: input \(height)×\(width) is too small (needs at least 12×12)")
        fc1 = Linear(16 * h * w, 120, using: &g)
        fc2 = Linear(120, 84, using: &g)
        fc3 = Linear(84, classes, using: &g)
        super.init()
        register(child: conv1, as: "conv1"); register(child: conv2, as: "conv2")
        register(child: fc1, as: "fc1"); register(child: fc2, as: "fc2"); register(child: fc3, as: "fc3")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = maxPool2d(conv1(x).relu(), kernel: (2, 2))
        h = maxPool2d(conv2(h).relu(), kernel: (2, 2))
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
