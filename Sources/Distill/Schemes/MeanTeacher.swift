import DistillCore
import DistillData
import DistillNN
import Foundation

/// Mean teacher (Tarvainen & Valpola, "Mean teachers are better role models: Weight-averaged
/// consistency targets improve semi-supervised deep learning results", NeurIPS 2017): the teacher
/// is an exponential moving average of the student's weights, updated after *every* step, and
/// the student is trained on the labels it has plus a consistency cost towards the teacher's
/// predictions on every example, labelled or not, under independent input noise.
///
///     L = CE(y, p_s(x + ξ)) over the labelled rows
///       + w(t) · (1/(N·C)) Σᵢ Σ_c (p_s(xᵢ + ξᵢ)[c] − p_t(xᵢ + ξ'ᵢ)[c])²          (MSE of softmaxes)
///     w(t) = w_max · exp(−5 (1 − min(t / t_ramp, 1))²)                             (t in epochs)
///     θ_t ← α θ_t + (1 − α) θ_s after every step,  α = min(1 − 1/(s + 1), α_ramp or α_after)
///
/// with s the number of steps taken so far (this one included). Defaults and where they come
/// from: MSE consistency (the paper found it better than KL, §3); w_max = 100 and the /C of the
/// MSE as in the authors' PyTorch code (`softmax_mse_loss / num_classes`, consistency 100);
/// t_ramp = 5 epochs (their code's `consistency_rampup` for CIFAR-10); α = 0.99 during the
/// ramp-up and 0.999 after (the paper, §3.2 and appendix); Gaussian input noise σ = 0.15 (the
/// paper's SVHN setting), drawn independently for the two views; the teacher runs in training
/// mode without gradients (so dropout also perturbs its view, as in their code). The teacher
/// starts as a copy of the student (a different object: a defect of a peer library makes them
/// one); their code gives it its own initialisation, which α = min(1 − 1/(s+1), ·) overwrites
/// with half the student's weights at the first step anyway.
///
/// Labelled data: each step adds `labelledBatch` rows drawn uniformly (with replacement, from
/// the scheme's own checkpointed generator) from the labelled pool to the loop's batch, which
/// iterates over the whole training set with unlabelled rows marked −1.
///
/// Members: `student` (trained, exported as `student.safetensors`) and `teacher` (the EMA,
/// evaluated and exported as `model.safetensors`, the paper's reported model). Logged terms:
/// `ce`, `consistency` (unweighted) and `consistency_weight`.
public final class MeanTeacher: TrainingScheme {
    public let kind = "mean-teacher"
    public let members: [SchemeMember]
    public let groups: [ParameterGroup]
    public let evaluated = "teacher"
    let student: Module, teacher: Module
    public let labelled: Dataset
    public let options: Options
    let sampler: RandomSource

    public struct Options: Equatable, Sendable {
        public var labelledBatch = 32
        public var consistencyWeight: Float = 100
        public var rampupEpochs: Double = 5
        public var decay: Float = 0.99
        public var decayAfterRampup: Float = 0.999
        public var inputNoise: Float = 0.15
        public var seed: UInt64 = 0
        public init() {}
    }

    public var identity: String { "mean-teacher \(options) labelled \(labelled.count)" }

