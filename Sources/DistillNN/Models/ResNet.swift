import DistillCore

/// Basic residual block of the CIFAR ResNets (He et al., "Deep Residual Learning for Image
/// Recognition", CVPR 2016): conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the identity or a
/// 1×1-conv + BN `downsample`, then ReLU. Names follow RepDistiller/torchvision: `conv1`, `bn1`,
/// `conv2`, `bn2`, `downsample.0`, `downsample.1`.
public final class BasicBlock: Module {
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    public let downsample: Sequential?
    /// The shortcut when the shape changes: `.projection` (option B, the 1×1-conv + BN
    /// `downsample`) or `.zeroPadding` (option A of He et al. §4.2: subsample by 2 and pad the new
    /// channels with zeros, no parameters).
    public let shortcut: CIFARResNet.Shortcut
    let padChannels: Int, shortcutStride: Int

    public init(_ inPlanes: Int, _ planes: Int, stride: Int, shortcut: CIFARResNet.Shortcut = .projection, using g: inout SeededGenerator) {
        conv1 = Conv2d(inPlanes, planes, kernel: 3, stride: stride, padding: 1, bias: false, using: &g)
        bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, padding: 1, bias: false, using: &g)
        bn2 = BatchNorm2d(planes)
        let changes = stride != 1 || inPlanes != planes
        self.shortcut = shortcut
        downsample = changes && shortcut == .projection
            ? Sequential(Conv2d(inPlanes, planes, kernel: 1, stride: stride, bias: false, using: &g), BatchNorm2d(planes)) : nil
        (padChannels, shortcutStride) = changes && shortcut == .zeroPadding ? (planes - inPlanes, stride) : (0, 1)
        super.init()
        register(child: conv1, as: "conv1"); register(child: bn1, as: "bn1")
        register(child: conv2, as: "conv2"); register(child: bn2, as: "bn2")
        if let downsample { register(child: downsample, as: "downsample") }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let out = bn2(conv2(bn1(conv1(x)).relu()))
        return (out + shortcutPath(x)).relu()
    }

    /// The identity, the projection, or option A's x[:, :, ::s, ::s] with planes/4 … zero channels
    /// on each side (akamaster/pytorch_resnet_cifar10's `LambdaLayer`; the odd channel, if any, after).
    func shortcutPath(_ x: Tensor) -> Tensor {
        if let downsample { return downsample(x) }
        guard padChannels > 0 || shortcutStride > 1 else { return x }
        let sub = shortcutStride > 1 ? avgPool2d(x, kernel: (1, 1), stride: (shortcutStride, shortcutStride)) : x
        let before = padChannels / 2
        return sub.padded(axis: 1, before: before, after: padChannels - before)
    }
}

/// CIFAR ResNet of depth 6n + 2 (He et al. 2016, §4.2; the RepDistiller definitions used across
/// the distillation literature): conv1 (3×3) → bn1 → ReLU → layer1 (n blocks, filters f1) →
/// layer2 (n, f2, stride 2) → layer3 (n, f3, stride 2) → global average pool → fc.
/// resnet8…110 use filters [16, 16, 32, 64]; resnet8x4 and resnet32x4 use [32, 64, 128, 256].
/// Global average pooling is adaptive, so 28×28 inputs (Fashion-MNIST) work as 32×32 do.
///
/// `shortcut: .zeroPadding` (spec `resnet20:shortcut=a`) is He et al.'s option A as the most used
/// public CIFAR ResNet checkpoints define it (akamaster/pytorch_resnet_cifar10): parameter-free
/// shortcuts and the classifier named `linear` instead of `fc`, so their state dicts load as they are.
public final class CIFARResNet: Module {
    /// How a block's shortcut matches a change of shape.
    public enum Shortcut: String, Sendable { case projection = "b", zeroPadding = "a" }
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential
    public let fc: Linear

    public init(depth: Int, filters: [Int] = [16, 16, 32, 64], channels: Int = 3, classes: Int,
                shortcut: Shortcut = .projection, seed: UInt64 = 0) {
        ensure((depth - 2) % 6 == 0 && depth >= 8, "CIFARResNet: depth \(depth) is not 6n + 2 with n ≥ 1")
        ensure(filters.count == 4, "CIFARResNet: needs 4 filter counts, got \(filters)")
        let n = (depth - 2) / 6
        var g = SeededGenerator(seed: seed)
        conv1 = Conv2d(channels, filters[0], kernel: 3, padding: 1, bias: false, using: &g)
        bn1 = BatchNorm2d(filters[0])
        var planes = filters[0]
        func stage(_ out: Int, stride: Int) -> Sequential {
            let s = Sequential()
            for i in 0..<n {
                s.append(BasicBlock(planes, out, stride: i == 0 ? stride : 1, shortcut: shortcut, using: &g))
                planes = out
            }
            return s
        }
        layer1 = stage(filters[1], stride: 1)
        layer2 = stage(filters[2], stride: 2)
        layer3 = stage(filters[3], stride: 2)
        fc = Linear(filters[3], classes, using: &g)
        super.init()
        register(child: conv1, as: "conv1"); register(child: bn1, as: "bn1")
        register(child: layer1, as: "layer1"); register(child: layer2, as: "layer2"); register(child: layer3, as: "layer3")
        register(child: fc, as: shortcut == .zeroPadding ? "linear" : "fc")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = bn1(conv1(x)).relu()
        h = layer3(layer2(layer1(h)))
        return fc(adaptiveAvgPool2d(h, outputSize: (1, 1)).flattened())
    }
}

