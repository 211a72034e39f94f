import DistillCore
import DistillData
import DistillNN

/// Running a model over a whole data set, in eval mode and without gradients.
public enum Evaluation {
    /// Logits [N, classes] of `model` on every example of `dataset`, in order, computed in
    /// batches; `transform` (e.g. normalisation) is applied to each batch first. The model's
    /// train/eval flags are restored afterwards. Throws `EvaluationError.nonFiniteOutputs` when
    /// any logit is NaN or infinite (diverged or corrupted weights): no metric is computed from them.
    public static func logits(of model: Module, on dataset: Dataset, batchSize: Int = 500,
                              transform: Augmentation? = nil) throws -> Tensor {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let loader = try DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false, augmentation: transform)
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

    /// The normalisation steps of an augmentation: what evaluation data must also receive.
    public static func evaluationTransform(of augmentation: Augmentation?) -> Augmentation? {
        guard let a = augmentation else { return nil }
        let steps = a.steps.filter { if case .normalize = $0 { return true } else { return false } }
        return steps.isEmpty ? nil : Augmentation(steps)
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
