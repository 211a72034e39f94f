import Foundation

/// Everything `distill condense` and a `kind: condense` experiment file choose, with the CLI's
/// defaults, turned into a checked `CondensationRun` by `makeRun`. Unset options (nil) take the
/// method's reference default: image init real for DM / noise for DC and DSA, image learning rate
/// 1.0 / 0.1, DSA strategy on for DM and DSA, evaluation epochs 300 without augmentation and 1000
/// with it (VICO-UoE/DatasetCondensation `main.py`, `main_DM.py`).
public struct CondensationPlan: Codable, Equatable, Sendable {
    public var data = "fashion-mnist"
    public var method = "dm"
    public var sizes = [1]
    public var iterations = 100
    public var model = "convnet3"
    public var initialization: String?
    public var initFile: String?
    public var imageLearningRate: Float?
    public var realBatch = 256
    public var augmentation: String?
    public var seed: UInt64 = 0
    public var checkpointEvery = 10
    public var evalModel = "convnet3"
    public var evalEpochs: Int?
    public var evalNetworks = 5
    public var testLimit: Int?
    public var wholeEpochs = 1
    public var cache: String?
    public var cross = ["mlp:128x128", "lenet5"]
    public init() {}

    /// The run this plan describes, writing into `out`; every value is checked here (the
    /// data-dependent checks follow in `CondensationRun.validate` before any work).
    public func makeRun(out: String) throws -> CondensationRun {
        let m = try CondensationMethod.parse(method)
        for s in sizes where !(1...1000).contains(s) {
            throw CondensationError.badValue(field: "ipc", detail: "images per class must be in 1…1000, got \(s)")
        }
        guard let first = sizes.first else { throw CondensationError.badValue(field: "ipc", detail: "give at least one size") }
        var base = try CondensationConfig(method: m, imagesPerClass: first, iterations: iterations, seed: seed)
        base.model = model; base.realBatch = realBatch; base.checkpointEvery = checkpointEvery
        if let augmentation { base.augmentation = augmentation }
        if let imageLearningRate { base.imageLearningRate = imageLearningRate }
        if let i = initialization {
            guard let v = SyntheticInit(rawValue: i) else { throw CondensationError.badValue(field: "init", detail: "must be real or noise, got '\(i)'") }
            base.initialization = v
        }
        try base.validate()
        var e = CondensationEvaluation(model: evalModel, epochs: evalEpochs ?? (base.augmentation == "none" ? 300 : 1000), networks: evalNetworks,
                                       seed: seed &+ 1000, testLimit: testLimit)
        e.augmentation = base.augmentation
        var r = CondensationRun(data: data, sizes: sizes, base: base, evaluation: e, out: out)
        r.wholeEpochs = wholeEpochs
        r.cache = cache ?? (out as NSString).appendingPathComponent("whole-train-cache.json")
        r.crossModels = cross.filter { !$0.isEmpty }
        r.initFile = initFile
        return r
    }
}
