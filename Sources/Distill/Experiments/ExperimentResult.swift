import DistillCore
import Foundation

/// Metrics of one student (or teacher) on the transfer ("train") and test splits, with fidelity
/// to the teacher (Stanton et al. 2021: agreement and predictive KL on both splits).
public struct RoleResult: Codable, Equatable, Sendable {
    public var train: FidelityReport
    public var test: FidelityReport
    /// Test errors (count) of this model.
    public var testErrors: Int
    public var seconds: Double
}

/// Hinton's omitted-class bias correction, as measured.
public struct BiasAdjustResult: Codable, Equatable, Sendable {
    public var classIndex: Int
    public var chosenBias: Float
    public var validationAccuracy: Double
    public var testErrorsBefore: Int
    public var testErrorsAfter: Int
    public var classTestErrorsBefore: Int
    public var classTestErrorsAfter: Int
    public var classTestCount: Int
}

/// Everything measured for one seed.
public struct SeedResult: Codable, Equatable, Sendable {
    public var seed: UInt64
    public var teacher: RoleResult?
    public var studentAlone: RoleResult?
    public var studentDistilled: RoleResult
    public var biasAdjust: BiasAdjustResult?
    /// Per-epoch accuracy of the distilled and lone students (learning curves): on the validation
    /// split when the run holds one out (`curveSplit` "validation"), else on test.
    public var distilledCurve: [Double]
    public var aloneCurve: [Double]
    /// With `track_fidelity`: the distilled student's fidelity before training, and after each epoch.
    public var initialFidelity: FidelityPoint? = nil
    public var fidelityCurve: [FidelityPoint]? = nil
    /// With `landscape`: the loss around the student (written to its own JSON and SVG files too).
    public var landscape: LandscapeResult? = nil
    /// Each loss term's epoch mean in the distilled (or cohort) run, by term name.
    public var termCurves: [String: [Double]]? = nil
    /// Schemes whose participants teach each other: every participant, and their ensemble.
    public var cohort: CohortResult? = nil
    /// "validation" when the curves are validation accuracies (the run held a split out), nil: test.
    public var curveSplit: String? = nil
    /// With a validation split: the distilled and the lone student's epoch of the highest
    /// validation accuracy, with its test numbers (read once, at the end of the run).
    public var distilledBest: BestEpoch? = nil
    public var aloneBest: BestEpoch? = nil
}

/// The participants of a cohort scheme (mutual learning) after training, on the test split.
public struct CohortResult: Codable, Equatable, Sendable {
    public struct Member: Codable, Equatable, Sendable {
        public var name: String
        public var model: String
        public var testErrors: Int
        public var testAccuracy: Double
        /// Top-1 agreement on the test split with `CohortResult.reference` (the first
        /// participant, or the teacher at the head of a chain).
        public var agreementWithFirst: Double
    }
    public var members: [Member]
    /// Test errors of the cohort's ensemble (mean of the participants' probabilities).
    public var ensembleErrors: Int
    /// What `agreementWithFirst` compares with.
    public var reference: String = "the first participant"
}

/// Mean and sample standard deviation of a metric over seeds.
public struct MeanStd: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double
    public var n: Int

    public init(_ xs: [Double]) {
        n = xs.count
        mean = Statistics.mean(xs)
        std = xs.count > 1 ? Statistics.sampleStd(xs) : 0
    }
}

/// The whole experiment: per-seed results and their aggregates.
public struct ExperimentResult: Codable, Equatable, Sendable {
    public var name: String
    public var seeds: [SeedResult]
    public var summary: [String: MeanStd]
    public var seconds: Double
    /// With `label_noise`: the fraction of the training set's labels the noise changed.
    public var realisedNoiseRate: Double? = nil

    /// Aggregates every numeric metric over seeds under keys like `student_distilled.test.accuracy`.
    public static func summarize(_ seeds: [SeedResult]) -> [String: MeanStd] {
        var values: [String: [Double]] = [:]
        func add(_ key: String, _ v: Double?) { if let v, v.isFinite { values[key, default: []].append(v) } }
        func role(_ name: String, _ r: RoleResult?) {
            guard let r else { return }
            for (split, f) in [("train", r.train), ("test", r.test)] {
                add("\(name).\(split).accuracy", f.student.accuracy)
                add("\(name).\(split).nll", f.student.negativeLogLikelihood)
                add("\(name).\(split).ece", f.student.expectedCalibrationError)
                add("\(name).\(split).agreement", f.agreement)
                add("\(name).\(split).kl", f.predictiveKL)
            }
            add("\(name).test.errors", Double(r.testErrors))
        }
        for s in seeds {
            role("teacher", s.teacher)
            role("student_alone", s.studentAlone)
            role("student_distilled", s.studentDistilled)
            if let f = s.initialFidelity {
                add("student_distilled.initial.train.agreement", f.trainAgreement)
                add("student_distilled.initial.test.agreement", f.testAgreement)
                add("student_distilled.initial.train.kl", f.trainKL)
                add("student_distilled.initial.test.kl", f.testKL)
            }
            if let c = s.cohort {
                for m in c.members {
                    add("cohort.\(m.name).test.errors", Double(m.testErrors))
                    add("cohort.\(m.name).test.agreement_with_first", m.agreementWithFirst)
                }
                add("cohort.ensemble.test.errors", Double(c.ensembleErrors))
            }
            if let b = s.biasAdjust {
                add("bias_adjust.bias", Double(b.chosenBias))
                add("bias_adjust.test_errors_before", Double(b.testErrorsBefore))
                add("bias_adjust.test_errors_after", Double(b.testErrorsAfter))
                add("bias_adjust.class_errors_before", Double(b.classTestErrorsBefore))
                add("bias_adjust.class_errors_after", Double(b.classTestErrorsAfter))
            }
        }
        return values.mapValues(MeanStd.init)
    }
}

/// The results of every variant of a sweep.
public struct SweepResult: Codable, Equatable, Sendable {
    public struct Variant: Codable, Equatable, Sendable {
        public var name: String
        public var overrides: [String]
        /// nil when the variant failed (see `error`).
        public var result: ExperimentResult?
        public var error: String?
        /// Position on the sweep's axis.
        public var x: Double? = nil
    }
    public var name: String
    public var variants: [Variant]
    public var seconds: Double
    public var axis: SweepAxis? = nil

    public var failures: [Variant] { variants.filter { $0.result == nil } }
}
