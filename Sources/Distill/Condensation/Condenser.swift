import DistillCore
import DistillNN
import Foundation

/// Learns a synthetic set of `imagesPerClass` images per class by distribution matching (DM) or
/// gradient matching (DC, DSA), one outer iteration at a time, as the reference scripts
/// (`main_DM.py`, `main.py` of VICO-UoE/DatasetCondensation) do:
///
/// - DM: a freshly initialised network per iteration (parameters frozen), per class c the loss
///   ‖mean e(real_c) − mean e(syn_c)‖² on its embedding e (features before the classifier), summed
///   over classes; one SGD step on the images (lr 1.0, momentum 0.5).
/// - DC/DSA: a freshly initialised network per iteration; `outerLoop` times: (batch-norm nets only:
///   running statistics from 16 real images per class, then frozen), per class the layer-wise
///   distance between ∇θ CE(real_c) (a constant) and ∇θ CE(syn_c) (kept on the tape,
///   `createGraph`), summed over classes, one SGD step on the images (lr 0.1, momentum 0.5); then,
///   except after the last, `innerLoop` epochs of plain SGD (lr 0.01, batch 256) of the network
///   on the current synthetic set.
///
/// The state — images, the image optimizer's momentum, the iteration — is all a checkpoint needs:
/// each iteration's network seed and real batches come from a generator seeded by (seed,
/// iteration), so a resumed run repeats exactly what an uninterrupted one does.
public final class Condenser {
    public let config: CondensationConfig
    public let real: ClassImages
    public let input: ModelInput
    /// Synthetic images [classes·ipc, C, H, W] in normalised space, class-major.
    public let images: Parameter
    public let labels: IntTensor
    public let optimizer: SGD
    public private(set) var iteration = 0
    /// Mean matching loss of each completed iteration (what the log shows).
    public private(set) var losses: [Double] = []

    public init(config: CondensationConfig, real: ClassImages, initial: Tensor? = nil) throws {
        self.config = config; self.real = real
        let shape = real.imageShape
        input = ModelInput(channels: shape[0], height: shape[1], width: shape[2], classes: real.classCount)
        try ModelZoo.check(config.model, input: input)
        if config.method == .dm, ModelZoo.family(of: config.model) != "convnet3" {
            throw CondensationError.badValue(field: "model", detail: "distribution matching needs an embedding: use a convnet3 model, got '\(config.model)'")
        }
        let k = real.classCount, ipc = config.imagesPerClass
        let expected = [k * ipc] + shape
        var g = SeededGenerator(seed: config.seed &+ 0x5EED)
        let start: Tensor
        if let initial {
            guard initial.shape == expected else { throw CondensationError.shapeMismatch(path: "init", expected: expected, got: initial.shape) }
            start = initial
        } else if config.initialization == .real {
            start = Tensor.concatenated((0..<k).map { real.sample(class: $0, count: ipc, using: &g) }, alongAxis: 0)
            guard start.shape == expected else {
                throw CondensationError.badValue(field: "ipc", detail: "a class has fewer than \(ipc) real images to start from")
            }
        } else {
            start = Tensor.make(expected) { p in for i in 0..<Shape.count(expected) { p[i] = g.nextNormal() } }
        }
        images = Parameter(start)
        labels = IntTensor((0..<k).flatMap { Array(repeating: $0, count: ipc) })
        optimizer = SGD([("images", images)], learningRate: config.imageLearningRate, momentum: config.imageMomentum)
    }

    /// The generator of iteration `it`: network seed and real batches.
    func generator(for it: Int) -> SeededGenerator { SeededGenerator(seed: config.seed &* 0x9E37_79B9 &+ UInt64(it) &+ 1) }

    /// Runs one outer iteration and returns its mean loss.
    @discardableResult
    public func step() throws -> Double {
        var g = generator(for: iteration)
        let net = try ModelZoo.make(config.model, input: input, seed: g.next())
        net.train()
        let aug = config.augmenter(seed: g.next())
        let loss = config.method == .dm ? try distributionStep(net, aug, &g) : try gradientStep(net, aug, &g)
        iteration += 1
        losses.append(Double(Float(loss)))   // float precision, as checkpoints keep it
        return loss
    }

    func syntheticClass(_ c: Int) -> Tensor {
        images.value.slice(axis: 0, start: c * config.imagesPerClass, length: config.imagesPerClass)
    }

    /// The real and synthetic batch under one Siamese draw (unchanged without augmentation).
    func augmented(_ real: Tensor, _ syn: Tensor, _ aug: SiameseAugmentation?) throws -> (Tensor, Tensor) {
        guard let aug else { return (real, syn) }
        let out = try aug([real, syn])
        return (out[0], out[1])
    }

    func distributionStep(_ module: Module, _ aug: SiameseAugmentation?, _ g: inout SeededGenerator) throws -> Double {
        guard let net = module as? ConvNet3 else { throw CondensationError.badValue(field: "model", detail: "distribution matching needs convnet3") }
        for p in net.parameters { p.requiresGradient = false }
        var loss = Tensor(0)
        for c in 0..<real.classCount {
            let (batch, syn) = try augmented(real.sample(class: c, count: config.realBatch, using: &g), syntheticClass(c), aug)
            let e = withoutGradients { net.embed(batch) }
            loss = loss + MatchingLoss.distribution(real: e, synthetic: net.embed(syn))
        }
        update(loss)
        return Double(loss.item) / Double(real.classCount)
    }

