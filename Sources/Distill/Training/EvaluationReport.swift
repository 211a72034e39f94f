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

    public init(logits: Tensor, labels: IntTensor) {
        let s = ClassificationSummary(logits: logits, labels: labels)
        accuracy = s.accuracy
        count = s.count
        errors = s.count - Int((s.accuracy * Double(s.count)).rounded())
        nll = s.nll
        ece = Metrics.expectedCalibrationError(logits: logits, labels: labels)
    }
}

/// Summary of a finished training run, written as `metrics.json`.
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
    public var history: [EpochRecord]

    public var description: String {
        String(format: "%@ on %@: test accuracy %.4f (%d errors), test NLL %.4f, train loss %.4f, %d epochs in %.1f s",
               model, data, testAccuracy, testErrors, testNLL, finalTrainLoss, epochs, seconds)
    }

    /// Writes `metrics.json` for a finished run and returns the summary.
    @discardableResult
    public static func write(history: [EpochRecord], config: TrainingConfig, model: Module, to dir: URL, testCount: Int) throws -> TrainingSummary {
        let last = history.last
        let s = TrainingSummary(model: config.model, data: config.data, parameters: model.parameterCount(), epochs: history.count,
                                seconds: last?.seconds ?? 0, finalTrainLoss: last?.trainLoss ?? .nan,
                                finalTrainAccuracy: last?.trainAccuracy ?? .nan, testAccuracy: last?.testAccuracy ?? .nan,
                                testErrors: Int(((1 - (last?.testAccuracy ?? 1)) * Double(testCount)).rounded()),
                                testNLL: last?.testNLL ?? .nan, history: history)
        try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(s).write(to: dir.appendingPathComponent("metrics.json"), options: .atomic)
        return s
    }
}
