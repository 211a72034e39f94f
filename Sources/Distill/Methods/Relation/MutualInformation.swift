#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DistillCore
import DistillNN

/// All-pairs variational mutual-information distillation: every student layer j is tied to
/// every teacher layer i by a variational lower bound on I(tᵢ; sⱼ), extending VID (Ahn, Hu,
/// Damianou, Lawrence & Dai, "Variational Information Distillation for Knowledge Transfer",
/// CVPR 2019) from one-to-one layer pairs to a weighted bipartite graph.
///
/// For a pair (i, j), q(tᵢ | sⱼ) is a Gaussian with a learned mean μᵢⱼ(sⱼ) and per-channel
/// variance σ²_c = softplus(α_c) + ε, ε = 1e-5, α initialised so σ² = 5 (RepDistiller's
/// `VIDLoss` defaults). Since I(t; s) = H(t) − H(t | s) ≥ H(t) + E[log q(t | s)] and H(t) does not
/// depend on the student, minimising the negative log-likelihood maximises the bound:
///
///     NLLᵢⱼ = mean over (n, c, h, w) of ½[(tᵢ − μᵢⱼ(sⱼ))² / σ²_c + log σ²_c]   (−log q up to ½log 2π)
///     L_mi  = Σᵢⱼ λᵢⱼ · NLLᵢⱼ,   λᵢⱼ ≥ 0,   Σᵢ λᵢⱼ = 1 for every student layer j
///
/// so L = β·CE + (1 − β)·L_mi equals β·CE − (1 − β)·Σᵢⱼ λᵢⱼ·Î(tᵢ; sⱼ) up to terms constant in the
/// student (Î the per-element bound; the mean, as in VID, scales each pair by 1 / its size).
///
/// The mean regressor: for maps [b, C, H, W] on both sides a 1×1 convolution with bias, Cs → Ct,
/// after resolving a spatial mismatch by average-pooling the larger map (the house convention,
/// also RepDistiller's VID): the student is pooled to the teacher's size along an axis where it is
/// larger, the teacher (a constant) to the student's where it is larger (adaptive average
/// pooling, PyTorch's index rule). For vectors [b, C] a linear layer; a map facing a vector is
/// first global-average-pooled. Token sequences [b, T, D] are first made maps by `TokenBridge`
/// (a square patch grid facing a map becomes that grid; otherwise [b, D, T, 1]), so a
/// transformer's layers pair with a convolutional teacher's. Other ranks are refused.
///
/// λ (option `lambda`): `pairwise` — the identity (layer i ↔ layer i; needs equal numbers of
/// layers), `all` — uniform 1/n_teacher, `learned` — softmax over i of learned logits per
/// student layer (an adapter parameter `lambda_logits` [n_t, n_s], initialised to 0 = uniform,
/// trained with the student). λ and the tap names are exposed for `LambdaGraph`.
/// Adapters: `pair_i_j.mean` (Conv2d or Linear) and `pair_i_j.alpha` [Ct] for every pair with
/// λ not fixed at 0, plus `lambda_logits`. Options: `student`, `teacher` (comma-separated taps,
/// required), `lambda` (all), `variance` (5), `eps` (1e-5), `seed` (0: regressor init).
public final class MutualInformationLoss: DistillationLoss {
    public enum LambdaMode: String, CaseIterable { case pairwise, all, learned }

    public let name = "mi"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let lambdaMode: LambdaMode
    public let initialVariance: Float, eps: Float
    public private(set) var adapters: Module?
    private var generator: SeededGenerator
    private(set) var plans: [[PairPlan?]] = []        // [teacher i][student j]
    private var lambdaLogits: Parameter?