/// Pre-activation block of Wide ResNets (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC
/// 2016): BN → ReLU → conv3×3(stride) → BN → ReLU → [dropout] → conv3×3, with a 1×1
/// `convShortcut` when the shape changes. Names follow the reference implementation.
public final class WideBasicBlock: Module {
    public let bn1: BatchNorm2d, conv1: Conv2d, bn2: BatchNorm2d, conv2: Conv2d
    public let convShortcut: Conv2d?
    public let dropout: Dropout?

    public init(_ inPlanes: Int, _ outPlanes: Int, stride: Int, dropRate: Float, seed: UInt64, using g: inout SeededGenerator) {
        bn1 = BatchNorm2d(inPlanes)
        conv1 = Conv2d(inPlanes, outPlanes, kernel: 3, stride: stride, padding: 1, bias: false, using: &g)
        bn2 = BatchNorm2d(outPlanes)
        conv2 = Conv2d(outPlanes, outPlanes, kernel: 3, padding: 1, bias: false, using: &g)
        convShortcut = inPlanes == outPlanes ? nil : Conv2d(inPlanes, outPlanes, kernel: 1, stride: stride, bias: false, using: &g)
        dropout = dropRate > 0 ? Dropout(probability: dropRate, seed: seed) : nil
        super.init()
        register(child: bn1, as: "bn1"); register(child: conv1, as: "conv1")
        register(child: bn2, as: "bn2"); register(child: conv2, as: "conv2")
        if let convShortcut { register(child: convShortcut, as: "convShortcut") }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let a = bn1(x).relu()
        var out = bn2(conv1(a)).relu()
        if let dropout { out = dropout(out) }
        out = conv2(out)
        return out + (convShortcut.map { $0(a) } ?? x)
    }
}

/// WRN-d-w: conv1 (16) → block1 (16w) → block2 (32w, stride 2) → block3 (64w, stride 2) → bn1 →
/// ReLU → global average pool → fc; n = (d − 4) / 6 blocks per group. Children are named
/// `block1.layer.0.conv1` etc. as in the reference code.
public final class WideResNet: Module {
    public let conv1: Conv2d
    public let block1: Module, block2: Module, block3: Module
    public let bn1: BatchNorm2d, fc: Linear

    public init(depth: Int, widen: Int, dropRate: Float = 0, channels: Int = 3, classes: Int, seed: UInt64 = 0) {
        ensure((depth - 4) % 6 == 0 && depth >= 10, "WideResNet: depth \(depth) is not 6n + 4 with n ≥ 1")
        ensure(widen >= 1, "WideResNet: widen factor \(widen) must be ≥ 1")
        let n = (depth - 4) / 6
        let widths = [16, 16 * widen, 32 * widen, 64 * widen]
        var g = SeededGenerator(seed: seed)
        conv1 = Conv2d(channels, widths[0], kernel: 3, padding: 1, bias: false, using: &g)
        var seedCounter = seed &+ 1000
        func group(_ inPlanes: Int, _ outPlanes: Int, stride: Int) -> Module {
            let layer = Sequential()
            for i in 0..<n {
                seedCounter &+= 1
                layer.append(WideBasicBlock(i == 0 ? inPlanes : outPlanes, outPlanes, stride: i == 0 ? stride : 1,
                                            dropRate: dropRate, seed: seedCounter, using: &g))
            }
            return NamedWrapper(name: "layer", layer)
        }
        block1 = group(widths[0], widths[1], stride: 1)
        block2 = group(widths[1], widths[2], stride: 2)
        block3 = group(widths[2], widths[3], stride: 2)
        bn1 = BatchNorm2d(widths[3])
        fc = Linear(widths[3], classes, using: &g)
        super.init()
        register(child: conv1, as: "conv1")
        register(child: block1, as: "block1"); register(child: block2, as: "block2"); register(child: block3, as: "block3")
        register(child: bn1, as: "bn1"); register(child: fc, as: "fc")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let h = bn1(block3(block2(block1(conv1(x))))).relu()
        return fc(adaptiveAvgPool2d(h, outputSize: (1, 1)).flattened())
    }
}

/// A module that runs one child registered under `name` (gives PyTorch paths like `block1.layer.0`).
public final class NamedWrapper: Module {
    public let inner: Module
    public init(name: String, _ inner: Module) {
        self.inner = inner
        super.init()
        register(child: inner, as: name)
    }
    public override func forward(_ x: Tensor) -> Tensor { inner(x) }
}
