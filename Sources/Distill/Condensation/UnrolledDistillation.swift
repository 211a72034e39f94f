import Foundation
import DistillCore
import DistillNN
import DistillData

/// Settings of `UnrolledDistillation` (defaults: SsnL/dataset-distillation's `base_options.py`).
public struct UnrolledDistillationConfig: Sendable, Equatable {
    /// How θ₀ is chosen: one θ₀ for every outer iteration (`known_init`), or θ₀ redrawn from the
    /// network's initialiser each outer iteration (`unknown_init`, the code's default).
    public enum Initialisation: String, Sendable, Equatable { case fixed, random }

    /// Distinct synthetic batches S (`distill_steps`, 10).
    public var steps = 10
    /// Passes E over the S batches (`distill_epochs`, 3): K = S·E unrolled steps, each with its own η.
    public var epochs = 3
    /// Synthetic images per class in each batch (`distilled_images_per_class_per_step`, 1): M = S·this.
    public var imagesPerClassPerStep = 1
    /// Initial η of every step (`distill_lr`, 0.02); stored raw as log(expm1(η)), used as softplus(raw).
    public var initialStepLearningRate: Float = 0.02
    /// Adam's learning rate on images and raw rates (`lr`, 0.01), betas (0.5, 0.999) as in the code.
    public var learningRate: Float = 0.01
    public var beta1: Float = 0.5, beta2: Float = 0.999
    /// Outer iterations (the code runs 400 epochs of 60000/1024 real batches, about 23 400).
    public var iterations = 400
    /// Real examples per outer iteration (`batch_size`, 1024).
    public var realBatchSize = 1024
    /// Adam's rate is multiplied by `decayFactor` every `decayEvery` iterations (the code's StepLR
    /// of 40 epochs, ×0.5, is 40·59 = 2340 iterations on MNIST).
    public var decayEvery = 2340
    public var decayFactor: Float = 0.5
    public var initialisation: Initialisation = .random
    public var seed: UInt64 = 1

    public init() {}

    /// K, the number of unrolled steps.
    public var unrolledSteps: Int { steps * epochs }

    /// Throws naming the first field out of bounds.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ why: String) throws {
            if !ok { throw UnrolledDistillationError.invalidConfig(field: field, reason: why) }
        }
        try check((1...100).contains(steps), "steps", "must be in 1...100, got \(steps)")
        try check((1...100).contains(epochs), "epochs", "must be in 1...100, got \(epochs)")
        try check(unrolledSteps <= 1000, "steps·epochs", "at most 1000 unrolled steps, got \(unrolledSteps)")
        try check((1...1000).contains(imagesPerClassPerStep), "imagesPerClassPerStep", "must be in 1...1000, got \(imagesPerClassPerStep)")
        try check(initialStepLearningRate > 0 && initialStepLearningRate.isFinite, "initialStepLearningRate", "must be positive, got \(initialStepLearningRate)")
        try check(learningRate > 0 && learningRate.isFinite, "learningRate", "must be positive, got \(learningRate)")
        try check((0..<1).contains(beta1) && (0..<1).contains(beta2), "beta1/beta2", "must be in [0, 1)")
        try check((1...10_000_000).contains(iterations), "iterations", "must be in 1...10000000, got \(iterations)")
        try check(realBatchSize >= 1, "realBatchSize", "must be positive, got \(realBatchSize)")
        try check(decayEvery >= 1, "decayEvery", "must be positive, got \(decayEvery)")
        try check(decayFactor > 0 && decayFactor <= 1, "decayFactor", "must be in (0, 1], got \(decayFactor)")
    }
}

public enum UnrolledDistillationError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(field: String, reason: String)
    case badData(String)

    public var description: String {
        switch self {
        case let .invalidConfig(f, r): return "unrolled distillation: \(f) \(r)"
        case let .badData(r): return "unrolled distillation: \(r)"
        }
    }
}

