import DistillCore
import DistillNN

/// FitNets hint loss (Romero, Ballas, Kahou, Chassang, Gatta & Bengio, "FitNets: Hints for Thin
/// Deep Nets", ICLR 2015).
///
///     L = Σ_pairs mean((r(s) − t)²)
///
/// where s is the student's guided-layer feature, t the teacher's hint-layer feature and r a
/// regressor built in `prepare` from the probe shapes (option `regressor`):
///
/// - `repdistiller` (default): RepDistiller's `ConvReg`, conv → BatchNorm2d(Cₜ) → ReLU, with the
///   conv chosen by the heights: Hₛ = 2·Hₜ a 3×3 conv, stride 2, padding 1; 2·Hₛ = Hₜ a 4×4
///   transposed conv, stride 2, padding 1; Hₛ ≥ Hₜ otherwise a conv with kernel
///   (1 + Hₛ − Hₜ) × (1 + Wₛ − Wₜ) (1×1 when the sizes match), all with bias. Any other ratio
///   (Hₛ < Hₜ, not half) is refused, as RepDistiller raises; so is a regressor output that is not
///   the teacher's shape (a width ratio unlike the height's). Names `0.conv.*`, `0.bn.*`.
/// - `conv1x1`: a plain 1×1 convolution Cₛ → Cₜ with bias (this library's regressor before the
///   RepDistiller one became the default); a spatial mismatch is resolved by average-pooling the
///   larger map (DESIGN.md), the student's before the regressor (the two commute). Names `0.*`.
/// - `none`: no regressor, for shapes that already match; equal channels are required (a
///   spatial mismatch is still resolved by pooling), otherwise `prepare` refuses.
///
/// For vectors [N, D] both learned regressors are a linear layer Dₛ → Dₜ. The mean is over every
/// element, as RepDistiller's `HintLoss` (`nn.MSELoss`). Several pairs are summed. RepDistiller
/// weights the term by β = 100 in joint training: set that as the objective weight.
///
/// Stages: `fitnet-hint` (Romero et al. §2.2, stage 1) trains the student up to the guided layer
/// and the regressor on this loss for `hint_epochs` (default 30, RepDistiller's `init_epochs`);
/// the main stage then trains with the objective (e.g. Hinton KD).
///
/// Options: `student`, `teacher` (default `layer2`), `point`, `regressor` (repdistiller),
/// `seed` (regressor init), `hint_epochs`. A token sequence [N, T, D] is made a map first
/// (`TokenBridge`: a square patch grid facing a map becomes that grid, otherwise [N, D, T, 1]), so
/// a transformer student takes hints from a convolutional teacher. Refuses in `prepare`: rank
/// mismatch (map vs vector), ranks other than 2, 3 or 4, different batch sizes, the shapes above.
public final class FitNetLoss: MultiStageDistillationLoss {
    /// Which regressor bridges student and teacher features.
    public enum Regressor: String, CaseIterable { case repdistiller, conv1x1, none }

