import DistillCore

/// Classification and fidelity metrics as pure functions of one set of logits (Double
/// accumulation). Each is the single-batch case of `FidelityAccumulator`; rows labelled −1 are
/// skipped by the label-based metrics, which return NaN when no row is labelled.
/// Shapes: logits [N, C], labels [N].
public enum Metrics {
    /// Fraction of labelled rows whose top-1 class (first maximum) is the label, in [0, 1].
    public static func accuracy(logits: Tensor, labels: IntTensor) -> Double {
        studentOnly(logits, labels).accuracy ?? .nan
    }

    /// Top-k accuracy: the fraction of labelled rows whose label is among the k highest logits,
    /// in [0, 1]; NaN when no row is labelled. Ties rank the lower class index first, as the
    /// first-maximum rule of `accuracy` does, so top-1 equals `accuracy`: the label's rank is
    /// #{c : z_c > z_y} + #{c < y : z_c = z_y}, and the row counts when the rank is below k.
    /// Shapes: logits [N, C], labels [N]; k ≥ C counts every labelled row.
    public static func topKAccuracy(logits: Tensor, labels: IntTensor, k: Int) -> Double {
        ensure(logits.rank == 2 && labels.shape == [logits.shape[0]] && k >= 1,
               "topKAccuracy: logits \(Shape.describe(logits.shape)) and labels \(Shape.describe(labels.shape)) are not [N, C] and [N], or k = \(k) < 1")
        let c = logits.shape[1]
        var hits = 0, counted = 0
        logits.withUnsafeBufferPointer { z in
            for (i, y) in labels.scalars.enumerated() where y >= 0 {
                ensure(y < c, "topKAccuracy: label \(y) at row \(i) is outside 0..<\(c)")
                let row = z.baseAddress! + i * c, zy = row[y]
                var rank = 0
                for j in 0..<c where row[j] > zy || (j < y && row[j] == zy) { rank += 1 }
                counted += 1
                if rank < k { hits += 1 }
            }
        }
        return counted == 0 ? .nan : Double(hits) / Double(counted)
    }

    /// Mean negative log-likelihood −(1/n) Σᵢ log softmax(zᵢ)[yᵢ] over labelled rows (nats).
    public static func negativeLogLikelihood(logits: Tensor, labels: IntTensor) -> Double {
        studentOnly(logits, labels).negativeLogLikelihood ?? .nan
    }

    /// Expected calibration error (Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern
    /// Neural Networks", ICML 2017) of softmax(logits):
    ///
    ///     ECE = Σ_b (n_b / n) · |acc_b − conf_b|
    ///
    /// over `bins` (default 15) equal-width bins of the top-1 confidence, bin b = (b/B, (b+1)/B]
    /// as in the paper's code; acc_b and conf_b are the bin's accuracy and mean confidence.
    public static func expectedCalibrationError(logits: Tensor, labels: IntTensor, bins: Int = 15) -> Double {
        studentOnly(logits, labels, bins: bins).expectedCalibrationError ?? .nan
    }

    /// The same ECE from probabilities [N, C] (rows summing to 1), e.g. an ensemble's mean.
    public static func expectedCalibrationError(probabilities p: Tensor, labels: IntTensor, bins: Int = 15) -> Double {
        ensure(p.rank == 2 && labels.shape == [p.shape[0]],
               "expectedCalibrationError: probabilities \(Shape.describe(p.shape)) and labels \(Shape.describe(labels.shape)) are not [N, C] and [N]")
        var tally = CalibrationTally(bins: bins)
        let c = p.shape[1]
        p.withUnsafeBufferPointer { q in
            for i in 0..<p.shape[0] where labels.scalars[i] != -1 {
                let y = labels.scalars[i]
                ensure(y >= 0 && y < c, "expectedCalibrationError: label \(y) at row \(i) is outside 0..<\(c)")
                var a = 0
                for j in 1..<c where q[i * c + j] > q[i * c + a] { a = j }
                tally.add(confidence: Double(q[i * c + a]), correct: a == y, labelLogProbability: 0)
            }
        }
        return tally.expectedCalibrationError ?? .nan
    }

    /// Top-1 agreement: the fraction of rows where both models' first-maximum classes are equal,
    /// in [0, 1]. Works on logits or probabilities alike. Shapes: both [N, C].
    public static func agreement(_ a: Tensor, _ b: Tensor) -> Double {
        paired(teacher: a, student: b).agreement ?? .nan
    }

    /// Predictive KL(teacher ‖ student) averaged over examples (Stanton et al., "Does Knowledge
    /// Distillation Really Work?", NeurIPS 2021):
    ///
    ///     (1/N) Σᵢ Σ_c p_t[i, c] · (log p_t[i, c] − log p_s[i, c]),   p = softmax(logits)
    ///
    /// at temperature 1. Shapes: both logits [N, C].
    public static func predictiveKL(teacherLogits: Tensor, studentLogits: Tensor) -> Double {
        paired(teacher: teacherLogits, student: studentLogits).predictiveKL ?? .nan
    }

    static func studentOnly(_ logits: Tensor, _ labels: IntTensor, bins: Int = 15) -> FidelityAccumulator {
        var acc = FidelityAccumulator(bins: bins)
        acc.add(studentLogits: logits, labels: labels)
        return acc
    }

    static func paired(teacher: Tensor, student: Tensor) -> FidelityAccumulator {
        ensure(student.rank == 2, "Metrics: logits must be [N, C], got \(Shape.describe(student.shape))")
        var acc = FidelityAccumulator()
        acc.add(studentLogits: student, teacherLogits: teacher,
                labels: IntTensor([Int](repeating: -1, count: student.shape[0])))
        return acc
    }
}