    /// How one pair's features are brought to a common form before the regressor.
    struct PairPlan {
        enum Kind { case maps(pool: (Int, Int)?, poolTeacher: (Int, Int)?), vectors(poolStudent: Bool, poolTeacher: Bool) }
        let kind: Kind
        let regressor: GaussianRegressor
        /// Token sequences made maps first (`TokenBridge`).
        var studentLayout = TokenBridge.Layout.unchanged, teacherLayout = TokenBridge.Layout.unchanged
    }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], lambda: LambdaMode = .all,
                initialVariance: Float = 5, eps: Float = 1e-5, seed: UInt64 = 0) throws {
        guard !studentTaps.isEmpty, !teacherTaps.isEmpty else {
            throw DistillationError.badOption(method: "mi", option: "student/teacher", detail: "needs at least one tap on each side")
        }
        if lambda == .pairwise && studentTaps.count != teacherTaps.count {
            throw DistillationError.badOption(method: "mi", option: "lambda",
                detail: "'pairwise' ties teacher layer i to student layer i and needs equal numbers of layers; got \(teacherTaps.count) teacher taps (\(teacherTaps.map(\.description).joined(separator: ", "))) and \(studentTaps.count) student taps (\(studentTaps.map(\.description).joined(separator: ", "))); use lambda 'all' or 'learned'")
        }
        guard initialVariance > eps, eps > 0 else {
            throw DistillationError.badOption(method: "mi", option: "variance", detail: "must exceed eps > 0; got variance \(initialVariance), eps \(eps)")
        }
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.lambdaMode = lambda
        self.initialVariance = initialVariance; self.eps = eps
        generator = SeededGenerator(seed: seed)
    }

    /// Whether the pair (teacher i, student j) takes part (λᵢⱼ not fixed at 0).
    public func isActive(teacher i: Int, student j: Int) -> Bool { lambdaMode != .pairwise || i == j }

    public func prepare(studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        try RelationSupport.checkCounts(name, studentTaps: studentTaps, teacherTaps: teacherTaps, studentShapes: studentShapes, teacherShapes: teacherShapes)
        let root = Module()
        var newPlans: [[PairPlan?]] = []
        for (i, ts) in teacherShapes.enumerated() {
            var row: [PairPlan?] = []
            for (j, ss) in studentShapes.enumerated() {
                guard isActive(teacher: i, student: j) else { row.append(nil); continue }
                let plan = try makePlan(student: (studentTaps[j], ss), teacher: (teacherTaps[i], ts))
                root.register(child: plan.regressor, as: "pair_\(i)_\(j)")
                row.append(plan)
            }
            newPlans.append(row)
        }
        if lambdaMode == .learned {
            let p = Parameter(Tensor.zeros([teacherTaps.count, studentTaps.count]))
            root.register(parameter: p, as: "lambda_logits")
            lambdaLogits = p
        }
        plans = newPlans
        adapters = root
    }

    private func makePlan(student: (FeatureTap, [Int]), teacher: (FeatureTap, [Int])) throws -> PairPlan {
        let (st, raw) = student, (tt, rawT) = teacher
        func refuse(_ why: String) -> DistillationError {
            .incompatibleShapes(method: name, studentTap: st.description, studentShape: raw, teacherTap: tt.description, teacherShape: rawT, detail: why)
        }
        guard raw.count >= 1, rawT.count >= 1, raw[0] == rawT[0] else { throw refuse("batch sizes differ") }
        guard [2, 3, 4].contains(raw.count), [2, 3, 4].contains(rawT.count) else {
            throw refuse("the Gaussian regressor bridges [b, C, H, W] maps, [b, T, D] token sequences and [b, C] vectors only")
        }
        let bridge = TokenBridge.pair(student: raw, teacher: rawT)
        var plan = try makeMapPlan(bridge.shapes.0, bridge.shapes.1, refuse)
        plan.studentLayout = bridge.student; plan.teacherLayout = bridge.teacher
        return plan
    }

    private func makeMapPlan(_ ss: [Int], _ ts: [Int], _ refuse: (String) -> DistillationError) throws -> PairPlan {
        let cs = ss[1], ct = ts[1]
        guard cs >= 1, ct >= 1 else { throw refuse("a feature has no channels") }
        if ss.count == 4 && ts.count == 4 {
            let h = min(ss[2], ts[2]), w = min(ss[3], ts[3])
            let poolS: (Int, Int)? = (ss[2], ss[3]) == (h, w) ? nil : (h, w)
            let poolT: (Int, Int)? = (ts[2], ts[3]) == (h, w) ? nil : (h, w)
            let reg = GaussianRegressor(mean: Conv2d(cs, ct, kernel: 1, using: &generator), channels: ct,
                                        variance: initialVariance, eps: eps)
            return PairPlan(kind: .maps(pool: poolS, poolTeacher: poolT), regressor: reg)
        }
        let reg = GaussianRegressor(mean: Linear(cs, ct, using: &generator), channels: ct, variance: initialVariance, eps: eps)
        return PairPlan(kind: .vectors(poolStudent: ss.count == 4, poolTeacher: ts.count == 4), regressor: reg)
    }

    /// λ on the tape [n_t, n_s]: identity, uniform, or softmax over teachers of the logits.
    public func lambdaTensor() -> Tensor {
        let nt = teacherTaps.count, ns = studentTaps.count
        switch lambdaMode {
        case .pairwise: return Tensor.make([nt, ns]) { p in for k in 0..<(nt * ns) { p[k] = k / ns == k % ns ? 1 : 0 } }
        case .all: return Tensor(shape: [nt, ns], repeating: 1 / Float(nt))
        case .learned:
            guard let l = lambdaLogits else { failCheck("mi: λ requested before prepare(studentShapes:teacherShapes:)") }
            return l.value.softmax(alongAxis: 0)
        }
    }

    /// The current λ as plain numbers [n_t, n_s] (columns sum to 1), for reports.
    public var lambdaMatrix: Tensor { withoutGradients { lambdaTensor() }.detached() }

    /// Tap names for reports, teacher layers i and student layers j.
    public var teacherLayerNames: [String] { teacherTaps.map(\.description) }
    public var studentLayerNames: [String] { studentTaps.map(\.description) }

    /// The regressor of pair (teacher i, student j), nil for an inactive pair or before `prepare`.
    public func regressor(teacher i: Int, student j: Int) -> GaussianRegressor? {
        i < plans.count && j < plans[i].count ? plans[i][j]?.regressor : nil
    }

    /// NLLᵢⱼ for one pair's features.
    func pairLoss(_ plan: PairPlan, student s: Tensor, teacher t: Tensor) -> Tensor {
        var s = TokenBridge.apply(s, plan.studentLayout), t = TokenBridge.apply(t, plan.teacherLayout)
        switch plan.kind {
        case let .maps(poolS, poolT):
            if let p = poolS { s = adaptiveAvgPool2d(s, outputSize: p) }
            if let p = poolT { t = adaptiveAvgPool2d(t, outputSize: p) }
        case let .vectors(poolS, poolT):
            if poolS { s = s.mean(alongAxes: [2, 3]) }
            if poolT { t = t.mean(alongAxes: [2, 3]) }
        }
        return plan.regressor.negativeLogLikelihood(target: t, given: s)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        ensure(!plans.isEmpty, "mi: loss called before prepare(studentShapes:teacherShapes:)")
        ensure(batch.studentFeatures.count == studentTaps.count && batch.teacherFeatures.count == teacherTaps.count,
               "mi: batch has \(batch.studentFeatures.count) student and \(batch.teacherFeatures.count) teacher features for \(studentTaps.count) student and \(teacherTaps.count) teacher taps")
        let lambda = lambdaTensor()
        var total: Tensor? = nil
        for i in 0..<teacherTaps.count {
            for j in 0..<studentTaps.count {
                guard let plan = plans[i][j] else { continue }
                let s = batch.studentFeatures[j], t = batch.teacherFeatures[i].detached()
                ensure(s.rank >= 1 && t.rank >= 1 && s.shape[0] == t.shape[0],
                       "mi: student \(studentTaps[j]) \(Shape.describe(s.shape)) and teacher \(teacherTaps[i]) \(Shape.describe(t.shape)) differ in batch size")
                let nll = pairLoss(plan, student: s, teacher: t)
                let term: Tensor
                switch lambdaMode {
                case .pairwise: term = nll
                case .all: term = nll * (1 / Float(teacherTaps.count))
                case .learned: term = nll * lambda.slice(axis: 0, start: i, length: 1).slice(axis: 1, start: j, length: 1).reshaped([])
                }
                total = total.map { $0 + term } ?? term
            }
        }
        return total!
    }
}

