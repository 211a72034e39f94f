import DistillCore

/// CIFAR VGG with batch norm (Simonyan & Zisserman, ICLR 2015), in the five-block form of the
/// RepDistiller code used by the distillation benchmarks: blocks `block0…block4` of
/// [conv3×3 → BN → ReLU]*, the last ReLU of each block applied outside it, max-pool 2 after blocks
/// 0–3, global average pool after block 4, then `classifier` (Linear 512 → classes).
/// vgg8: [64], [128], [256], [512], [512]; vgg11: [64], [128], [256, 256], [512, 512], [512, 512];
/// vgg13: [64, 64], [128, 128], [256, 256], [512, 512], [512, 512].
public final class VGG: Module {
    public static let configurations: [Int: [[Int]]] = [
        8: [[64], [128], [256], [512], [512]],
        11: [[64], [128], [256, 256], [512, 512], [512, 512]],
        13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    ]
    public let blocks: [Sequential]
    public let classifier: Linear

    public init(depth: Int, channels: Int = 3, height: Int = 32, width: Int = 32, classes: Int, seed: UInt64 = 0) {
        guard let cfg = VGG.configurations[depth] else {
            failCheck("VGG: depth \(depth) is not one of \(VGG.configurations.keys.sorted())")
        }
        ensure(height >= 16 && width >= 16, "VGG: input \(height)×\(width) is too small for four 2×2 poolings")
        var g = SeededGenerator(seed: seed)
        var c = channels
        var bs: [Sequential] = []
        for widths in cfg {
            let s = Sequential()
            for (i, w) in widths.enumerated() {
                s.append(Conv2d(c, w, kernel: 3, padding: 1, using: &g))
                s.append(BatchNorm2d(w))
                if i < widths.count - 1 { s.append(ReLU()) }
                c = w
            }
            bs.append(s)
        }
        blocks = bs
        classifier = Linear(c, classes, using: &g)
        super.init()
        for (i, b) in blocks.enumerated() { register(child: b, as: "block\(i)") }
        register(child: classifier, as: "classifier")
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        for (i, b) in blocks.enumerated() {
            h = b(h).relu()
            h = i < 4 ? maxPool2d(h, kernel: (2, 2)) : adaptiveAvgPool2d(h, outputSize: (1, 1))
        }
        return classifier(h.flattened())
    }
}
