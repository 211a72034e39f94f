import DistillCore
import DistillNN

/// Errors of data-free distillation, raised before any work starts.
public enum DataFreeError: Error, CustomStringConvertible, Equatable {
    /// A method that needs batch-norm statistics, given a teacher without BatchNorm layers.
    case noBatchNorm(method: String, model: String)
    /// A method that reads the teacher's penultimate features, given a teacher without a final Linear.
    case noPenultimate(method: String, model: String)
    /// A method that records layer activations, given a teacher without Conv2d or Linear layers.
    case noActivationLayers(method: String, model: String)
    /// A setting outside its bounds.
    case badValue(field: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .noBatchNorm(method, model):
            return "method \(method) matches the teacher's batch-norm statistics, but the teacher \(model) has no BatchNorm layer (train one with batch norm, e.g. lenet5:bn=true, or use --method dafl, lopes-top-layer or lopes-all-layers)"
        case let .noPenultimate(method, model):
            return "method \(method) reads the teacher's penultimate features (the input of its last Linear layer), but the teacher \(model) has no Linear layer"
        case let .noActivationLayers(method, model):
            return "method \(method) records the activations of the teacher's Conv2d and Linear layers, but the teacher \(model) has none"
        case let .badValue(field, value, expected):
            return "\(field) '\(value)': expected \(expected)"
        }
    }
}

/// A trained network used as a fixed, differentiable function of its inputs: data-free methods
/// optimise images (DeepInversion) or a generator (DAFL) through it.
///
/// Every parameter is frozen (`requiresGradient = false`, so `backward()` accumulates nothing into
/// them) and the network runs in eval mode, but the forward pass is recorded, so gradients reach
/// the input. Feature taps on the input of every `BatchNorm` layer give the batch statistics
/// (per-channel mean and biased variance over N, H, W, as DeepInversion's hook computes them) on
/// the tape, beside the layer's running statistics; a tap on the input of the last `Linear` gives
/// the penultimate features (DAFL's `features_T`); taps on the output of every `Conv2d` and
/// `Linear` give the layer activations whose statistics Lopes et al.'s metadata records.
public final class FrozenTeacher {
    /// The per-channel statistics of one batch at one BatchNorm layer's input.
    public struct BatchNormStatistics {
        public let path: String
        /// Batch mean and biased variance [C], on the tape.
        public let mean: Tensor, variance: Tensor
        /// The layer's running statistics [C] (constants).
        public let runningMean: Tensor, runningVariance: Tensor
    }

    /// What one forward pass gives.
    public struct Output {
        public let logits: Tensor
        public let batchNorm: [BatchNormStatistics]
        /// The input of the last Linear layer [N, F] (nil when the model has none).
        public let penultimate: Tensor?
        /// The output of every Conv2d and Linear layer, in `activationPaths` order, on the tape.
        public let activations: [Tensor]
    }

    public let model: Module
    public let spec: String
    public let classCount: Int
    /// The BatchNorm layers by dotted path, in traversal order (nearest the input first).
    public let batchNormPaths: [String]
    /// The path of the last Linear layer (its input is the penultimate feature), if any.
    public let headPath: String?
    /// The Conv2d and Linear layers by dotted path, in traversal order (nearest the input first).
    public let activationPaths: [String]
    private let capture: FeatureCapture
    private let layers: [String: BatchNorm]

    /// Freezes `model` (permanently: it is the teacher) and attaches the taps.
    public init(_ model: Module, spec: String, classCount: Int) throws {
        self.model = model; self.spec = spec; self.classCount = classCount
        model.eval()
        for p in model.parameters { p.requiresGradient = false }
        var bns: [(String, BatchNorm)] = []
        var head: String?
        var weighted: [String] = []
        for (path, m) in model.namedModules() {
            if let bn = m as? BatchNorm { bns.append((path, bn)) }
            if m is Linear { head = path }
            if m is Linear || m is Conv2d { weighted.append(path) }
        }
        activationPaths = weighted
        batchNormPaths = bns.map(\.0)
        layers = Dictionary(uniqueKeysWithValues: bns)
        headPath = head
        var taps = bns.map { FeatureTap(path: $0.0, point: .input) }
        if let head { taps.append(FeatureTap(path: head, point: .input)) }
        taps += weighted.map { FeatureTap(path: $0, point: .output) }
        capture = try model.attachTaps(taps)
    }

    /// Throws `DataFreeError.noBatchNorm` unless the teacher has a BatchNorm layer.
    public func requireBatchNorm(method: String) throws {
        if batchNormPaths.isEmpty { throw DataFreeError.noBatchNorm(method: method, model: spec) }
    }

    /// Throws `DataFreeError.noActivationLayers` unless the teacher has a Conv2d or Linear layer.
    public func requireActivationLayers(method: String) throws {
        if activationPaths.isEmpty { throw DataFreeError.noActivationLayers(method: method, model: spec) }
    }

    /// Throws `DataFreeError.noPenultimate` unless the teacher has a final Linear layer.
    public func requirePenultimate(method: String) throws {
        if headPath == nil { throw DataFreeError.noPenultimate(method: method, model: spec) }
    }

    /// Runs the teacher on `x` [N, C, H, W] with the graph recorded (gradients reach `x`).
    public func callAsFunction(_ x: Tensor) -> Output {
        capture.clear()
        defer { capture.clear() }
        let logits = model(x)
        var stats: [BatchNormStatistics] = []
        for path in batchNormPaths {
            guard let f = capture[FeatureTap(path: path, point: .input)], let bn = layers[path] else { continue }
            let axes = f.rank == 4 ? [0, 2, 3] : [0]
            stats.append(BatchNormStatistics(path: path, mean: f.mean(alongAxes: axes), variance: f.variance(alongAxes: axes),
                                             runningMean: bn.runningMean.value, runningVariance: bn.runningVar.value))
        }
        let pen = headPath.flatMap { capture[FeatureTap(path: $0, point: .input)] }
        let acts = activationPaths.compactMap { capture[FeatureTap(path: $0, point: .output)] }
        return Output(logits: logits, batchNorm: stats, penultimate: pen, activations: acts)
    }

    /// Logits without recording (evaluation, labelling the transfer set).
    public func logits(_ x: Tensor) -> Tensor { withoutGradients { self(x).logits } }
}
