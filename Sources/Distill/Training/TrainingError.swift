import DistillCore

/// Errors of a training run, each naming the field, file or value at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case badValue(field: String, value: String, expected: String)
    case nonFiniteLoss(epoch: Int, step: Int, value: Float, checkpoint: String?)
    /// Evaluation after an epoch met NaN or infinite outputs (the loss was still finite).
    case nonFiniteOutputs(epoch: Int, detail: String, checkpoint: String?)
    /// A parameter became NaN or infinite; found before it could be checkpointed.
    case nonFiniteWeights(epoch: Int, parameter: String, checkpoint: String?)
    case checkpointMismatch(path: String, detail: String)
    case runDirectory(path: String, detail: String)
    case failedVariants([String])
    /// A run written by another `ResultFormat.version` (its numbers may mean something else).
    case staleRun(path: String, found: Int, expected: Int)

    public var description: String {
        switch self {
        case let .badValue(field, value, expected):
            return "\(field): '\(value)' is not valid; expected \(expected)"
        case let .nonFiniteLoss(epoch, step, value, ckpt):
            return "the loss became \(value) at epoch \(epoch + 1), step \(step); training stopped" + Self.kept(ckpt)
        case let .nonFiniteOutputs(epoch, detail, ckpt):
            return "evaluation after epoch \(epoch + 1): \(detail); training stopped (lower the learning rate or clip gradients)" + Self.kept(ckpt)
        case let .nonFiniteWeights(epoch, parameter, ckpt):
            return "parameter \(parameter) became NaN or infinite in epoch \(epoch + 1); training stopped (lower the learning rate or clip gradients)" + Self.kept(ckpt)
        case let .checkpointMismatch(path, detail):
            return "\(path): \(detail)"
        case let .runDirectory(path, detail):
            return "\(path): \(detail)"
        case let .staleRun(path, found, expected):
            return "\(path): was written by result format \(found), this build writes format \(expected) (a loss, metric or training step changed its numbers since); remove the directory or choose another output directory"
        case let .failedVariants(names):
            return "variants \(names.joined(separator: ", ")) failed (the others finished; see report.md)"
        }
    }

    static func kept(_ checkpoint: String?) -> String {
        checkpoint.map { ". The last good checkpoint is kept at \($0)" } ?? " before any checkpoint was written"
    }
}
