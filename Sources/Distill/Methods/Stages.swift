import DistillCore
import DistillNN

/// One pre-training stage that a multi-stage distillation method runs before the main training.
///
/// Several feature methods are trained in stages in their papers or reference code:
///
/// | method | stage | trains | loss | source |
/// |---|---|---|---|---|
/// | FitNets | `fitnet-hint` | student up to the hint layer + regressor | hint MSE | Romero et al. 2015, §2.2 |
/// | FT | `ft-paraphraser` | paraphraser alone (student not run) | reconstruction MSE on teacher features | Kim et al. 2018, §3.1 |
/// | AB | `ab-init` | student up to the tapped layers + connectors | AB hinge | Heo et al. 2019, §3.3; RepDistiller `init` |
/// | FSP | `fsp-init` | student up to the tapped layers | FSP L2 | Yim et al. 2017, §3.3; RepDistiller `init` |
///
/// How a trainer runs a stage (it owns the loop; nothing here runs it):
/// 1. Call the method's `prepare` first (the stage's `modules` and `loss` exist only after it).
/// 2. Attach the method's `studentTaps` / `teacherTaps` exactly as for the main stage; run the
///    teacher in eval mode under `withoutGradients` when `needsTeacher`, the student in training
///    mode when `needsStudent` (otherwise the batch's student fields may hold anything, e.g. the
///    teacher logits and no student features).
/// 3. Optimise, for `epochs` epochs, the parameters of `modules` plus the student parameters
///    chosen by `student`; put `modules` in training mode.
///    - `.frozen`: no student parameter trains.
///    - `.upToTaps`: the student parameters that feed the method's student taps. The stage loss
///      reads only tapped features, so parameters past the last tap get no gradient: hand the
///      optimizer the student's trainable parameters and skip those whose gradient is nil after
///      `backward()` (do not let weight decay or momentum move them).
///    - `.all`: every trainable student parameter.
/// 4. Minimise `loss(batch)` (a scalar on the tape) alone; labels are not used by these stages.
/// 5. Afterwards the main stage trains the student with the experiment's objective; modules a
///    stage trained that are not in the method's `adapters` (the FT paraphraser) stay frozen.
public struct PreTrainingStage {
    /// Which student parameters a stage trains.
    public enum StudentScope: String, Equatable, Sendable {
        case frozen, upToTaps, all
    }

    /// Stage name for logs, e.g. `fitnet-hint`.
    public let name: String
    /// Number of epochs over the training set (method option, see each method).
    public let epochs: Int
    public let student: StudentScope
    /// Loss-owned modules this stage trains (regressors, connectors, the paraphraser).
    public let modules: [Module]
    /// Whether the student must run (false: the batch's student fields are ignored).
    public let needsStudent: Bool
    /// Whether the teacher must run (its tapped features are read).
    public let needsTeacher: Bool
    /// The stage objective for one batch.
    public let loss: (DistillationBatch) -> Tensor

    public init(name: String, epochs: Int, student: StudentScope, modules: [Module], needsStudent: Bool = true,
                needsTeacher: Bool = true, loss: @escaping (DistillationBatch) -> Tensor) {
        self.name = name; self.epochs = epochs; self.student = student; self.modules = modules
        self.needsStudent = needsStudent; self.needsTeacher = needsTeacher; self.loss = loss
    }

    /// All parameters of `modules` (what the optimizer receives besides the student's).
    public var moduleParameters: [Parameter] { modules.flatMap(\.parameters) }
}

/// A distillation loss whose method trains in stages: the trainer runs `preTrainingStages()` in
/// order (after `prepare`, before the main training with the objective), then trains as usual.
/// A stage with `epochs == 0` is skipped.
public protocol MultiStageDistillationLoss: DistillationLoss {
    /// The stages to run before the main training, in order; valid only after `prepare`.
    func preTrainingStages() -> [PreTrainingStage]
}
