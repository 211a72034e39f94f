import DistillCore
import DistillData
import DistillNN

/// Running a model over a whole data set, in eval mode and without gradients.
public enum Evaluation {
    /// Logits [N, classes] of `model` on every example of `dataset`, in order, computed in
    /// batches (the model applies its own input normalisation). The model's
    /// train/eval flags are restored afterwards. Throws `EvaluationError.nonFiniteOutputs` when
    /// any logit is NaN or infinite (diverged or corrupted weights): no metric is computed from them.
    public static func logits(of model: Module, on dataset: Dataset, batchSize: Int = 500) throws -> Tensor {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let loader = try DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false)
        var parts: [Tensor] = []
        parts.reserveCapacity(loader.batchesPerEpoch)
        withoutGradients {
            for batch in loader.batches(epoch: 0) { parts.append(model(batch.images)) }
        }
        let logits = parts.count == 1 ? parts[0] : Tensor.concatenated(parts, alongAxis: 0)
        try checkFinite(logits)
        return logits
    }

    /// Throws `EvaluationError.nonFiniteOutputs` naming how many rows of `logits` [N, C] hold a
    /// NaN or an infinity.
    public static func checkFinite(_ logits: Tensor) throws {
        guard logits.rank == 2, logits.shape[1] > 0 else { return }
        let c = logits.shape[1]
        var bad = 0
        logits.withUnsafeBufferPointer { p in
            for i in 0..<logits.shape[0] where !(0..<c).allSatisfy({ p[i * c + $0].isFinite }) { bad += 1 }
        }
        if bad > 0 { throw EvaluationError.nonFiniteOutputs(rows: bad, of: logits.shape[0]) }
    }

    /// Splits a training augmentation into the steps the data loader runs on pixels in [0, 1]
    /// and the normalisation the model takes over (`Module.inputNormalization`), so that the
    /// model applies it wherever it runs and its file records it. Several normalize steps compose
    /// into one ((x − m₁)/s₁ − m₂)/s₂ = (x − (m₁ + m₂s₁))/(s₁s₂). Crop and jitter padding then
    /// fills with black (0) before the normalisation, as torchvision's RandomCrop before Normalize.
    public static func splitNormalization(_ augmentation: Augmentation?, channels: Int) throws -> (Augmentation?, InputNormalization?) {
        guard let a = augmentation else { return (nil, nil) }
        var mean: [Float]? = nil, std: [Float]? = nil
        var rest: [Augmentation.Step] = []
        for step in a.steps {
            guard case let .normalize(m, s) = step else { rest.append(step); continue }
            guard m.count == s.count, m.count == 1 || m.count == channels else {
                throw TrainingError.badValue(field: "augmentation", value: "\(a)", expected: "a normalize step with 1 or \(channels) means and as many stds (the images have \(channels) channels)")
            }
            let k = max(m.count, mean?.count ?? 1)
            func at(_ v: [Float], _ c: Int) -> Float { v.count == 1 ? v[0] : v[c] }
            if let m0 = mean, let s0 = std {
                mean = (0..<k).map { at(m0, $0) + at(m, $0) * at(s0, $0) }
                std = (0..<k).map { at(s0, $0) * at(s, $0) }
            } else {
                (mean, std) = (m, s)
            }
        }
        let normalization: InputNormalization?
        do { normalization = try mean.map { try InputNormalization(mean: $0, std: std!) } } catch {
            throw TrainingError.badValue(field: "augmentation", value: "\(a)", expected: "\(error)")
        }
        return (rest.isEmpty ? nil : Augmentation(rest), normalization)
    }
}

/// Why a model could not be evaluated.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// The model's outputs hold NaN or infinite values on `rows` of `of` examples.
    case nonFiniteOutputs(rows: Int, of: Int)

    public var description: String {
        switch self {
        case let .nonFiniteOutputs(rows, n):
            return "the model's outputs are NaN or infinite on \(rows) of \(n) examples (its weights diverged or are not finite); no metric was computed"
        }
    }
}

/// Accuracy, top-5 accuracy (more than five classes only) and mean negative log-likelihood of
/// logits against labels (rows labelled −1 skipped).
public struct ClassificationSummary: Codable, Equatable, Sendable {
    public var accuracy: Double
    public var nll: Double
    public var count: Int
    /// Top-5 accuracy (`Metrics.topKAccuracy`); nil with five classes or fewer, where it is 1.
    public var top5: Double?

    public init(logits: Tensor, labels: IntTensor) {
        accuracy = Metrics.accuracy(logits: logits, labels: labels)
        nll = Metrics.negativeLogLikelihood(logits: logits, labels: labels)
        count = labels.scalars.filter { $0 >= 0 }.count
        top5 = logits.rank == 2 && logits.shape[1] > 5 ? Metrics.topKAccuracy(logits: logits, labels: labels, k: 5) : nil
    }
}
