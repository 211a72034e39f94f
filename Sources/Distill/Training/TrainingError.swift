import DistillCore

/// Errors of a training run, each naming the field, file or value at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case badValue(field: String, value: String, expected: String)
    case nonFiniteLoss(epoch: Int, step: Int, value: Float, checkpoint: String?)
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
            return "the loss became \(value) at epoch \(epoch + 1), step \(step); training stopped" +
                (ckpt.map { ". The last good checkpoint is kept at \($0)" } ?? " before any checkpoint was written")
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
}
