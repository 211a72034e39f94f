import DistillCore
import DistillData
import DistillNN

/// Running a model over a whole data set, in eval mode and without gradients.
public enum Evaluation {
    /// Logits [N, classes] of `model` on every example of `dataset`, in order, computed in
    /// batches; `transform` (e.g. normalisation) is applied to each batch first. The model's
    /// train/eval flags are restored afterwards.
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
        return parts.count == 1 ? parts[0] : Tensor.concatenated(parts, alongAxis: 0)
    }

    /// The normalisation steps of an augmentation: what evaluation data must also receive.
    public static func evaluationTransform(of augmentation: Augmentation?) -> Augmentation? {
        guard let a = augmentation else { return nil }
        let steps = a.steps.filter { if case .normalize = $0 { return true } else { return false } }
        return steps.isEmpty ? nil : Augmentation(steps)
    }
}
