import DistillCore
import DistillNN
import Foundation

/// DAFL's generator (Chen, Wang, Xu, Yang, Liu, Shi, Xu, Xu & Tian, "Data-Free Learning of Student
/// Networks", ICCV 2019; huawei-noah Efficient-Computing, DAFL-train.py `Generator`):
///
///     z [N, latent] → Linear → [N, 128, s, s] → BN → up×2 → conv3×3 128 → BN(ε 0.8) → LeakyReLU 0.2
///       → up×2 → conv3×3 64 → BN(ε 0.8) → LeakyReLU 0.2 → conv3×3 C → tanh → BN(C, affine=False)
///
/// s = image size / 4, nearest-neighbour upsampling. The reference's `nn.BatchNorm2d(128, 0.8)`
/// passes 0.8 as ε (its second positional argument), kept here. Its MNIST settings: latent 100,
/// image size 32 (MNIST resized to 32); on 28×28 data we generate 28×28 directly (s = 7), which
/// LeNet-5 with padding 2 sees as the reference's 32×32.
public final class DAFLGenerator: Module {
    public let latent: Int, channels: Int, size: Int
    let l1: Linear, bn0: BatchNorm2d, conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d, conv3: Conv2d, bn3: BatchNorm2d

    public init(latent: Int = 100, channels: Int = 1, imageSize: Int = 28, seed: UInt64 = 0) {
        precondition(imageSize % 4 == 0 && imageSize >= 4, "DAFLGenerator: image size \(imageSize) must be a multiple of 4")
        self.latent = latent; self.channels = channels; size = imageSize / 4
        var g = SeededGenerator(seed: seed)
        l1 = Linear(latent, 128 * size * size, using: &g)
        bn0 = BatchNorm2d(128)
        conv1 = Conv2d(128, 128, kernel: 3, padding: 1, using: &g); bn1 = BatchNorm2d(128, eps: 0.8)
        conv2 = Conv2d(128, 64, kernel: 3, padding: 1, using: &g); bn2 = BatchNorm2d(64, eps: 0.8)
        conv3 = Conv2d(64, channels, kernel: 3, padding: 1, using: &g); bn3 = BatchNorm2d(channels, affine: false)
        super.init()
        for (n, m) in [("l1", l1 as Module), ("bn0", bn0), ("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2),
                       ("conv3", conv3), ("bn3", bn3)] { register(child: m, as: n) }
    }

    /// Nearest-neighbour ×2 upsampling of [N, C, H, W] (`F.interpolate(scale_factor=2)`), as
    /// reshape → expand → reshape, so its gradient is the sum over each 2×2 block.
    public static func upsample2(_ x: Tensor) -> Tensor {
        let s = x.shape
        return x.reshaped([s[0], s[1], s[2], 1, s[3], 1]).expanded(to: [s[0], s[1], s[2], 2, s[3], 2]).reshaped([s[0], s[1], 2 * s[2], 2 * s[3]])
    }

    public override func forward(_ z: Tensor) -> Tensor {
        var h = bn0(l1(z).reshaped([z.shape[0], 128, size, size]))
        h = bn1(conv1(Self.upsample2(h))).leakyRelu(slope: 0.2)
        h = bn2(conv2(Self.upsample2(h))).leakyRelu(slope: 0.2)
        return bn3(conv3(h).tanh())
    }
}

/// DAFL's settings: the reference's MNIST defaults (lr_G 0.2, lr_S 2e-3, both Adam; weights
/// one-hot 1, information entropy 5, activation 0.1; batch 512; 120 iterations per epoch).
public struct DAFLSettings: Codable, Equatable, Sendable {
    public var latent = 100
    public var batchSize = 512
    public var generatorLR: Float = 0.2
    public var studentLR: Float = 2e-3
    public var oneHot: Float = 1, informationEntropy: Float = 5, activation: Float = 0.1
    public var iterationsPerEpoch = 120
    public init() {}
}

/// How varied one generated batch is: the guard against DAFL's mode collapse.
public struct BatchDiversity: Codable, Equatable, Sendable {
    /// Mean L2 distance between pairs of images (the first 64 of the batch).
    public var meanPairwiseDistance: Float
    /// Entropy (nats) of the histogram of the teacher's predicted classes; ln K when balanced.
    public var predictedClassEntropy: Float
    /// Classes the teacher predicts at least once.
    public var classesPresent: Int

