import DistillCore
import DistillNN

/// Errors of dataset condensation, raised before any work starts; each names the field, file or
/// shape at fault.
public enum CondensationError: Error, CustomStringConvertible, Equatable {
    case unknownMethod(String, known: [String])
    case badValue(field: String, detail: String)
    /// A synthetic-set file whose shape does not fit the data set.
    case shapeMismatch(path: String, expected: [Int], got: [Int])
    case badFile(path: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownMethod(m, known): return "unknown condensation method '\(m)'; known methods: \(known.joined(separator: ", "))"
        case let .badValue(field, detail): return "\(field): \(detail)"
        case let .shapeMismatch(path, e, g):
            return "\(path): synthetic set of shape \(Shape.describe(g)) does not fit the data set (expected \(Shape.describe(e)))"
        case let .badFile(path, detail): return "\(path): \(detail)"
        }
    }
}

/// The dataset-condensation methods.
public enum CondensationMethod: String, CaseIterable, Sendable, Codable {
    /// Distribution matching (Zhao & Bilen, WACV 2023).
    case dm
    /// Gradient matching (Zhao, Mopuri & Bilen, ICLR 2021).
    case dc
    /// Gradient matching with differentiable Siamese augmentation (Zhao & Bilen, ICML 2021).
    case dsa

    public static func parse(_ s: String) throws -> CondensationMethod {
        guard let m = CondensationMethod(rawValue: s.lowercased()) else {
            throw CondensationError.unknownMethod(s, known: allCases.map(\.rawValue))
        }
        return m
    }
}

/// How the synthetic images start (`--init` of the reference scripts).
public enum SyntheticInit: String, CaseIterable, Sendable, Codable {
    /// Random real images of each class (DM's default in `main_DM.py`).
    case real
    /// Standard normal noise in normalised pixel space (DC's default in `main.py`).
    case noise
}

/// Everything that defines a condensation run; defaults are the reference scripts'.
///
/// - `imageLearningRate`: 1.0 for DM (`main_DM.py`), 0.1 for DC/DSA (`main.py`); momentum 0.5 both.
/// - `realBatch`: 256 real images per class per step (`batch_real`).
/// - `outerLoop`/`innerLoop` (DC/DSA only): `get_loops(ipc)` of `utils.py` — 1/1 at ipc 1, 10/50
///   at 10, 20/25, 30/20, 40/15 and 50/10 at 20…50.
/// - `networkLearningRate` 0.01 and `trainBatch` 256: the inner loop's SGD on the synthetic set.
public struct CondensationConfig: Codable, Equatable, Sendable {
    public var method: CondensationMethod
    public var imagesPerClass: Int
    public var iterations: Int
    public var model: String = "convnet3"
    public var imageLearningRate: Float
    public var imageMomentum: Float = 0.5
    public var realBatch: Int = 256
    public var initialization: SyntheticInit
    public var outerLoop: Int
    public var innerLoop: Int
    public var networkLearningRate: Float = 0.01
    public var trainBatch: Int = 256
    /// Siamese augmentation strategy (`dsa_strategy` of the reference): the DSA default
    /// `color_crop_cutout_flip_scale_rotate` for DM and DSA, `none` for DC.
    public var augmentation: String = "none"
    public var seed: UInt64 = 0
    /// Iterations between checkpoints (0: only at the end).
    public var checkpointEvery: Int = 10

    /// The reference loops of `get_loops` in `utils.py`, nil for an ipc it does not define.
    public static func referenceLoops(ipc: Int) -> (outer: Int, inner: Int)? {
        [1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)][ipc]
    }

    public init(method: CondensationMethod, imagesPerClass: Int, iterations: Int, seed: UInt64 = 0) throws {
        self.method = method; self.imagesPerClass = imagesPerClass; self.iterations = iterations; self.seed = seed
        imageLearningRate = method == .dm ? 1.0 : 0.1
        initialization = method == .dm ? .real : .noise
        augmentation = method == .dc ? "none" : CondensationConfig.dsaStrategy
        let loops = CondensationConfig.referenceLoops(ipc: imagesPerClass)
        outerLoop = loops?.outer ?? 1; innerLoop = loops?.inner ?? 1
        if method != .dm && loops == nil && (1...Limits.maxRepeats).contains(imagesPerClass) {
            // Gradient matching needs loop counts; the reference defines them only for these sizes.
            throw CondensationError.badValue(field: "ipc", detail: "gradient matching (\(method.rawValue)) defines outer/inner loops only for 1, 10, 20, 30, 40, 50 images per class (get_loops of the reference), got \(imagesPerClass)")
        }
        try validate()
    }

    /// Throws for any value out of its bounds.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ detail: String) throws {
            if !ok { throw CondensationError.badValue(field: field, detail: detail) }
        }
        try check((1...1000).contains(imagesPerClass), "ipc", "images per class must be in 1…1000, got \(imagesPerClass)")
        try check((0...10_000_000).contains(iterations), "iterations", "must be in 0…10000000, got \(iterations)")
        try check(imageLearningRate.isFinite && imageLearningRate > 0 && imageLearningRate <= 1000, "lr-img", "must be in (0, 1000], got \(imageLearningRate)")
        try check(imageMomentum.isFinite && (0..<1).contains(imageMomentum), "momentum-img", "must be in [0, 1), got \(imageMomentum)")
        try check((1...10_000).contains(realBatch), "batch-real", "must be in 1…10000, got \(realBatch)")
        try check((1...1000).contains(outerLoop) && (1...1000).contains(innerLoop), "outer-loop/inner-loop", "must be in 1…1000, got \(outerLoop)/\(innerLoop)")
        try check(networkLearningRate.isFinite && networkLearningRate > 0 && networkLearningRate <= 10, "lr-net", "must be in (0, 10], got \(networkLearningRate)")
        try check((1...10_000).contains(trainBatch), "batch-train", "must be in 1…10000, got \(trainBatch)")
        try check((0...10_000_000).contains(checkpointEvery), "checkpoint-every", "must be in 0…10000000, got \(checkpointEvery)")
        if augmentation != "none" {
            do { _ = try SiameseAugmentation(strategy: augmentation, seed: 0) } catch {
                throw CondensationError.badValue(field: "augment", detail: "must be none or a DSA strategy like \(CondensationConfig.dsaStrategy): \(error)")
            }
        }
        try ModelZoo.check(model)
        if method == .dm, ModelZoo.family(of: model) != "convnet3" {
            throw CondensationError.badValue(field: "model", detail: "distribution matching needs an embedding: use a convnet3 model, got '\(model)'")
        }
    }

    /// The reference's DSA strategy for every data set but MNIST.
    public static let dsaStrategy = "color_crop_cutout_flip_scale_rotate"

    /// The Siamese augmentation of this config seeded by `seed` (nil for `none`); per-sample
    /// draws when not `siamese` (the reference's training of networks, seed −1).
    public func augmenter(seed: UInt64, siamese: Bool = true) -> SiameseAugmentation? {
        guard augmentation != "none" else { return nil }
        var p = DSAHyperparameters()
        p.batchShared = siamese
        return try? SiameseAugmentation(strategy: augmentation, seed: seed, parameters: p)
    }
}
