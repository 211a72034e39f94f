import DistillCore
import DistillNN

/// Everything a distillation loss may look at in one training step.
///
/// Student tensors are on the tape (gradients flow into the student and its adapters); teacher
/// tensors were computed under `withoutGradients` and are constants. `studentFeatures[i]` and
/// `teacherFeatures[i]` are the captures of the loss's `studentTaps[i]` / `teacherTaps[i]`.
public struct DistillationBatch {
    public var studentLogits: Tensor
    public var teacherLogits: Tensor
    public var studentFeatures: [Tensor]
    public var teacherFeatures: [Tensor]
    /// Ground-truth labels; `Dataset.unlabelledMarker` (−1) on unlabelled transfer data.
    public var labels: IntTensor
    /// Dataset row of each example (memory banks, cached teacher outputs).
    public var indices: [Int]
    /// The training epoch this step belongs to (0-based; warm-ups such as DKD's), nil outside a
    /// training loop.
    public var epoch: Int?

    public init(studentLogits: Tensor, teacherLogits: Tensor, studentFeatures: [Tensor] = [], teacherFeatures: [Tensor] = [],
                labels: IntTensor, indices: [Int] = [], epoch: Int? = nil) {
        self.studentLogits = studentLogits; self.teacherLogits = teacherLogits
        self.studentFeatures = studentFeatures; self.teacherFeatures = teacherFeatures
        self.labels = labels; self.indices = indices; self.epoch = epoch
    }
}

/// A distillation loss: student features, teacher features and labels → a scalar.
///
/// Contract (DESIGN.md): a loss declares the feature taps it needs on each side; `prepare` is
/// called once, when the experiment is loaded, with the shapes of those features for one probe
/// batch, so it can build its adapters and refuse shapes it cannot bridge *before* training
/// (throwing `DistillationError.incompatibleShapes`, which names both shapes and tap paths).
/// Adapters (regressors, connectors, embeddings) are student-side modules trained with the
/// student and left out of the exported student.
public protocol DistillationLoss: AnyObject {
    /// Registry name, e.g. "hinton", "fitnet", "rkd".
    var name: String { get }
    var studentTaps: [FeatureTap] { get }
    var teacherTaps: [FeatureTap] { get }
    /// Trainable student-side modules of this loss (nil when it has none).
    var adapters: Module? { get }
    /// Builds adapters and validates shapes; called once before training with probe-batch shapes.
    func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws
    /// The loss for one batch, a scalar on the tape.
    func loss(_ batch: DistillationBatch) -> Tensor
}

extension DistillationLoss {
    public var studentTaps: [FeatureTap] { [] }
    public var teacherTaps: [FeatureTap] { [] }
    public var adapters: Module? { nil }
    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {}
}

/// A term that is the task loss (cross-entropy with the labels), not a distillation loss: the
/// DOT optimizer (`DistillationOrientedTrainer`) keeps the momentum of its gradient apart from
/// that of every other term. Methods that mix both in one term (hinton with α < 1) count as
/// distillation.
public protocol TaskLossTerm: DistillationLoss {}

/// A loss that draws what it learned for the report (the all-pairs MI term's λ graph): each
/// figure is written as `NAME_seed-S_term-K.svg`.
public protocol FigureDrawingLoss: DistillationLoss {
    func figures(title: String) -> [(name: String, svg: String)]
}

/// Errors of distillation setup, each naming what is wrong.
public enum DistillationError: Error, CustomStringConvertible, Equatable {
    case unknownMethod(String, known: [String])
    case badOption(method: String, option: String, detail: String)
    case incompatibleShapes(method: String, studentTap: String, studentShape: [Int], teacherTap: String, teacherShape: [Int], detail: String)
    case classCountMismatch(teacher: Int, student: Int)
    case invalidObjective(String)

    public var description: String {
        switch self {
        case let .unknownMethod(n, known): return "unknown distillation method '\(n)'; known methods: \(known.joined(separator: ", "))"
        case let .badOption(m, o, d): return "method '\(m)': option '\(o)' \(d)"
        case let .incompatibleShapes(m, st, ss, tt, ts, d):
            return "method '\(m)': student tap '\(st)' of shape \(Shape.describe(ss)) and teacher tap '\(tt)' of shape \(Shape.describe(ts)) are incompatible: \(d)"
        case let .classCountMismatch(t, s): return "the teacher predicts \(t) classes but the student predicts \(s)"
        case let .invalidObjective(d): return "invalid objective: \(d)"
        }
    }
}
