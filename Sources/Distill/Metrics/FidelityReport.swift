import Foundation

/// Classification and fidelity metrics of a teacher/student pair on one split (Codable; JSON
/// keys are the property names; absent values are omitted).
///
/// Fidelity follows Stanton, Izmailov, Kirichenko, Alemi & Wilson, "Does Knowledge Distillation
/// Really Work?", NeurIPS 2021: top-1 agreement and predictive KL(teacher ‖ student) measure how
/// well the student matches the teacher, separately from how well it generalises.
public struct FidelityReport: Codable, Equatable, Sendable, CustomStringConvertible {
    /// One model's metrics on the labelled rows; nil when the split has no labels.
    public struct Model: Codable, Equatable, Sendable {
        /// Fraction of labelled rows whose top-1 class is the label, in [0, 1].
        public var accuracy: Double?
        /// Mean −log p(y | x) over labelled rows (nats).
        public var negativeLogLikelihood: Double?
        /// Expected calibration error with `eceBins` equal-width bins, in [0, 1].
        public var expectedCalibrationError: Double?

        public init(accuracy: Double?, negativeLogLikelihood: Double?, expectedCalibrationError: Double?) {
            self.accuracy = accuracy; self.negativeLogLikelihood = negativeLogLikelihood
            self.expectedCalibrationError = expectedCalibrationError
        }
    }

    public var split: String
    public var examples: Int
    public var labelledExamples: Int
    public var eceBins: Int
    public var student: Model
    /// The teacher's own metrics (nil when no teacher logits were given).
    public var teacher: Model?
    /// Top-1 agreement between teacher and student, in [0, 1].
    public var agreement: Double?
    /// Mean over examples of KL(softmax(z_t) ‖ softmax(z_s)) (nats, ≥ 0).
    public var predictiveKL: Double?

    public init(split: String, examples: Int, labelledExamples: Int, eceBins: Int = 15, student: Model, teacher: Model? = nil,
                agreement: Double? = nil, predictiveKL: Double? = nil) {
        self.split = split; self.examples = examples; self.labelledExamples = labelledExamples; self.eceBins = eceBins
        self.student = student; self.teacher = teacher; self.agreement = agreement; self.predictiveKL = predictiveKL
    }

    /// One line: "test: n=10000 student acc 0.9012 nll 0.3121 ece 0.0213 | teacher acc … | agreement 0.9500 kl 0.0812".
    public var description: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "–" }
        func m(_ x: Model) -> String { "acc \(f(x.accuracy)) nll \(f(x.negativeLogLikelihood)) ece \(f(x.expectedCalibrationError))" }
        var s = "\(split): n=\(examples) student \(m(student))"
        if let t = teacher { s += " | teacher \(m(t)) | agreement \(f(agreement)) kl \(f(predictiveKL))" }
        return s
    }
}
