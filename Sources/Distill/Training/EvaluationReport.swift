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
        ece = Calibration.expectedCalibrationError(logits: logits, labels: labels)
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
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try enc.encode(s).write(to: dir.appendingPathComponent("metrics.json"), options: .atomic)
        return s
    }
}

/// Calibration measures.
public enum Calibration {
    /// Expected calibration error: Σ_b (|B_b| / n)·|acc(B_b) − conf(B_b)| over `bins` equal-width
    /// bins of the top-1 confidence (Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern
    /// Neural Networks", ICML 2017; 15 bins as they used). Rows labelled −1 are skipped.
    public static func expectedCalibrationError(logits: Tensor, labels: IntTensor, bins: Int = 15) -> Double {
        let p = logits.softmax(alongAxis: 1)
        let c = logits.shape[1]
        var conf = [Double](repeating: 0, count: bins), hit = [Double](repeating: 0, count: bins), size = [Int](repeating: 0, count: bins)
        var n = 0
        p.withUnsafeBufferPointer { q in
            for (i, y) in labels.scalars.enumerated() where y >= 0 {
                var best = 0
                for j in 1..<c where q[i * c + j] > q[i * c + best] { best = j }
                let cf = Double(q[i * c + best])
                // bin b holds confidences in (b/bins, (b+1)/bins]
                let b = min(max(Int((cf * Double(bins)).rounded(.up)) - 1, 0), bins - 1)
                conf[b] += cf; hit[b] += best == y ? 1 : 0; size[b] += 1; n += 1
            }
        }
        guard n > 0 else { return 0 }
        var e = 0.0
        for b in 0..<bins where size[b] > 0 { e += abs(hit[b] - conf[b]) / Double(n) }
        return e
    }
}
