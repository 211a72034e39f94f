import DistillCore
import DistillData
import DistillNN

/// One network trained with cross-entropy on the batch labels (with mixup, the blended
/// cross-entropy λ·CE(y) + (1 − λ)·CE(y_partner); with `label_smoothing` ε, PyTorch's smoothed
/// cross-entropy): teachers and students trained alone.
/// Member `model`; one parameter group with the optimizer of the training config.
public final class SupervisedScheme: TrainingScheme {
    public let kind = "supervised"
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public let evaluated = "model"
    public let identity = ""
    let model: Module
    let smoothing: Float

    public init(model: Module, spec: String, config: TrainingConfig) {
        self.model = model
        smoothing = config.labelSmoothing ?? 0
        members = [SchemeMember(name: "model", module: model, spec: spec, exported: true)]
        groups = [ParameterGroup(name: "model", members: members, config: config)]
    }

    /// Cross-entropy with the batch labels (label smoothing ε); with mixup,
    /// λ·CE(y) + (1 − λ)·CE(y_partner).
    public static func supervisedLoss(logits: Tensor, batch: Batch, smoothing: Float = 0) -> Tensor {
        let ce = crossEntropy(logits: logits, labels: batch.labels, labelSmoothing: smoothing)
        guard let mix = batch.mixing else { return ce }
        return ce * mix.lambda + crossEntropy(logits: logits, labels: mix.partnerLabels, labelSmoothing: smoothing) * (1 - mix.lambda)
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        let logits = model(batch.images)
        let loss = SupervisedScheme.supervisedLoss(logits: logits, batch: batch, smoothing: smoothing)
        let value = loss.item
        guard value.isFinite else { return StepOutput(loss: value, logits: nil) }
        try updater.update(groups[0], minimising: loss, context: context)
        return StepOutput(loss: value, logits: logits, terms: [("ce", value)])
    }
}