/// q(t | s) = 𝒩(t; μ(s), diag σ²) with σ²_c = softplus(α_c) + ε: a mean regressor (child `mean`)
/// and the per-channel parameter `alpha` [C], initialised to softplus⁻¹(variance − ε).
public final class GaussianRegressor: Module {
    public let mean: Module
    public let alpha: Parameter
    public let eps: Float

    public init(mean: Module, channels: Int, variance: Float, eps: Float) {
        self.mean = mean; self.eps = eps
        let a = logf(expf(variance - eps) - 1)
        alpha = Parameter(Tensor(shape: [channels], repeating: a))
        super.init()
        register(child: mean, as: "mean")
        register(parameter: alpha, as: "alpha")
    }

    /// σ² [C].
    public var variance: Tensor { alpha.value.softplus() + eps }

    public override func forward(_ x: Tensor) -> Tensor { mean(x) }

    /// mean of ½[(t − μ(s))² / σ² + log σ²] over every element; t and μ(s) share a shape.
    public func negativeLogLikelihood(target t: Tensor, given s: Tensor) -> Tensor {
        let mu = mean(s)
        ensure(mu.shape == t.shape, "mi: regressor output \(Shape.describe(mu.shape)) does not match the teacher feature \(Shape.describe(t.shape))")
        let v = RelationSupport.channelView(variance, rank: t.rank)
        let d = t - mu
        return ((d * d / v + v.log()) * 0.5).mean()
    }
}

extension MutualInformationLoss: FigureDrawingLoss {
    /// The learned or fixed λ between teacher and student layers (`LambdaGraph`).
    public func figures(title: String) -> [(name: String, svg: String)] {
        [("lambda_graph", LambdaGraph.svg(for: self, title: "\(title): λ between teacher and student layers"))]
    }
}
