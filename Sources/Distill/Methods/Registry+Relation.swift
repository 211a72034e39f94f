import DistillCore
import DistillNN

extension MethodRegistry {
    /// Relation-based methods: each relates examples (or layers) to one another rather than
    /// matching outputs one by one. All take `student` / `teacher` tap options (required).
    public static var relation: [MethodEntry] {
        [
            MethodEntry(name: "sp", summary: "similarity-preserving KD: batch Gram matrices",
                        paper: "Tung & Mori, \"Similarity-Preserving Knowledge Distillation\", ICCV 2019", options: relationTaps) { o in
                try SimilarityPreservingLoss(studentTaps: try RelationSupport.taps(o, "student"), teacherTaps: try RelationSupport.taps(o, "teacher"))
            },
            MethodEntry(name: "rkd", summary: "relational KD: distance and angle relations, smooth-L1",
                        paper: "Park, Kim, Lu & Cho, \"Relational Knowledge Distillation\", CVPR 2019",
                        options: relationTaps + [MethodOption("distance", "25", "weight of the distance term"),
                                                 MethodOption("angle", "50", "weight of the angle term")]) { o in
                let (s, t) = try RelationSupport.singleTaps(o)
                return RelationalKDLoss(studentTap: s, teacherTap: t, distanceWeight: try o.float("distance", default: 25),
                                        angleWeight: try o.float("angle", default: 50))
            },
            MethodEntry(name: "cc", summary: "correlation congruence: kernel correlations of embeddings",
                        paper: "Peng, Jin, Liu, Li, Wu, Liu, Zhou & Zhang, \"Correlation Congruence for Knowledge Distillation\", ICCV 2019",
                        options: relationTaps + [
                            MethodOption("kernel", "gaussian", "gaussian (the paper's Taylor-expanded RBF) or repdistiller"),
                            MethodOption("embed", "linear", "linear (RepDistiller's LinearEmbed heads on both sides) or none (the flattened features as they are)"),
                            MethodOption("feat_dim", "128", "embedding dimension, ≥ 1", onlyWith: "embed=linear"),
                            MethodOption("gamma", "0.4", "RBF γ"), MethodOption("order", "2", "Taylor order P, ≥ 0"),
                            MethodOption("seed", "0", "seed of the embeddings' initialisation")]) { o in
                let (s, t) = try RelationSupport.singleTaps(o)
                let k = o.string("kernel", default: "gaussian")
                guard let kernel = CorrelationCongruenceLoss.Kernel(rawValue: k) else {
                    throw DistillationError.badOption(method: o.method, option: "kernel", detail: "expects one of \(CorrelationCongruenceLoss.Kernel.allCases.map(\.rawValue).joined(separator: ", ")), got '\(k)'")
                }
                let embeds = try o.choice("embed", ["linear", "none"], default: "linear") == "linear"
                let dim = embeds ? try o.int("feat_dim", default: 128) : 128, order = try o.int("order", default: 2)
                guard dim >= 1 else { throw DistillationError.badOption(method: o.method, option: "feat_dim", detail: "must be ≥ 1, got \(dim)") }
                guard order >= 0 else { throw DistillationError.badOption(method: o.method, option: "order", detail: "must be ≥ 0, got \(order)") }
                return CorrelationCongruenceLoss(studentTap: s, teacherTap: t, kernel: kernel, featureDim: dim,
                                                 gamma: try o.float("gamma", default: 0.4), order: order, embeds: embeds, seed: UInt64(max(try o.int("seed", default: 0), 0)))
            },
            MethodEntry(name: "crd", summary: "contrastive representation distillation with memory banks",
                        paper: "Tian, Krishnan & Isola, \"Contrastive Representation Distillation\", ICLR 2020",
                        options: relationTaps + [
                            MethodOption("dataset_size", "", "rows of the memory banks (empty: the trainer sets the training set's size)"),
                            MethodOption("feat_dim", "128", "embedding dimension"), MethodOption("nce_k", "16384", "negatives per anchor"),
                            MethodOption("nce_t", "0.07", "temperature τ"), MethodOption("nce_m", "0.5", "memory momentum"),
                            MethodOption("seed", "0", "seed of embeddings, banks and negative sampling")]) { o in
                let (s, t) = try RelationSupport.singleTaps(o)
                let n = try o.int("dataset_size", default: -1)
                return try ContrastiveRepresentationLoss(
                    studentTap: s, teacherTap: t, featureDim: try o.int("feat_dim", default: 128), negatives: try o.int("nce_k", default: 16384),
                    temperature: try o.float("nce_t", default: 0.07), momentum: try o.float("nce_m", default: 0.5),
                    datasetSize: o.values["dataset_size"] == nil ? nil : n, seed: UInt64(max(try o.int("seed", default: 0), 0)))
            },
            MethodEntry(name: "mi", summary: "all-pairs variational mutual-information distillation, λ-weighted",
                        paper: "after VID: Ahn, Hu, Damianou, Lawrence & Dai, CVPR 2019 (this project's all-pairs extension)",
                        options: relationTaps + [
                            MethodOption("lambda", "all", "pair weights: \(MutualInformationLoss.LambdaMode.allCases.map(\.rawValue).joined(separator: ", "))"),
                            MethodOption("variance", "5", "initial variance"), MethodOption("eps", "1e-5", "variance floor"),
                            MethodOption("seed", "0", "seed of the regressors' initialisation")]) { o in
                let mode = o.string("lambda", default: "all")
                guard let m = MutualInformationLoss.LambdaMode(rawValue: mode) else {
                    throw DistillationError.badOption(method: o.method, option: "lambda", detail: "expects one of \(MutualInformationLoss.LambdaMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(mode)'")
                }
                return try MutualInformationLoss(studentTaps: try RelationSupport.taps(o, "student"), teacherTaps: try RelationSupport.taps(o, "teacher"),
                                                 lambda: m, initialVariance: try o.float("variance", default: 5), eps: try o.float("eps", default: 1e-5),
                                                 seed: UInt64(max(try o.int("seed", default: 0), 0)))
            },
            MethodEntry(name: "nd", summary: "KD++'s ND loss: 1 − ⟨s, e_y⟩ / max(‖s‖, ‖t‖), e_y the direction of the teacher's class-mean embedding",
                        paper: "Wang, Cheng, Duan, Wang, Feng & Kong, \"Improving Knowledge Distillation via Regularizing Feature Norm and Direction\", arXiv:2305.17007 (ICCV 2023 per issue #14)",
                        options: relationTaps,
                        notes: "KD++ = ce + kd (T = 4) + nd, each weight 1 (the authors' CIFAR script). Class means are running means of the teacher embeddings seen (the reference precomputes them on the training set with the teacher): equal after one epoch without augmentation. Student and teacher embeddings must have equal size (no EmbTrans).") { o in
                let (s, t) = try RelationSupport.singleTaps(o)
                return NormDirectionLoss(studentTap: s, teacherTap: t)
            },
        ]
    }

    static let relationTaps = [
        MethodOption("student", nil, "student tap(s): comma-separated module paths, each optionally ':input' or ':output'"),
        MethodOption("teacher", nil, "teacher tap(s), paired with the student's in order"),
    ]
}