/// What `UnrolledDistillation.run` learns.
public struct UnrolledDistillationResult {
    /// [S·C·m, channels, H, W], step-major: rows s·C·m ..< (s+1)·C·m are step s's batch, class-major inside.
    public var images: Tensor
    /// [S·C·m], the class of each row.
    public var labels: IntTensor
    /// η of each of the K = S·E steps (softplus of the raw values Adam learned).
    public var learningRates: [Float]
    /// Loss on the real batch after the K steps, one per outer iteration.
    public var lossCurve: [Float]
    /// S and E, to replay the steps (`UnrolledDistillation.train`).
    public var steps: Int, epochs: Int
}

/// Dataset distillation by unrolled SGD: Wang, Zhu, Torralba & Efros, "Dataset Distillation",
/// arXiv 1811.10959 (2018); reference code SsnL/dataset-distillation.
///
/// Learns synthetic images x̃ (M = S·m per class) and K = S·E step sizes η so that K steps of
/// SGD from θ₀ on them minimise the loss on real data:
///
///     θₖ₊₁ = θₖ − ηₖ ∇θ ℓ(x̃_{k mod S}, ỹ; θₖ)      (train mode, graph kept: `DifferentiableSGD`)
///     L(x̃, η) = ℓ(x_real, y_real; θ_K)              (eval mode, as the code's `model.eval()`)
///     x̃, raw ← Adam(∇ L),  ηₖ = softplus(rawₖ)
///
/// Images start from N(0, 1) (the code's `randn`) and labels are fixed (class-major per step);
/// the step sizes are stored raw, as the code does (raw = log(expm1(η₀)), η = softplus(raw));
/// the paper writes η directly. θ₀ is one fixed draw (`.fixed`) or redrawn from `makeNetwork`
/// every outer iteration (`.random`). The hypergradient is taken by plain reverse mode through
/// the whole unrolled graph (the code's hand-written backward computes the same quantity one
/// step at a time). Memory grows linearly in K (see Benchmarks/results/unroll.md).
///
/// `makeNetwork(seed)` builds the network with its initialiser; the first one is the module
/// every forward runs on (its stored weights are never changed), the others only supply θ₀.
public enum UnrolledDistillation {
    public static func run(train: Dataset, config: UnrolledDistillationConfig,
                           makeNetwork: (UInt64) -> Module,
                           progress: ((Int, Float) -> Void)? = nil) throws -> UnrolledDistillationResult {
        try config.validate()
        guard train.count > 0, train.isLabelled, train.images.rank == 4 else {
            throw UnrolledDistillationError.badData("training data must be labelled images [N, C, H, W], got \(Shape.describe(train.images.shape))")
        }
        let classes = train.classCount, m = config.imagesPerClassPerStep, S = config.steps
        let perStep = classes * m
        let imageShape = train.imageShape
        var g = SeededGenerator(seed: config.seed)
        let network = makeNetwork(config.seed)
        var theta0 = network.parameterLeaves()

        let images = Parameter(Tensor.normal([S * perStep] + imageShape, using: &g))
        let rawInit = Float(log(expm1(Double(config.initialStepLearningRate))))
        let rawRates = Parameter(Tensor(shape: [config.unrolledSteps], repeating: rawInit))
        let labels = IntTensor((0..<S).flatMap { _ in (0..<classes).flatMap { c in Array(repeating: c, count: m) } })
        let adam = Adam([("images", images), ("raw_learning_rates", rawRates)], learningRate: config.learningRate,
                        beta1: config.beta1, beta2: config.beta2)
        let schedule = StepSchedule(base: config.learningRate, stepSize: config.decayEvery, gamma: config.decayFactor)
        var losses: [Float] = []
        for it in 0..<config.iterations {
            if config.initialisation == .random && it > 0 {
                theta0 = makeNetwork(config.seed &+ UInt64(it)).parameterLeaves()
            }
            let rows = (0..<min(config.realBatchSize, train.count)).map { _ in Int.random(in: 0..<train.count, using: &g) }
            let real = train.subset(rows)
            let x = images.value, raw = rawRates.value
            let loss = try unrolledLoss(network: network, theta0: theta0, images: x, labels: labels,
                                        rawRates: raw, steps: S, real: real)
            guard loss.item.isFinite else { throw UnrolledDistillationError.badData("the outer loss became \(loss.item) at iteration \(it)") }
            losses.append(loss.item)
            let grads = gradients(of: loss, wrt: [x, raw])
            images.setGradient(grads[0]); rawRates.setGradient(grads[1])
            adam.learningRate = schedule.learningRate(at: it)
            adam.step()
            progress?(it, loss.item)
        }
        let rates = withoutGradients { rawRates.value.softplus().scalars }
        return UnrolledDistillationResult(images: images.value.detached(), labels: labels, learningRates: rates,
                                          lossCurve: losses, steps: S, epochs: config.epochs)
    }