    public let name = "fitnet"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let regressor: Regressor
    public let hintEpochs: Int
    public let seed: UInt64
    /// One regressor per tap pair (`0.conv.weight`, `0.weight`, …), built by `prepare`.
    public private(set) var regressors: AdapterList?
    /// How each pair's token sequences are made maps (`TokenBridge`), set in `prepare`.
    private var layouts: [(student: TokenBridge.Layout, teacher: TokenBridge.Layout)] = []
    public var adapters: Module? { regressor == .none ? nil : regressors }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], regressor: Regressor = .repdistiller,
                hintEpochs: Int = 30, seed: UInt64 = 0) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.regressor = regressor
        self.hintEpochs = hintEpochs; self.seed = seed
    }

    /// RepDistiller's `ConvReg`: conv (strided, transposed or size-reducing) → BN → ReLU.
    public final class ConvReg: Module {
        public let conv: Module, bn: BatchNorm2d

        init(conv: Module, channels: Int) {
            self.conv = conv; bn = BatchNorm2d(channels)
            super.init()
            register(child: conv, as: "conv"); register(child: bn, as: "bn")
        }

        public override func forward(_ x: Tensor) -> Tensor { bn(conv(x)).relu() }
    }

    /// RepDistiller's ConvReg for student map [N, Cₛ, Hₛ, Wₛ] → teacher map [N, Cₜ, Hₜ, Wₜ], with
    /// the output shape it gives; nil for a height ratio RepDistiller does not bridge.
    static func convReg(_ s: [Int], _ t: [Int], using g: inout SeededGenerator) -> (ConvReg, [Int])? {
        let (cs, hs, ws, ct, ht, wt) = (s[1], s[2], s[3], t[1], t[2], t[3])
        if hs == 2 * ht {
            return (ConvReg(conv: Conv2d(cs, ct, kernel: 3, stride: 2, padding: 1, using: &g), channels: ct),
                    [s[0], ct, (hs - 1) / 2 + 1, (ws - 1) / 2 + 1])
        }
        if 2 * hs == ht {
            return (ConvReg(conv: ConvTranspose2d(cs, ct, kernel: 4, stride: 2, padding: 1, using: &g), channels: ct), [s[0], ct, 2 * hs, 2 * ws])
        }
        guard hs >= ht, ws >= wt else { return nil }
        return (ConvReg(conv: Conv2d(cs, ct, kernel: (1 + hs - ht, 1 + ws - wt), using: &g), channels: ct), [s[0], ct, ht, wt])
    }

    public func prepare(studentShapes rawS: [[Int]], teacherShapes rawT: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, rawS, teacherTaps, rawT, ranks: [2, 3, 4], what: "maps [N, C, H, W], token sequences [N, T, D] or vectors [N, D]")
        let bridges = zip(rawS, rawT).map { TokenBridge.pair(student: $0, teacher: $1) }
        layouts = bridges.map { ($0.student, $0.teacher) }
        let ss = bridges.map(\.shapes.0), ts = bridges.map(\.shapes.1)
        var g = SeededGenerator(seed: seed)
        var list: [Module] = []
        for i in 0..<ss.count {
            guard ss[i].count == ts[i].count else {
                throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "a map and a vector cannot be regressed onto each other; tap two maps or two vectors")
            }
            switch (regressor, ss[i].count) {
            case (.none, _):
                guard ss[i][1] == ts[i][1] else {
                    throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "regressor=none needs equal channels (\(ss[i][1]) vs \(ts[i][1])); use regressor=repdistiller or conv1x1")
                }
                list.append(Module())
            case (_, 2): list.append(Linear(ss[i][1], ts[i][1], using: &g))
            case (.conv1x1, _): list.append(Conv2d(ss[i][1], ts[i][1], kernel: 1, using: &g))
            case (.repdistiller, _):
                guard let (reg, out) = Self.convReg(ss[i], ts[i], using: &g) else {
                    throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "RepDistiller's regressor bridges a student map of the teacher's height or larger, twice it or half it, not \(ss[i][2]) → \(ts[i][2]); use regressor=conv1x1 (pools the larger map)")
                }
                guard out == ts[i] else {
                    throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "RepDistiller's regressor maps the student to \(Shape.describe(out)), not the teacher's shape (it follows the heights; the widths' ratio differs); use regressor=conv1x1")
                }
                list.append(reg)
            }
        }
        regressors = AdapterList(list)
    }

    /// r(s) compared with t: pooled to a common size first unless the RepDistiller regressor
    /// already produced the teacher's shape.
    func pair(_ i: Int, _ s: Tensor, _ t: Tensor, _ regressors: AdapterList) -> Tensor {
        switch regressor {
        case .none:
            let (a, b) = FeatureSupport.matchSpatial(s, t)
            return mseLoss(a, b)
        case .conv1x1:
            let (a, b) = FeatureSupport.matchSpatial(s, t)
            return mseLoss(regressors[i](a), b)
        case .repdistiller:
            return mseLoss(regressors[i](s), t)
        }
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard let regressors else { failCheck("fitnet: loss called before prepare") }
        return FeatureSupport.sumOverLayers(self, batch, matchingSpatialSize: false) { i, s, t in
            pair(i, TokenBridge.apply(s, layouts[i].student), TokenBridge.apply(t, layouts[i].teacher), regressors)
        }
    }

    public func preTrainingStages() -> [PreTrainingStage] {
        guard let regressors else { failCheck("fitnet: preTrainingStages called before prepare") }
        return [PreTrainingStage(name: "fitnet-hint", epochs: hintEpochs, student: .upToTaps, modules: regressor == .none ? [] : [regressors]) { self.loss($0) }]
    }
}
