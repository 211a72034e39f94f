import DistillCore
import DistillNN

extension MethodRegistry {
    /// Feature-based methods. Every entry reads its taps from the options `student` and `teacher`
    /// (comma-separated dotted module paths, paired in order; an entry may end in `:input` or
    /// `:output`) and `point` (the default point, `output`); the defaults fit the zoo's CIFAR
    /// ResNets. Adapter-building methods also read `seed` (adapter initialisation, default 0).
    public static var feature: [MethodEntry] {
        let stages = ["layer1", "layer2", "layer3"]
        return [
            MethodEntry(name: "fitnet", summary: "FitNets hint + regressor, MSE",
                        paper: "Romero, Ballas, Kahou, Chassang, Gatta & Bengio, \"FitNets: Hints for Thin Deep Nets\", ICLR 2015",
                        options: taps("layer2") + [
                            MethodOption("regressor", "repdistiller", "repdistiller (ConvReg: conv + BN + ReLU; 3×3 stride 2 for a 2× student map, transposed 4×4 stride 2 for 0.5×), conv1x1 (plain 1×1 conv, larger map pooled), none (shapes already match)"),
                            seedOption, epochsOption("hint_epochs", "epochs of the hint stage (RepDistiller's init_epochs)")]) { o in
                let t = try FeatureSupport.taps(o, student: ["layer2"], teacher: ["layer2"])
                let r = try o.choice("regressor", FitNetLoss.Regressor.allCases.map(\.rawValue), default: "repdistiller")
                return FitNetLoss(studentTaps: t.student, teacherTaps: t.teacher, regressor: FitNetLoss.Regressor(rawValue: r)!,
                                  hintEpochs: try epochs(o, "hint_epochs"), seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "at", summary: "attention transfer: matching normalised spatial attention maps",
                        paper: "Zagoruyko & Komodakis, \"Paying More Attention to Attention\", ICLR 2017",
                        options: taps("layer1,layer2,layer3") + [
                            MethodOption("p", "2", "exponent of |f| in the attention map, > 0"),
                            MethodOption("beta", "1", "weight of the loss (RepDistiller: 1000 as the objective weight)"),
                            MethodOption("mode", "repdistiller", "repdistiller (channel mean, mean squared difference) or paper (torchdistill's mode: paper: channel sum, per-sample ‖Q_s − Q_t‖₂ / N)")]) { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                let p = try o.float("p", default: 2)
                guard p > 0 else { throw DistillationError.badOption(method: o.method, option: "p", detail: "must be > 0, got \(p)") }
                let mode = try o.choice("mode", AttentionTransferLoss.Mode.allCases.map(\.rawValue), default: "repdistiller")
                return AttentionTransferLoss(studentTaps: t.student, teacherTaps: t.teacher, p: p, beta: try nonNegative(o, "beta", 1),
                                             mode: AttentionTransferLoss.Mode(rawValue: mode)!)
            },
            MethodEntry(name: "ab", summary: "activation boundaries, connector + margin hinge",
                        paper: "Heo, Lee, Yun & Choi, \"Knowledge Transfer via Distillation of Activation Boundaries Formed by Hidden Neurons\", AAAI 2019",
                        options: taps("layer1,layer2,layer3") + [
                            MethodOption("margin", "1", "hinge margin m, ≥ 0"),
                            epochsOption("init_epochs", "epochs of the connector initialisation stage"),
                            MethodOption("init_scale", "0.003", "scale of the initialisation-stage loss, ≥ 0"), seedOption]) { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                return ActivationBoundariesLoss(studentTaps: t.student, teacherTaps: t.teacher, margin: try nonNegative(o, "margin", 1),
                                                initEpochs: try epochs(o, "init_epochs"), initScale: try nonNegative(o, "init_scale", 0.003),
                                                seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "fsp", summary: "FSP flow matrices of consecutive taps, MSE",
                        paper: "Yim, Joo, Bae & Kim, \"A Gift from Knowledge Distillation\", CVPR 2017",
                        options: taps("layer1,layer2,layer3") + [epochsOption("init_epochs", "epochs of the FSP stage")]) { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages, minimum: 2)
                return FSPLoss(studentTaps: t.student, teacherTaps: t.teacher, initEpochs: try epochs(o, "init_epochs"))
            },
            MethodEntry(name: "ft", summary: "factor transfer, paraphraser + translator, L1",
                        paper: "Kim, Park & Kwak, \"Paraphrasing Complex Network: Network Compression via Factor Transfer\", NeurIPS 2018",
                        options: taps("layer3") + [
                            MethodOption("rate", "0.5", "factor channels ⌊rate·C_t⌋, > 0"),
                            MethodOption("p", "1", "distance exponent, 1 (L1, the paper) or 2"),
                            MethodOption("factor", "paper", "paper (per-sample normalised flattened factor) or repdistiller (normalised channel mean of F², RepDistiller's FactorTransfer)"),
                            seedOption, epochsOption("init_epochs", "epochs of the paraphraser stage")]) { o in
                let t = try FeatureSupport.taps(o, student: ["layer3"], teacher: ["layer3"], exactly: 1)
                let rate = try o.float("rate", default: 0.5)
                guard rate > 0 else { throw DistillationError.badOption(method: o.method, option: "rate", detail: "must be > 0, got \(rate)") }
                let p = try o.int("p", default: 1)
                guard p == 1 || p == 2 else { throw DistillationError.badOption(method: o.method, option: "p", detail: "must be 1 or 2, got \(p)") }
                let f = try o.choice("factor", FactorTransferLoss.Factor.allCases.map(\.rawValue), default: "paper")
                return FactorTransferLoss(studentTaps: t.student, teacherTaps: t.teacher, rate: rate, p: p,
                                          factor: FactorTransferLoss.Factor(rawValue: f)!,
                                          initEpochs: try epochs(o, "init_epochs"), seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "vid", summary: "variational information distillation: Gaussian likelihood of teacher maps",
                        paper: "Ahn, Hu, Damianou, Lawrence & Dai, \"Variational Information Distillation for Knowledge Transfer\", CVPR 2019",
                        options: taps("layer1,layer2,layer3") + [
                            MethodOption("mid_channels", "0", "hidden channels of the mean regressor (0: the teacher's)"),
                            MethodOption("eps", "1e-5", "variance floor ε, > 0"),
                            MethodOption("init_var", "5", "initial variance, > eps"), seedOption]) { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                let mid = try o.int("mid_channels", default: 0)
                guard mid >= 0 else { throw DistillationError.badOption(method: o.method, option: "mid_channels", detail: "must be ≥ 0, got \(mid)") }
                let eps = try o.float("eps", default: 1e-5)
                let v = try o.float("init_var", default: 5)
                guard eps > 0, v > eps else {
                    throw DistillationError.badOption(method: o.method, option: "init_var", detail: "must exceed eps > 0, got init_var \(v), eps \(eps)")
                }
                return VIDLoss(studentTaps: t.student, teacherTaps: t.teacher, midChannels: mid, initVariance: v, eps: eps,
                               seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "nst", summary: "neuron selectivity transfer, polynomial-kernel MMD",
                        paper: "Huang & Wang, \"Like What You Like: Knowledge Distill via Neuron Selectivity Transfer\", arXiv:1707.01219, 2017",
                        options: taps("layer1,layer2,layer3")) { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                return NeuronSelectivityTransferLoss(studentTaps: t.student, teacherTaps: t.teacher)
            },
            MethodEntry(name: "pkt", summary: "probabilistic knowledge transfer, cosine kernel",
                        paper: "Passalis & Tefas, \"Learning Deep Representations with Probabilistic Knowledge Transfer\", ECCV 2018",
                        options: taps("fc:input")) { o in
                let t = try FeatureSupport.taps(o, student: ["fc:input"], teacher: ["fc:input"])
                return ProbabilisticKnowledgeTransferLoss(studentTaps: t.student, teacherTaps: t.teacher)
            },
            reviewKD,
        ]
    }

    /// The tap options every feature method reads, with the default tap list on both sides.
    static func taps(_ d: String) -> [MethodOption] {
        [MethodOption("student", d, "student taps: comma-separated module paths, each optionally ':input' or ':output'"),
         MethodOption("teacher", d, "teacher taps, paired with the student's in order"),
         MethodOption("point", "output", "default tap point, input or output")]
    }

    static let seedOption = MethodOption("seed", "0", "seed of the adapters' initialisation, ≥ 0")

    static func epochsOption(_ key: String, _ meaning: String) -> MethodOption { MethodOption(key, "30", meaning + ", ≥ 0") }

    private static func epochs(_ o: MethodOptions, _ key: String) throws -> Int {
        let e = try o.int(key, default: 30)
        guard e >= 0 else { throw DistillationError.badOption(method: o.method, option: key, detail: "must be ≥ 0, got \(e)") }
        return e
    }

    private static func nonNegative(_ o: MethodOptions, _ key: String, _ d: Float) throws -> Float {
        let v = try o.float(key, default: d)
        guard v >= 0 else { throw DistillationError.badOption(method: o.method, option: key, detail: "must be ≥ 0, got \(v)") }
        return v
    }
}
