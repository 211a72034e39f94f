import DistillCore
import DistillData
import DistillNN

/// Knowledge distillation of a student on a transfer set of images that carry no labels (the
/// images recovered by a data-free method, or Gaussian noise for the reference row): Hinton's soft
/// term alone (α = 1, as every data-free paper distils),
///
///     L = T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)),   batch-mean (DesignConventions: summed over classes)
///
/// with the teacher frozen and without gradients, Adam on the student, shuffled minibatches.
/// Defaults: T = 4 (the project's `hinton`), Adam lr 1e-3.
///
/// `augmentation` (nil: none) is a spec of jitter / crop / flip steps (`Augmentation.parse`)
/// applied to every minibatch before the student and the teacher see it, and to the labelled
/// minibatches of `supervised`, so the reference rows train on the same views. Its draws come from
/// a generator of their own, so the rows drawn are those of the run without augmentation.
/// DeepInversion distils its CIFAR students with random crops and flips; a transfer set of a few
/// thousand images overfits without them.
public struct TransferSetKD: Codable, Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 128
    public var learningRate: Float = 1e-3
    public var temperature: Float = 4
    public var seed: UInt64 = 0
    public var augmentation: String?
    public init() {}

    /// The steps `augmentation` may hold: geometric ones that keep labels and teacher targets
    /// meaningful per image (mixup would need blended targets, normalisation belongs to the model).
    public static let augmentationSteps = ["jitter", "crop", "flip"]

    /// The parsed augmentation; throws naming the spec, or a step other than jitter, crop, flip.
    public func parsedAugmentation(imageShape: [Int]) throws -> Augmentation {
        let a = try Augmentation.parse(augmentation ?? "")
        for step in a.steps {
            switch step {
            case .jitter, .crop, .flip: continue
            default: throw DataError.badAugmentationSpec(spec: augmentation ?? "", detail: "KD on a transfer set takes only \(Self.augmentationSteps.joined(separator: ", ")) steps")
            }
        }
        if a.steps.contains(where: { if case .crop(_, .some) = $0 { return true }; return false }) {
            throw DataError.badAugmentationSpec(spec: augmentation ?? "", detail: "a crop must keep the image size (crop:PADDING), the models take the data set's shape")
        }
        try a.validate(imageShape: imageShape)
        return a
    }

    /// The soft Hinton term for student and teacher logits [N, K].
    public static func softLoss(student zs: Tensor, teacher zt: Tensor, temperature t: Float) -> Tensor {
        klDivergence(logQ: (zs / t).logSoftmax(alongAxis: 1), p: (zt.detached() / t).softmax(alongAxis: 1)) * (t * t)
    }

    /// Trains `student` for `steps` minibatches drawn from `images` [N, C, H, W]; returns the
    /// loss of the last step.
    @discardableResult
    public func distil(student: Module, teacher: FrozenTeacher, images: Tensor) -> Float {
        let n = images.shape[0]
        precondition(n > 0, "TransferSetKD: an empty transfer set")
        let augment = augmenter(imageShape: Array(images.shape.dropFirst()))
        return trainSteps(student, rows: n) { rows in
            let x = augment(images.indexSelect(alongAxis: 0, indices: IntTensor(rows)))
            return Self.softLoss(student: student(x), teacher: teacher.logits(x), temperature: temperature)
        }
    }

    /// Top-1 accuracy of `model` on `dataset` (eval mode).
    public static func accuracy(_ model: Module, on dataset: Dataset) throws -> Double {
        model.eval()
        let logits = try Evaluation.logits(of: model, on: dataset)
        let pred = logits.argmax(alongAxis: 1).scalars
        let hits = zip(pred, dataset.labels.scalars).filter { $0 == $1 }.count
        return Double(hits) / Double(max(dataset.count, 1))
    }
}

extension TransferSetKD {
    /// The "student alone" reference row: cross-entropy on a labelled data set with the same
    /// steps, batch size and Adam learning rate.
    public func supervised(student: Module, on dataset: Dataset) {
        let augment = augmenter(imageShape: Array(dataset.images.shape.dropFirst()))
        trainSteps(student, rows: dataset.count) { rows in
            crossEntropy(logits: student(augment(dataset.images.indexSelect(alongAxis: 0, indices: IntTensor(rows)))),
                         labels: IntTensor(rows.map { dataset.labels.scalars[$0] }))
        }
    }

    /// A function that augments one minibatch [B, C, H, W], drawing from its own seeded generator
    /// (the identity without augmentation). The spec was checked by `parsedAugmentation` when
    /// the settings were validated; an unchecked bad spec stops here with its message.
    private func augmenter(imageShape: [Int]) -> (Tensor) -> Tensor {
        let a: Augmentation
        do { a = try parsedAugmentation(imageShape: imageShape) } catch { preconditionFailure("TransferSetKD: \(error)") }
        guard !a.steps.isEmpty else { return { $0 } }
        var g = SeededGenerator(seed: seed &+ 0x6175_6720)
        return { x in
            var b = Batch(images: x, labels: IntTensor([Int](repeating: 0, count: x.shape[0])), indices: [])
            a.apply(to: &b, using: &g)
            return b.images
        }
    }

    /// `steps` Adam steps of `student` on minibatches of `rows` examples drawn without
    /// replacement (a fresh seeded permutation each pass); returns the last step's loss.
    @discardableResult
    private func trainSteps(_ student: Module, rows n: Int, loss: ([Int]) -> Tensor) -> Float {
        let params = student.trainableParameters()
        let opt = Adam(params, learningRate: learningRate)
        var g = SeededGenerator(seed: seed)
        var order = g.permutation(n), cursor = 0
        var last: Float = .nan
        student.train()
        for _ in 0..<steps {
            var rows: [Int] = []
            for _ in 0..<min(batchSize, n) {
                if cursor == n { order = g.permutation(n); cursor = 0 }
                rows.append(order[cursor]); cursor += 1
            }
            let l = loss(rows)
            last = l.item
            for (_, p) in params { p.zeroGradient() }
            l.backward()
            opt.step()
        }
        student.eval()
        return last
    }
}
