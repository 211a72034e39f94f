import Foundation
import DistillCore

/// Streams classification and fidelity metrics over a data set, one batch at a time, keeping
/// only running sums (Double) and never the logits.
///
/// Per batch the trainer calls `add(studentLogits:teacherLogits:labels:)`; `report(split:)`
/// then gives accuracy, mean NLL and ECE for the student (and the teacher when its logits were
/// given), top-1 agreement and predictive KL(teacher ‖ student). Rows labelled −1
/// (`Dataset.unlabelledMarker`) count for agreement and KL only. Everything is computed from
/// the logits in Double (log-softmax with the row maximum subtracted).
public struct FidelityAccumulator {
    /// Number of equal-width confidence bins of the ECE (default 15, Guo et al. 2017).
    public let bins: Int
    /// Rows seen, and rows that also had teacher logits.
    public private(set) var examples = 0, pairedExamples = 0
    var student: CalibrationTally
    var teacher: CalibrationTally
    var agreeing = 0
    var klSum = 0.0

    public init(bins: Int = 15) {
        ensure(bins > 0, "FidelityAccumulator: bins must be positive, got \(bins)")
        self.bins = bins
        student = CalibrationTally(bins: bins); teacher = CalibrationTally(bins: bins)
    }

    /// Adds one batch. Shapes: logits [N, C] (the teacher's, when given, the same), labels [N]
    /// with values in 0 ..< C or −1 for unlabelled rows.
    public mutating func add(studentLogits s: Tensor, teacherLogits t: Tensor? = nil, labels: IntTensor) {
        ensure(s.rank == 2, "FidelityAccumulator: student logits must be [N, C], got \(Shape.describe(s.shape))")
        let n = s.shape[0], c = s.shape[1]
        ensure(labels.shape == [n], "FidelityAccumulator: labels \(Shape.describe(labels.shape)) do not match logits \(Shape.describe(s.shape))")
        if let t { ensure(t.shape == s.shape, "FidelityAccumulator: teacher logits \(Shape.describe(t.shape)) and student logits \(Shape.describe(s.shape)) differ") }
        guard n > 0, c > 0 else { return }
        var ls = [Double](repeating: 0, count: c), lt = [Double](repeating: 0, count: c)
        s.withUnsafeBufferPointer { sp in
            let tStorage = t?.detached()
            for i in 0..<n {
                let y = labels.scalars[i]
                ensure(y == -1 || (y >= 0 && y < c), "FidelityAccumulator: label \(y) at row \(i) is outside 0..<\(c) (or −1)")
                let a = Self.logSoftmax(sp.baseAddress! + i * c, c, into: &ls)
                if y >= 0 { student.add(confidence: Foundation.exp(ls[a]), correct: a == y, labelLogProbability: ls[y]) }
                guard let tStorage else { continue }
                let b = tStorage.withUnsafeBufferPointer { tp in Self.logSoftmax(tp.baseAddress! + i * c, c, into: &lt) }
                if y >= 0 { teacher.add(confidence: Foundation.exp(lt[b]), correct: b == y, labelLogProbability: lt[y]) }
                if a == b { agreeing += 1 }
                var kl = 0.0
                for j in 0..<c { kl += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
                klSum += kl
            }
        }
        examples += n
        if t != nil { pairedExamples += n }
    }

    /// Writes the log-probabilities of one row of logits into `out`; returns the first argmax.
    static func logSoftmax(_ z: UnsafePointer<Float>, _ c: Int, into out: inout [Double]) -> Int {
        var m = z[0], a = 0
        for j in 1..<max(c, 1) where z[j] > m { m = z[j]; a = j }
        var s = 0.0
        let md = Double(m)
        for j in 0..<c { s += Foundation.exp(Double(z[j]) - md) }
        let lse = md + Foundation.log(s)
        for j in 0..<c { out[j] = Double(z[j]) - lse }
        return a
    }

    /// Student accuracy on the labelled rows (nil without any).
    public var accuracy: Double? { student.accuracy }
    /// Student mean negative log-likelihood of the labels.
    public var negativeLogLikelihood: Double? { student.negativeLogLikelihood }
    /// Student expected calibration error.
    public var expectedCalibrationError: Double? { student.expectedCalibrationError }
    /// Fraction of paired rows where teacher and student predict the same class (nil without any).
    public var agreement: Double? { pairedExamples > 0 ? Double(agreeing) / Double(pairedExamples) : nil }
    /// Mean over paired rows of KL(softmax(z_t) ‖ softmax(z_s)) (nil without any).
    public var predictiveKL: Double? { pairedExamples > 0 ? klSum / Double(pairedExamples) : nil }

    /// The metrics gathered so far, for the named split ("test", "train", …).
    public func report(split: String) -> FidelityReport {
        FidelityReport(split: split, examples: examples, labelledExamples: student.labelled, eceBins: bins,
                       student: student.metrics,
                       teacher: pairedExamples > 0 ? teacher.metrics : nil,
                       agreement: agreement, predictiveKL: predictiveKL)
    }
}

/// Running sums for accuracy, NLL and ECE of one model over labelled rows.
///
/// ECE (Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks", ICML 2017):
/// rows fall into `bins` equal-width bins of the top-1 confidence, bin b = (b/B, (b+1)/B]; then
/// ECE = Σ_b (n_b/n)·|acc_b − conf_b| = (1/n) Σ_b |Σ_{i∈b} 1[ŷᵢ = yᵢ] − Σ_{i∈b} confᵢ|.
struct CalibrationTally {
    let bins: Int
    var labelled = 0, correct = 0
    var nllSum = 0.0
    /// Rows whose confidence was NaN or infinite: every metric is then NaN, never a number
    /// computed from the other rows (and never a trap in the binning).
    var nonFinite = 0
    var binCorrect: [Double], binConfidence: [Double]

    init(bins: Int) {
        self.bins = bins
        binCorrect = [Double](repeating: 0, count: bins); binConfidence = binCorrect
    }

    mutating func add(confidence: Double, correct isCorrect: Bool, labelLogProbability lp: Double) {
        labelled += 1
        if isCorrect { correct += 1 }
        nllSum -= lp
        guard confidence.isFinite else { nonFinite += 1; return }
        let b = Swift.min(Swift.max(Int((confidence * Double(bins)).rounded(.up)) - 1, 0), bins - 1)
        binCorrect[b] += isCorrect ? 1 : 0
        binConfidence[b] += confidence
    }

    var accuracy: Double? { labelled > 0 ? (nonFinite > 0 ? .nan : Double(correct) / Double(labelled)) : nil }
    var negativeLogLikelihood: Double? { labelled > 0 ? nllSum / Double(labelled) : nil }
    var expectedCalibrationError: Double? {
        guard labelled > 0 else { return nil }
        guard nonFinite == 0 else { return .nan }
        var gap = 0.0
        for b in 0..<bins { gap += Swift.abs(binCorrect[b] - binConfidence[b]) }
        return gap / Double(labelled)
    }
    var metrics: FidelityReport.Model {
        FidelityReport.Model(accuracy: accuracy, negativeLogLikelihood: negativeLogLikelihood, expectedCalibrationError: expectedCalibrationError)
    }
}

extension FidelityReport {
    /// The report of whole-split logits against labels and, optionally, teacher logits.
    public static func measure(_ logits: Tensor, teacher: Tensor?, labels: IntTensor, split: String) -> FidelityReport {
        var acc = FidelityAccumulator()
        acc.add(studentLogits: logits, teacherLogits: teacher, labels: labels)
        return acc.report(split: split)
    }
}
