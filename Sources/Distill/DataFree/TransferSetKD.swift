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
public struct TransferSetKD: Codable, Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 128
    public var learningRate: Float = 1e-3
    public var temperature: Float = 4
    public var seed: UInt64 = 0
    public init() {}

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
        return trainSteps(student, rows: n) { rows in
            let x = images.indexSelect(alongAxis: 0, indices: IntTensor(rows))
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
        trainSteps(student, rows: dataset.count) { rows in
            crossEntropy(logits: student(dataset.images.indexSelect(alongAxis: 0, indices: IntTensor(rows))),
                         labels: IntTensor(rows.map { dataset.labels.scalars[$0] }))
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