    /// Collapse: at most two predicted classes, or images nearly identical (mean pairwise
    /// distance below 1 % of √pixels, i.e. an RMS pixel difference under 0.01).
    public func collapsed(pixels: Int) -> Bool {
        classesPresent <= 2 || meanPairwiseDistance < 0.01 * Float(pixels).squareRoot()
    }

    public static func measure(images: Tensor, teacherLogits: Tensor) -> BatchDiversity {
        let n = min(images.shape[0], 64), d = images.count / max(images.shape[0], 1)
        let x = images.detached().scalars
        var total: Double = 0, pairs = 0
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) {
            var s: Float = 0
            for k in 0..<d { let v = x[i * d + k] - x[j * d + k]; s += v * v }
            total += Double(s.squareRoot()); pairs += 1
        } }
        let k = teacherLogits.shape[1]
        var counts = [Int](repeating: 0, count: k)
        for c in teacherLogits.detached().argmax(alongAxis: 1).scalars { counts[c] += 1 }
        let m = Double(teacherLogits.shape[0])
        let h = counts.filter { $0 > 0 }.map { -Double($0) / m * log(Double($0) / m) }.reduce(0, +)
        return BatchDiversity(meanPairwiseDistance: pairs > 0 ? Float(total / Double(pairs)) : 0,
                              predictedClassEntropy: Float(h), classesPresent: counts.filter { $0 > 0 }.count)
    }
}

/// One DAFL iteration (DAFL-train.py's loop body): the generator is trained against the frozen
/// teacher with L_G = w_oh·L_oh + w_ie·L_ie + w_a·L_a, and in the same backward the student with
/// the reference's `kdloss` on the detached generated images; both Adam optimisers step.
public final class DAFLTrainer {
    public let generator: DAFLGenerator
    public let student: Module
    public let teacher: FrozenTeacher
    public let settings: DAFLSettings
    public let generatorOptimizer: Adam, studentOptimizer: Adam
    public var random: SeededGenerator

    public init(generator: DAFLGenerator, student: Module, teacher: FrozenTeacher, settings: DAFLSettings, seed: UInt64) throws {
        try teacher.requirePenultimate(method: "dafl")
        self.generator = generator; self.student = student; self.teacher = teacher; self.settings = settings
        generatorOptimizer = Adam(generator.trainableParameters(), learningRate: settings.generatorLR)
        studentOptimizer = Adam(student.trainableParameters(), learningRate: settings.studentLR)
        random = SeededGenerator(seed: seed)
    }

    public struct Step: Codable, Equatable, Sendable {
        public var oneHot: Float, informationEntropy: Float, activation: Float, kd: Float
        public var diversity: BatchDiversity
    }

    /// Runs one iteration and returns its terms and the diversity of its batch.
    public func step() -> Step {
        generator.train(); student.train()
        let z = Tensor.normal([settings.batchSize, settings.latent], using: &random)
        let images = generator(z)
        let out = teacher(images)
        let oh = DataFreeLoss.daflOneHot(out.logits)
        let ie = DataFreeLoss.daflInformationEntropy(out.logits)
        let act = DataFreeLoss.daflActivation(out.penultimate!)
        let kd = DataFreeLoss.daflKD(studentLogits: student(images.detached()), teacherLogits: out.logits)
        let loss = oh * settings.oneHot + ie * settings.informationEntropy + act * settings.activation + kd
        generator.zeroGradients(); student.zeroGradients()
        loss.backward()
        generatorOptimizer.step(); studentOptimizer.step()
        return Step(oneHot: oh.item, informationEntropy: ie.item, activation: act.item, kd: kd.item,
                    diversity: BatchDiversity.measure(images: images, teacherLogits: out.logits))
    }

    /// `count` generated images (eval-mode generator), without recording.
    public func sample(_ count: Int) -> Tensor {
        generator.eval()
        defer { generator.train() }
        return withoutGradients { generator(Tensor.normal([count, settings.latent], using: &random)) }
    }
}