    /// - Parameters:
    ///   - student: the network trained; the teacher is a copy of it made here.
    ///   - makeTeacher: builds a network of the student's architecture (its weights are replaced).
    ///   - labelled: the labelled pool (labels ≥ 0).
    public init(student: Module, makeTeacher: () throws -> Module, spec: String, labelled: Dataset, config: TrainingConfig,
                options: Options = Options()) throws {
        func bad(_ f: String, _ v: Any, _ e: String) -> TrainingError { .badValue(field: "scheme.\(f)", value: "\(v)", expected: e) }
        guard labelled.count > 0, labelled.labels.scalars.allSatisfy({ $0 >= 0 }) else { throw bad("labels", labelled.count, "a non-empty, fully labelled pool") }
        guard options.labelledBatch >= 1 else { throw bad("labelled_batch", options.labelledBatch, "an integer ≥ 1") }
        guard options.consistencyWeight >= 0, options.consistencyWeight.isFinite else { throw bad("consistency", options.consistencyWeight, "a number ≥ 0") }
        guard options.rampupEpochs >= 0, options.rampupEpochs.isFinite else { throw bad("rampup", options.rampupEpochs, "a number of epochs ≥ 0") }
        for (f, d) in [("ema_decay", options.decay), ("ema_decay_after", options.decayAfterRampup)] where !(d >= 0 && d < 1) {
            throw bad(f, d, "a number in [0, 1)")
        }
        guard options.inputNoise >= 0, options.inputNoise.isFinite else { throw bad("input_noise", options.inputNoise, "a number ≥ 0") }
        let teacher = try makeTeacher()
        guard teacher !== student else { throw bad("teacher", "the student itself", "a separate network") }
        try teacher.loadStateDict(student.stateDict())
        for (_, p) in teacher.namedParameters() { p.requiresGradient = false }
        self.student = student; self.teacher = teacher; self.labelled = labelled; self.options = options
        sampler = RandomSource(seed: options.seed)
        members = [SchemeMember(name: "student", module: student, spec: spec, exported: true),
                   SchemeMember(name: "teacher", module: teacher, spec: spec, exported: true)]
        groups = [ParameterGroup(name: "student", members: [members[0]], config: config)]
    }

    /// w(t): the consistency weight at `epochs` (fractional) into training.
    public func consistencyWeight(atEpoch epochs: Double) -> Float {
        guard options.rampupEpochs > 0 else { return options.consistencyWeight }
        let t = min(max(epochs / options.rampupEpochs, 0), 1)
        return options.consistencyWeight * Float(exp(-5 * (1 - t) * (1 - t)))
    }

    /// α of the EMA update after `steps` steps (this one included), in epoch `epoch`.
    public func emaDecay(steps: Int, epoch: Double) -> Float {
        let cap = epoch < options.rampupEpochs ? options.decay : options.decayAfterRampup
        return min(1 - 1 / Float(steps + 1), cap)
    }

    func noisy(_ x: Tensor) -> Tensor {
        guard options.inputNoise > 0 else { return x }
        return x + Tensor.normal(x.shape, std: options.inputNoise, using: &sampler.generator)
    }

    public func step(_ batch: Batch, context: StepContext, updater: StepUpdater) throws -> StepOutput {
        let rows = (0..<options.labelledBatch).map { _ in sampler.generator.nextInt(below: labelled.count) }
        let extra = labelled.subset(rows)
        let images = Tensor.concatenated([batch.images, extra.images], alongAxis: 0)
        let labels = IntTensor(batch.labels.scalars + extra.labels.scalars)
        let xs = noisy(images), xt = noisy(images)
        let ls = student(xs)
        let pt = withoutGradients { teacher(xt).softmax(alongAxis: 1) }
        let ce = ResponseTerms.labelledCrossEntropy(ls, labels: labels)
        let diff = ls.softmax(alongAxis: 1) - pt
        let consistency = (diff * diff).mean()
        let epoch = Double(context.epoch) + Double(context.batch) / Double(max(context.stepsPerEpoch, 1))
        let w = consistencyWeight(atEpoch: epoch)
        let loss = ce + consistency * w
        let value = loss.item
        let terms: [(name: String, value: Float)] = [("ce", ce.item), ("consistency", consistency.item), ("consistency_weight", w)]
        guard value.isFinite else { return StepOutput(loss: value, logits: nil, terms: terms) }
        try updater.update(groups[0], minimising: loss, context: context)
        return StepOutput(loss: value, logits: ls.detached().slice(axis: 0, start: 0, length: batch.labels.count), terms: terms)
    }

    /// θ_t ← α θ_t + (1 − α) θ_s, after every step.
    public func afterUpdate(context: StepContext) throws {
        let epoch = Double(context.epoch) + Double(context.batch + 1) / Double(max(context.stepsPerEpoch, 1))
        let a = emaDecay(steps: context.step + 1, epoch: epoch)
        let source = Dictionary(uniqueKeysWithValues: student.namedParameters().map { ($0.path, $0.parameter) })
        withoutGradients {
            for (path, p) in teacher.namedParameters() {
                guard let s = source[path] else { continue }
                p.value = p.value * a + s.value * (1 - a)
            }
        }
    }

    public var randomSources: [String: RandomStateOwner] { ["sampler": sampler] }
}
