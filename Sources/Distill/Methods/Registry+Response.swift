import DistillCore
import DistillNN

extension MethodRegistry {
    /// Response-based methods: losses on the logits of teacher and student.
    public static var response: [MethodEntry] {
        [
            MethodEntry(name: "hinton", summary: "α·T²·KL(teacher ‖ student at T) + (1−α)·CE", paper: hintonPaper,
                        options: [temperatureOption(), MethodOption("alpha", "0.9", "weight of the soft term, in [0, 1]"), t2Option, standardizeOption],
                        notes: softTermNotes) { o in
                let t = try ResponseOptions.temperature(o), a = try ResponseOptions.unit(o, "alpha", default: 0.9)
                return HintonLoss(temperature: t, alpha: a, t2: try o.bool("t2", default: true), standardize: try o.bool("standardize", default: false))
            },
            MethodEntry(name: "kd", summary: "the soft term of hinton alone: T²·KL(teacher ‖ student at T)", paper: hintonPaper,
                        options: [temperatureOption(), t2Option, standardizeOption], notes: softTermNotes) { o in
                HintonLoss(temperature: try ResponseOptions.temperature(o), alpha: 1, name: "kd", t2: try o.bool("t2", default: true),
                           standardize: try o.bool("standardize", default: false))
            },
            MethodEntry(name: "ce", summary: "cross-entropy with the labels, optional label smoothing",
                        paper: "label smoothing: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, \"Rethinking the Inception Architecture for Computer Vision\", CVPR 2016",
                        options: [MethodOption("label_smoothing", "0", "label-smoothing ε, in [0, 1]")]) { o in
                CrossEntropyTerm(labelSmoothing: try ResponseOptions.unit(o, "label_smoothing", default: 0))
            },
            MethodEntry(name: "logits", summary: "mean squared error between logits",
                        paper: "Ba & Caruana, \"Do Deep Nets Really Need to be Deep?\", NeurIPS 2014", options: []) { _ in
                LogitRegressionLoss()
            },
            MethodEntry(name: "noisy", summary: "L2 (or KD) to teacher logits with multiplicative Gaussian noise",
                        paper: "Sau & Balasubramanian, \"Deep Model Compression: Distilling Knowledge from Noisy Teachers\", arXiv:1610.09650, 2016",
                        options: [MethodOption("alpha", "0.5", "fraction of each batch's rows whose teacher logits are perturbed, in [0, 1]"),
                                  MethodOption("sigma", "0.1", "standard deviation of the multiplicative noise, ≥ 0"),
                                  MethodOption("seed", "0", "seed of the noise, ≥ 0"),
                                  MethodOption("loss", "l2", "l2 (logit regression, the paper) or kd (soft KL)"),
                                  temperatureOption(onlyWith: "loss=kd")]) { o in
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
            MethodEntry(name: "dkd", summary: "decoupled KD: α·TCKD + β·NCKD at temperature T, optional warm-up over epochs",
                        paper: "Zhao, Cui, Song, Qiu & Liang, \"Decoupled Knowledge Distillation\", CVPR 2022",
                        options: [MethodOption("alpha", "1", "weight of the target-class term TCKD, ≥ 0"),
                                  MethodOption("beta", "8", "weight of the non-target-class term NCKD, ≥ 0 (8: CIFAR-100)"),
                                  temperatureOption(),
                                  MethodOption("warmup", "0", "epochs of linear warm-up of the whole term (mdistiller: 20), 0 = none"),
                                  standardizeOption]) { o in
                let a = try ResponseOptions.nonNegative(o, "alpha", default: 1)
                let b = try ResponseOptions.nonNegative(o, "beta", default: 8)
                let w = try o.int("warmup", default: 0)
                guard w >= 0 else { throw DistillationError.badOption(method: o.method, option: "warmup", detail: "must be ≥ 0 epochs, got \(w)") }
                return DecoupledKDLoss(alpha: a, beta: b, temperature: try ResponseOptions.temperature(o), warmup: w,
                                       standardize: try o.bool("standardize", default: false))
            },
            MethodEntry(name: "dist", summary: "DIST: β·(1 − inter-class Pearson) + γ·(1 − intra-class Pearson) of softmax(z/τ), each × τ²",
                        paper: "Huang, You, Wang, Qian & Xu, \"Knowledge Distillation from A Stronger Teacher\", NeurIPS 2022",
                        options: [MethodOption("beta", "1", "weight of the inter-class (per-example) relation, ≥ 0"),
                                  MethodOption("gamma", "1", "weight of the intra-class (per-class, across the batch) relation, ≥ 0"),
                                  temperatureOption(default: "1"), standardizeOption],
                        notes: "Defaults are the authors' DIST module's (ImageNet); their CIFAR-100 runs use a higher τ and β = γ = 2. Combine with `ce`.") { o in
                DISTLoss(beta: try ResponseOptions.nonNegative(o, "beta", default: 1), gamma: try ResponseOptions.nonNegative(o, "gamma", default: 1),
                         temperature: try ResponseOptions.temperature(o, default: 1), standardize: try o.bool("standardize", default: false))
            },
            MethodEntry(name: "ctkd", summary: "CTKD: τ²·KL at a learnable temperature τ = t_start + t_end·σ(θ), θ trained adversarially through gradient reversal with a cosine curriculum of λ",
                        paper: "Li, Li, Yang, Wu, Yang, Cheng & Yang, \"Curriculum Temperature for Knowledge Distillation\", AAAI 2023",
                        options: [MethodOption("t_start", "1", "smallest temperature, > 0"),
                                  MethodOption("t_end", "20", "temperature range: τ = t_start + t_end·σ(θ), ≥ 0"),
                                  MethodOption("lambda_max", "0", "λ at the first epoch (the reference's decay_max), in [−1, 1]"),
                                  MethodOption("lambda_min", "-1", "λ from epoch decay_loops on (decay_min), in [−1, lambda_max]"),
                                  MethodOption("decay_loops", "10", "epochs of the cosine curriculum, ≥ 1")],
                        notes: "Defaults: the authors' CIFAR script; their objective is 0.1·ce + 0.9·ctkd. θ (global_T, init 1) is an adapter trained with the student. The instance-wise temperature is not implemented.") { o in
                let ts = try o.float("t_start", default: 1), te = try ResponseOptions.nonNegative(o, "t_end", default: 20)
                guard ts > 0 else { throw DistillationError.badOption(method: o.method, option: "t_start", detail: "must be > 0, got \(ts)") }
                let lmax = try o.float("lambda_max", default: 0), lmin = try o.float("lambda_min", default: -1)
                guard (-1...1).contains(lmax) else { throw DistillationError.badOption(method: o.method, option: "lambda_max", detail: "must lie in [−1, 1], got \(lmax)") }
                guard lmin >= -1 && lmin <= lmax else { throw DistillationError.badOption(method: o.method, option: "lambda_min", detail: "must lie in [−1, lambda_max = \(lmax)], got \(lmin)") }
                let loops = try o.int("decay_loops", default: 10)
                guard (1...Limits.maxEpochs).contains(loops) else { throw DistillationError.badOption(method: o.method, option: "decay_loops", detail: "must be in 1…\(Limits.maxEpochs), got \(loops)") }
                return CurriculumTemperatureKDLoss(tStart: ts, tEnd: te, lambdaMax: lmax, lambdaMin: lmin, decayLoops: loops)
            },
            MethodEntry(name: "mlkd", summary: "multi-level logit KD: instance (KL), batch (N×N Gram) and class (C×C Gram) alignment at several temperatures",
                        paper: "Jin, Wang & Lin, \"Multi-Level Logit Distillation\", CVPR 2023",
                        options: [MethodOption("temperatures", "4,3,5,2,6", "comma-separated temperatures, each > 0 (the reference's)"),
                                  MethodOption("form", "code", "code (the reference's objective on one view: KD twice, KD and BC scaled by the fraction of rows at or below the median teacher confidence, CC by that of classes) or paper (Σ_T KD + BC + CC)")],
                        notes: "The reference trains on a weak and a strong augmented view; this loop gives one view, used for both. Its objective: 0.1·CE per view + 0.9·(this term): use ce at 0.1 or 0.2 and mlkd at 0.9.") { o in
                let ts = o.list("temperatures", default: ["4", "3", "5", "2", "6"])
                let temps = ts.compactMap(Float.init)
                guard !ts.isEmpty, temps.count == ts.count, temps.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                    throw DistillationError.badOption(method: o.method, option: "temperatures", detail: "expects positive numbers separated by commas, got '\(ts.joined(separator: ","))'")
                }
                let f = try o.choice("form", MultiLevelLogitLoss.Form.allCases.map(\.rawValue), default: "code")
                return MultiLevelLogitLoss(temperatures: temps, form: MultiLevelLogitLoss.Form(rawValue: f)!)
            },
            MethodEntry(name: "noisy-label-kd", summary: "CE to λ·y + (1−λ)·softmax(teacher/T), a teacher trained on clean labels",
                        paper: "Li, Yang, Song, Cao, Luo & Li, \"Learning from Noisy Labels with Distillation\", ICCV 2017",
                        options: [MethodOption("lambda", "0.5", "weight of the (noisy) label in the target, in [0, 1]"),
                                  temperatureOption(default: "1")]) { o in
                NoisyLabelDistillationLoss(lambda: try ResponseOptions.unit(o, "lambda", default: 0.5),
                                           temperature: try ResponseOptions.temperature(o, default: 1))
            },
            MethodEntry(name: "pseudo", summary: "cross-entropy with the teacher's top-1 labels",
                        paper: "Buciluă, Caruana & Niculescu-Mizil, \"Model Compression\", KDD 2006", options: []) { _ in
                PseudoLabelLoss()
            },
        ]
    }

    static let hintonPaper = "Hinton, Vinyals & Dean, \"Distilling the Knowledge in a Neural Network\", NIPS 2014 Deep Learning Workshop (arXiv:1503.02531)"

    static let t2Option = MethodOption("t2", "true", "multiply the soft term by T² (the paper); false: the bare KL, torchdistill's KDLoss with α = 0")

    static let standardizeOption = MethodOption("standardize", "false", "z-score each row of both logits before the softmax (logit standardisation, Sun et al., CVPR 2024)")

    static let softTermNotes = """
        KL(teacher ‖ student) summed over classes, averaged over the batch. standardize=true:         z = (z − mean)/(std + 1e-7), std unbiased over the classes (the authors' normalize), then softmax(z/T);         their CIFAR-100 recipe uses T = 2 and soft weight 9.
        """

    static func temperatureOption(default d: String = "4", onlyWith: String? = nil) -> MethodOption {
        MethodOption("temperature", d, "softmax temperature T, > 0", onlyWith: onlyWith)
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