    func gradientStep(_ net: Module, _ aug: SiameseAugmentation?, _ g: inout SeededGenerator) throws -> Double {
        let params = net.parameters
        let hasBN = net.namedModules().contains { $0.module is BatchNorm }
        let netOptimizer = SGD(net.trainableParameters(), learningRate: config.networkLearningRate)
        var total = 0.0
        for ol in 0..<config.outerLoop {
            if hasBN {   // running statistics from real data, then frozen (the reference's BN_flag)
                net.train()
                let batch = Tensor.concatenated((0..<real.classCount).map { real.sample(class: $0, count: 16, using: &g) }, alongAxis: 0)
                withoutGradients { _ = net(batch) }
                for (_, m) in net.namedModules() where m is BatchNorm { m.train(false) }
            }
            var loss = Tensor(0)
            for c in 0..<real.classCount {
                let (batch, syn) = try augmented(real.sample(class: c, count: config.realBatch, using: &g), syntheticClass(c), aug)
                let lossReal = crossEntropy(logits: net(batch), labels: IntTensor(Array(repeating: c, count: batch.shape[0])))
                let gwReal = gradients(of: lossReal, wrt: params.map(\.value)).map { $0.detached() }
                let lossSyn = crossEntropy(logits: net(syn), labels: IntTensor(Array(repeating: c, count: config.imagesPerClass)))
                let gwSyn = gradients(of: lossSyn, wrt: params.map(\.value), createGraph: true)
                loss = loss + MatchingLoss.gradientMatch(real: gwReal, synthetic: gwSyn)
            }
            update(loss)
            total += Double(loss.item)
            if ol == config.outerLoop - 1 { break }
            try trainNetwork(net, netOptimizer, config.augmenter(seed: g.next(), siamese: false), &g)
        }
        return total / Double(real.classCount * config.outerLoop)
    }

    /// One SGD step of the images on `loss` (its gradient with respect to the images only).
    func update(_ loss: Tensor) {
        guard loss.node != nil else { return }
        let grad = gradients(of: loss, wrt: [images.value])[0]
        images.setGradient(grad.detached())
        optimizer.step()
        images.zeroGradient()
    }

    /// `innerLoop` epochs of the network on the (detached) synthetic set, shuffled batches of
    /// `trainBatch`, as the reference's `epoch('train', …)`.
    func trainNetwork(_ net: Module, _ opt: SGD, _ aug: SiameseAugmentation?, _ g: inout SeededGenerator) throws {
        net.train()
        let x = images.value.detached(), n = x.shape[0]
        for _ in 0..<config.innerLoop {
            let order = g.permutation(n)
            var start = 0
            while start < n {
                let idx = Array(order[start..<min(start + config.trainBatch, n)])
                start += config.trainBatch
                var batch = x.indexSelect(alongAxis: 0, indices: IntTensor(idx))
                if let aug { batch = try aug([batch])[0] }
                let loss = crossEntropy(logits: net(batch), labels: IntTensor(idx.map { labels.scalars[$0] }))
                net.zeroGradients()
                loss.backward()
                opt.step()
            }
        }
        net.zeroGradients()
    }

    // MARK: checkpoints

    /// The config as a checkpoint records it: without the iteration count and the checkpoint
    /// interval, so a run may be resumed with more iterations.
    func identity() throws -> String {
        var c = config
        c.iterations = 0; c.checkpointEvery = 0
        return String(decoding: try ResultJSON.encoder([.sortedKeys]).encode(c), as: UTF8.self)
    }

    /// The resumable state: images, the image optimizer, the iteration and the loss history.
    public func checkpoint(seconds: Double) throws -> TrainingCheckpoint {
        var tensors = ["synthetic": images.value.detached()]
        for (k, v) in optimizer.stateDict() { tensors["optimizer." + k] = v }
        if !losses.isEmpty { tensors["losses"] = Tensor(losses.map { Float($0) }) }
        let configJSON = try identity()
        return TrainingCheckpoint(epoch: 0, batch: 0, step: iteration, sums: RunningSums(), seconds: seconds, configJSON: configJSON,
                                  tensors: tensors, random: ["condense": generator(for: iteration).state], history: [])
    }

    /// Restores a checkpoint written by a run of the same config; throws naming what differs.
    public func restore(_ c: TrainingCheckpoint, path: String) throws {
        let configJSON = try identity()
        guard c.configJSON == configJSON else {
            throw TrainingError.checkpointMismatch(path: path, detail: "it was written by a different condensation config (\(c.configJSON))")
        }
        guard let syn = c.tensors["synthetic"], syn.shape == images.shape else {
            throw CondensationError.shapeMismatch(path: path, expected: images.shape, got: c.tensors["synthetic"]?.shape ?? [])
        }
        images.value = syn
        try optimizer.loadStateDict(c.tensors(under: "optimizer"))
        iteration = c.step
        losses = (c.tensors["losses"]?.scalars ?? []).map(Double.init)
        guard losses.count == iteration else {
            throw TrainingError.checkpointMismatch(path: path, detail: "\(losses.count) losses recorded for \(iteration) iterations")
        }
    }
}