    /// ℓ(real; θ_K) after the K = raw.count unrolled steps on `images` (graph kept through all).
    public static func unrolledLoss(network: Module, theta0: [(path: String, tensor: Tensor)], images: Tensor,
                                    labels: IntTensor, rawRates: Tensor, steps: Int, real: Dataset) throws -> Tensor {
        let thetaK = try unroll(network: network, theta0: theta0, images: images, labels: labels,
                                learningRates: rawRates.softplus(), steps: steps, createGraph: true)
        network.eval()
        defer { network.train() }
        return crossEntropy(logits: try network(real.images, parameters: thetaK), labels: real.labels)
    }

    /// θ_K from θ₀ by K = learningRates.count SGD steps, step k on batch k mod `steps` of `images`.
    /// With `createGraph` false the steps are ordinary first-order training (evaluation).
    public static func unroll(network: Module, theta0: [(path: String, tensor: Tensor)], images: Tensor, labels: IntTensor,
                              learningRates: Tensor, steps: Int, createGraph: Bool) throws -> [String: Tensor] {
        ensure(images.shape[0] % steps == 0 && labels.count == images.shape[0],
               "unroll: \(Shape.describe(images.shape)) images, \(labels.count) labels for \(steps) steps")
        let perStep = images.shape[0] / steps
        let paths = theta0.map(\.path)
        var theta = theta0.map(\.tensor)
        let sgd = DifferentiableSGD()
        var velocity: [Tensor]? = nil
        network.train()
        for k in 0..<learningRates.count {
            let s = k % steps
            let x = images.slice(axis: 0, start: s * perStep, length: perStep)
            let y = IntTensor(Array(labels.scalars[(s * perStep)..<((s + 1) * perStep)]))
            let logits = try network(x, parameters: Dictionary(uniqueKeysWithValues: zip(paths, theta)))
            let loss = crossEntropy(logits: logits, labels: y)
            let g = gradients(of: loss, wrt: theta, createGraph: createGraph)
            let lr = learningRates.slice(axis: 0, start: k, length: 1)
            theta = sgd.step(theta, gradients: g, learningRate: lr, velocity: &velocity)
            if !createGraph { theta = theta.map { $0.detached().requiringGradient() } }
        }
        return Dictionary(uniqueKeysWithValues: zip(paths, theta))
    }

    /// Trains from θ₀ by the learned steps (or any images with given rates) and returns the
    /// accuracy on `test` in eval mode: the paper's evaluation of distilled data.
    public static func accuracy(network: Module, theta0: [(path: String, tensor: Tensor)], images: Tensor, labels: IntTensor,
                                learningRates: [Float], steps: Int, test: Dataset) throws -> Double {
        let theta = try unroll(network: network, theta0: theta0, images: images, labels: labels,
                               learningRates: Tensor(learningRates), steps: steps, createGraph: false)
        network.eval()
        defer { network.train() }
        let logits = try withoutGradients { try network(test.images, parameters: theta) }
        return Metrics.accuracy(logits: logits, labels: test.labels)
    }
}
