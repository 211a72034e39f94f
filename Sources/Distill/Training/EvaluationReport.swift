import DistillCore
import DistillNN
import Foundation

/// What `distill eval` reports for a model on a split.
public struct EvaluationReport: Codable, Equatable, Sendable {
    public var accuracy: Double
    public var errors: Int
    public var count: Int
    public var nll: Double
    /// Expected calibration error, 15 equal-width confidence bins (Guo et al., ICML 2017).
    public var ece: Double
    /// Top-5 accuracy, with more than five classes (absent from the JSON otherwise).
    public var top5: Double?

    public init(logits: Tensor, labels: IntTensor) {
        let s = ClassificationSummary(logits: logits, labels: labels)
        accuracy = s.accuracy
        top5 = s.top5
        count = s.count
        errors = s.count - Int((s.accuracy * Double(s.count)).rounded())
        nll = s.nll
        ece = Metrics.expectedCalibrationError(logits: logits, labels: labels)
    }
}

/// Summary of a finished training run, written as `metrics.json`. The test numbers are the last
/// epoch's; with a validation split `best` adds the epoch chosen on validation and its test numbers.
public struct TrainingSummary: Codable, Sendable, CustomStringConvertible {
    public var model: String
    public var data: String
    public var parameters: Int
    public var epochs: Int
    public var seconds: Double
    public var finalTrainLoss: Double
    public var finalTrainAccuracy: Double
    public var testAccuracy: Double
    public var testErrors: Int
    public var testNLL: Double
    /// The last epoch's top-5 test accuracy (more than five classes).
    public var testTop5: Double?
    /// The best epoch on the validation split (runs with `val_split`).
    public var best: BestEpoch?
    public var history: [EpochRecord]

    public var description: String {
        var text = String(format: "%@ on %@: test accuracy %.4f (%d errors), test NLL %.4f, train loss %.4f, %d epochs in %.1f s",
                          model, data, testAccuracy, testErrors, testNLL, finalTrainLoss, epochs, seconds)
        if let b = best {
            text += String(format: "; best epoch on validation %d (val accuracy %.4f): test accuracy %.4f, test NLL %.4f; last epoch %d: val accuracy %.4f",
                           b.epoch, b.valAccuracy, b.testAccuracy, b.testNLL, epochs, history.last?.valAccuracy ?? .nan)
        }
        return text
    }

    /// Writes `metrics.json` for a finished run and returns the summary.
    @discardableResult
    public static func write(history: [EpochRecord], config: TrainingConfig, model: Module, to dir: URL, testCount: Int,
                             best: BestEpoch? = nil) throws -> TrainingSummary {
        let last = history.last
        let s = TrainingSummary(model: config.model, data: config.data, parameters: model.parameterCount(), epochs: history.count,
                                seconds: last?.seconds ?? 0, finalTrainLoss: last?.trainLoss ?? .nan,
                                finalTrainAccuracy: last?.trainAccuracy ?? .nan, testAccuracy: last?.testAccuracy ?? .nan,
                                testErrors: Int(((1 - (last?.testAccuracy ?? 1)) * Double(testCount)).rounded()),
                                testNLL: last?.testNLL ?? .nan, testTop5: last?.testTop5, best: best, history: history)
        try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(s).write(to: dir.appendingPathComponent("metrics.json"), options: .atomic)
        return s
    }
}
