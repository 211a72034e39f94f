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
            MethodEntry(name: "fitnet", summary: "FitNets hint + regressor, MSE (Romero et al., ICLR 2015)") { o in
                let t = try FeatureSupport.taps(o, student: ["layer2"], teacher: ["layer2"])
                return FitNetLoss(studentTaps: t.student, teacherTaps: t.teacher,
                                  hintEpochs: try epochs(o, "hint_epochs"), seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "at", summary: "attention transfer, p = 2 (Zagoruyko & Komodakis, ICLR 2017)") { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                let p = try o.float("p", default: 2)
                guard p > 0 else { throw DistillationError.badOption(method: o.method, option: "p", detail: "must be > 0, got \(p)") }
                return AttentionTransferLoss(studentTaps: t.student, teacherTaps: t.teacher, p: p, beta: try nonNegative(o, "beta", 1))
            },
            MethodEntry(name: "ab", summary: "activation boundaries, connector + margin hinge (Heo et al., AAAI 2019)") { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                return ActivationBoundariesLoss(studentTaps: t.student, teacherTaps: t.teacher, margin: try nonNegative(o, "margin", 1),
                                                initEpochs: try epochs(o, "init_epochs"), initScale: try nonNegative(o, "init_scale", 0.003),
                                                seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "fsp", summary: "FSP flow matrices (Yim et al., CVPR 2017)") { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages, minimum: 2)
                return FSPLoss(studentTaps: t.student, teacherTaps: t.teacher, initEpochs: try epochs(o, "init_epochs"))
            },
            MethodEntry(name: "ft", summary: "factor transfer, paraphraser + translator, L1 (Kim et al., NeurIPS 2018)") { o in
                let t = try FeatureSupport.taps(o, student: ["layer3"], teacher: ["layer3"], exactly: 1)
                let rate = try o.float("rate", default: 0.5)
                guard rate > 0 else { throw DistillationError.badOption(method: o.method, option: "rate", detail: "must be > 0, got \(rate)") }
                let p = try o.int("p", default: 1)
                guard p == 1 || p == 2 else { throw DistillationError.badOption(method: o.method, option: "p", detail: "must be 1 or 2, got \(p)") }
                return FactorTransferLoss(studentTaps: t.student, teacherTaps: t.teacher, rate: rate, p: p,
                                          initEpochs: try epochs(o, "init_epochs"), seed: try FeatureSupport.seed(o))
            },
            MethodEntry(name: "vid", summary: "variational information distillation (Ahn et al., CVPR 2019)") { o in
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
            MethodEntry(name: "nst", summary: "neuron selectivity transfer, polynomial-kernel MMD (Huang & Wang, 2017)") { o in
                let t = try FeatureSupport.taps(o, student: stages, teacher: stages)
                return NeuronSelectivityTransferLoss(studentTaps: t.student, teacherTaps: t.teacher)
            },
            MethodEntry(name: "pkt", summary: "probabilistic knowledge transfer, cosine kernel (Passalis & Tefas, ECCV 2018)") { o in
                let t = try FeatureSupport.taps(o, student: ["fc:input"], teacher: ["fc:input"])
                return ProbabilisticKnowledgeTransferLoss(studentTaps: t.student, teacherTaps: t.teacher)
            },
        ]
    }

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
