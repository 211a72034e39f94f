import DistillCore
import DistillData
import DistillNN
import Foundation

/// The evaluation protocol of dataset condensation (`evaluate_synset` of VICO-UoE/
/// DatasetCondensation `utils.py`): a freshly seeded network trained from scratch on a small set,
/// then tested; repeated over `networks` seeds, reported as mean ± std of test accuracy.
///
/// Training: SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 256, shuffled, for `epochs` + 1
/// epochs (the reference loops `range(Epoch + 1)`); after epoch `epochs/2 + 1` the learning rate
/// is multiplied by 0.1 and the optimizer rebuilt (its momentum reset), as the reference does.
/// Epochs: 300 without augmentation (DC on Fashion-MNIST), 1000 with DSA (DSA, DM). At least 5
/// networks here (the reference evaluates 20 per experiment).
public struct CondensationEvaluation: Codable, Equatable, Sendable {
    public var model: String = "convnet3"
    public var epochs: Int = 300
    public var batch: Int = 256
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var networks: Int = 5
    public var seed: UInt64 = 1000
    /// Test images used (nil: the whole test split). A smaller number is a cheaper, noisier protocol.
    public var testLimit: Int?
    /// DSA strategy applied to every training batch, per-sample draws ("none": no augmentation),
    /// as `evaluate_synset` does when DSA is on.
    public var augmentation: String = "none"

    public init(model: String = "convnet3", epochs: Int = 300, networks: Int = 5, seed: UInt64 = 1000, testLimit: Int? = nil) {
        self.model = model; self.epochs = epochs; self.networks = networks; self.seed = seed; self.testLimit = testLimit
    }

    public func validate() throws {
        guard (0...100_000).contains(epochs) else { throw CondensationError.badValue(field: "eval-epochs", detail: "must be in 0…100000, got \(epochs)") }
        guard (1...100).contains(networks) else { throw CondensationError.badValue(field: "eval-networks", detail: "must be in 1…100, got \(networks)") }
        if let t = testLimit, !(1...10_000_000).contains(t) { throw CondensationError.badValue(field: "test-limit", detail: "must be positive, got \(t)") }
    }

    /// Accuracies of every network, their mean and (population) std, and the wall time.
    public struct Outcome: Codable, Equatable, Sendable {
        public var accuracies: [Double]
        public var mean: Double
        public var std: Double
        public var seconds: Double
        public init(accuracies: [Double], seconds: Double) {
            self.accuracies = accuracies; self.seconds = seconds
            let m = accuracies.reduce(0, +) / Double(max(accuracies.count, 1))
            mean = m
            std = (accuracies.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(accuracies.count, 1))).squareRoot()
        }
    }

    /// Trains `networks` fresh models on (`images`, `labels`) — normalised, as `ClassImages`
    /// holds them — and tests each on `test` (normalised the same way).
    public func run(images: Tensor, labels: IntTensor, test: Dataset, classes: Int) throws -> Outcome {
        let start = Date()
        let shape = Array(images.shape.dropFirst())
        let input = ModelInput(channels: shape[0], height: shape[1], width: shape[2], classes: classes)
        let testSet = testLimit.map { test.first(min($0, test.count)) } ?? test
        var accs: [Double] = []
        for k in 0..<networks {
            let net = try ModelZoo.make(model, input: input, seed: seed &+ UInt64(k) &* 7919)
            try train(net, images: images, labels: labels, seed: seed &+ UInt64(k))
            let logits = try Evaluation.logits(of: net, on: testSet, batchSize: 500)
            accs.append(Metrics.accuracy(logits: logits, labels: testSet.labels))
        }
        return Outcome(accuracies: accs, seconds: Date().timeIntervalSince(start))
    }

    func train(_ net: Module, images: Tensor, labels: IntTensor, seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var p = DSAHyperparameters()
        p.batchShared = false
        let aug = augmentation == "none" ? nil : try SiameseAugmentation(strategy: augmentation, seed: seed &+ 77, parameters: p)
        var lr = learningRate
        var opt = SGD(net.trainableParameters(), learningRate: lr, momentum: momentum, weightDecay: weightDecay)
        let n = images.shape[0]
        net.train()
        for ep in 0...epochs {
            let order = g.permutation(n)
            var s = 0
            while s < n {
                let idx = Array(order[s..<min(s + batch, n)])
                s += batch
                var x = withoutGradients { images.indexSelect(alongAxis: 0, indices: IntTensor(idx)) }
                if let aug { x = try withoutGradients { try aug([x])[0] } }
                let loss = crossEntropy(logits: net(x), labels: IntTensor(idx.map { labels.scalars[$0] }))
                net.zeroGradients()
                loss.backward()
                opt.step()
            }
            if ep == epochs / 2 + 1 {
                lr *= 0.1
                opt = SGD(net.trainableParameters(), learningRate: lr, momentum: momentum, weightDecay: weightDecay)
            }
        }
        net.zeroGradients()
    }

    /// A random real subset of `perClass` images per class, seeded: the baseline every synthetic
    /// set is compared with.
    public static func randomSubset(_ real: ClassImages, perClass: Int, seed: UInt64) -> (images: Tensor, labels: IntTensor) {
        var g = SeededGenerator(seed: seed)
        var idx: [Int] = []
        for c in 0..<real.classCount { idx += real.sampleIndices(class: c, count: perClass, using: &g) }
        return (real.images.indexSelect(alongAxis: 0, indices: IntTensor(idx)), IntTensor(idx.map { real.labels.scalars[$0] }))
    }

    /// The whole-training-set row, read from `cache` when a result of the same protocol and data
    /// is there, otherwise computed and saved to it.
    public func wholeTrainingSet(_ real: ClassImages, test: Dataset, dataName: String, cache: String?) throws -> Outcome {
        let key = "\(dataName)|\(real.images.shape)|" + String(decoding: try ResultJSON.encoder([.sortedKeys]).encode(self), as: UTF8.self)
        var table: [String: Outcome] = [:]
        if let cache, let data = FileManager.default.contents(atPath: cache) {
            guard let t = try? ResultJSON.decoder.decode([String: Outcome].self, from: data) else {
                throw CondensationError.badFile(path: cache, detail: "is not a cache of whole-training-set results (delete it to recompute)")
            }
            table = t
            if let hit = t[key] { return hit }
        }
        let out = try run(images: real.images, labels: real.labels, test: test, classes: real.classCount)
        if let cache {
            table[key] = out
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: cache).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(table).write(to: URL(fileURLWithPath: cache), options: .atomic)
        }
        return out
    }
}
