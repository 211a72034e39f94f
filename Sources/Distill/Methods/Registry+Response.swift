import DistillCore
import DistillNN

extension MethodRegistry {
    /// Response-based methods: losses on the logits of teacher and student.
    public static var response: [MethodEntry] {
        [
            MethodEntry(name: "hinton", summary: "α·T²·KL(teacher ‖ student at T) + (1−α)·CE; Hinton, Vinyals & Dean 2015") { o in
                let t = try ResponseOptions.temperature(o), a = try ResponseOptions.unit(o, "alpha", default: 0.9)
                return HintonLoss(temperature: t, alpha: a)
            },
            MethodEntry(name: "kd", summary: "the soft term of hinton alone: T²·KL(teacher ‖ student at T); Hinton et al. 2015") { o in
                HintonLoss(temperature: try ResponseOptions.temperature(o), alpha: 1, name: "kd")
            },
            MethodEntry(name: "ce", summary: "cross-entropy with the labels, optional label smoothing; Szegedy et al. 2016") { o in
                CrossEntropyTerm(labelSmoothing: try ResponseOptions.unit(o, "label_smoothing", default: 0))
            },
            MethodEntry(name: "logits", summary: "mean squared error between logits; Ba & Caruana 2014") { _ in
                LogitRegressionLoss()
            },
            MethodEntry(name: "noisy", summary: "L2 (or KD) to teacher logits with multiplicative Gaussian noise; Sau & Balasubramanian 2016") { o in
                let a = try ResponseOptions.unit(o, "alpha", default: 0.5)
                let s = try ResponseOptions.nonNegative(o, "sigma", default: 0.1)
                let seed = try o.int("seed", default: 0)
                guard seed >= 0 else { throw DistillationError.badOption(method: o.method, option: "seed", detail: "must be ≥ 0, got \(seed)") }
                let name = o.string("loss", default: "l2")
                guard let kind = NoisyTeacherLoss.Kind(rawValue: name) else {
                    throw DistillationError.badOption(method: o.method, option: "loss", detail: "must be one of l2, kd, got '\(name)'")
                }
                // `temperature` is an option only of the KD form, so it is refused with "l2".
                let t = kind == .kd ? try ResponseOptions.temperature(o) : 4
                return NoisyTeacherLoss(alpha: a, sigma: s, kind: kind, temperature: t, seed: UInt64(seed))
            },
            MethodEntry(name: "dkd", summary: "decoupled KD: α·TCKD + β·NCKD at temperature T, optional warm-up over epochs; Zhao et al. 2022") { o in
                let a = try ResponseOptions.nonNegative(o, "alpha", default: 1)
                let b = try ResponseOptions.nonNegative(o, "beta", default: 8)
                let w = try o.int("warmup", default: 0)
                guard w >= 0 else { throw DistillationError.badOption(method: o.method, option: "warmup", detail: "must be ≥ 0 epochs, got \(w)") }
                return DecoupledKDLoss(alpha: a, beta: b, temperature: try ResponseOptions.temperature(o), warmup: w)
            },
            MethodEntry(name: "noisy-label-kd", summary: "CE to λ·y + (1−λ)·softmax(teacher/T), a teacher trained on clean labels; Li et al. 2017") { o in
                NoisyLabelDistillationLoss(lambda: try ResponseOptions.unit(o, "lambda", default: 0.5),
                                           temperature: try ResponseOptions.temperature(o, default: 1))
            },
            MethodEntry(name: "pseudo", summary: "cross-entropy with the teacher's top-1 labels; Buciluă, Caruana & Niculescu-Mizil 2006") { _ in
                PseudoLabelLoss()
            },
        ]
    }
}

/// Range-checked option readers for the response methods; a bad value names the option.
enum ResponseOptions {
    static func temperature(_ o: MethodOptions, default d: Float = 4) throws -> Float {
        let t = try o.float("temperature", default: d)
        guard t > 0 else { throw DistillationError.badOption(method: o.method, option: "temperature", detail: "must be > 0, got \(t)") }
        return t
    }

    static func unit(_ o: MethodOptions, _ key: String, default d: Float) throws -> Float {
        let v = try o.float(key, default: d)
        guard v >= 0 && v <= 1 else { throw DistillationError.badOption(method: o.method, option: key, detail: "must lie in [0, 1], got \(v)") }
        return v
    }

    static func nonNegative(_ o: MethodOptions, _ key: String, default d: Float) throws -> Float {
        let v = try o.float(key, default: d)
        guard v >= 0 else { throw DistillationError.badOption(method: o.method, option: key, detail: "must be ≥ 0, got \(v)") }
        return v
    }
}
