import DistillCore
import DistillNN

/// FitNets hint loss (Romero, Ballas, Kahou, Chassang, Gatta & Bengio, "FitNets: Hints for Thin
/// Deep Nets", ICLR 2015).
///
///     L = Σ_pairs mean((r(s) − t)²)
///
/// where s is the student's guided-layer feature, t the teacher's hint-layer feature and r a
/// regressor built in `prepare` from the probe shapes: a 1×1 convolution Cₛ → Cₜ (with bias) for
/// maps [N, C, H, W], a linear layer Dₛ → Dₜ for vectors [N, D]. A spatial mismatch is resolved by
/// average-pooling the larger map (DESIGN.md); a student map is pooled before the regressor (the
/// two commute for a 1×1 convolution). The mean is over every element, as RepDistiller's
/// `HintLoss` (`nn.MSELoss`). Several pairs are summed. RepDistiller weights the term by β = 100
/// in joint training: set that as the objective weight; the loss itself is unweighted.
///
/// Stages: `fitnet-hint` (Romero et al. §2.2, stage 1) trains the student up to the guided layer
/// and the regressor on this loss for `hint_epochs` (default 30, RepDistiller's `init_epochs`);
/// the main stage then trains with the objective (e.g. Hinton KD).
///
/// Options: `student`, `teacher` (default `layer2`), `point`, `seed` (regressor init),
/// `hint_epochs`. Refuses in `prepare`: rank mismatch (map vs vector), ranks other than 2 or 4,
/// different batch sizes.
public final class FitNetLoss: MultiStageDistillationLoss {
    public let name = "fitnet"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let hintEpochs: Int
    public let seed: UInt64
    /// One regressor per tap pair (`0.weight`, `0.bias`, …), built by `prepare`.
    public private(set) var regressors: AdapterList?
    public var adapters: Module? { regressors }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], hintEpochs: Int = 30, seed: UInt64 = 0) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.hintEpochs = hintEpochs; self.seed = seed
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [2, 4], what: "maps [N, C, H, W] or vectors [N, D]")
        var g = SeededGenerator(seed: seed)
        var list: [Module] = []
        for i in 0..<ss.count {
            guard ss[i].count == ts[i].count else {
                throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, i, "a map and a vector cannot be regressed onto each other; tap two maps or two vectors")
            }
            if ss[i].count == 4 {
                list.append(Conv2d(ss[i][1], ts[i][1], kernel: 1, using: &g))
            } else {
                list.append(Linear(ss[i][1], ts[i][1], using: &g))
            }
        }
        regressors = AdapterList(list)
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard let regressors else { failCheck("fitnet: loss called before prepare") }
        return FeatureSupport.sumOverLayers(self, batch) { i, s, t in mseLoss(regressors[i](s), t) }
    }

    public func preTrainingStages() -> [PreTrainingStage] {
        guard let regressors else { failCheck("fitnet: preTrainingStages called before prepare") }
        return [PreTrainingStage(name: "fitnet-hint", epochs: hintEpochs, student: .upToTaps, modules: [regressors]) { self.loss($0) }]
    }
}
