import DistillCore
import DistillNN

/// Factor transfer (Kim, Park & Kwak, "Paraphrasing Complex Network: Network Compression via
/// Factor Transfer", NeurIPS 2018).
///
/// A paraphraser P (teacher side) is first trained alone to reconstruct the teacher feature t
/// (stage `ft-paraphraser`, loss mean((P_dec(P_enc(t)) − t)²)); then P is frozen and a translator
/// T (student side, the adapter) learns to produce the same factor from the student feature s:
///
///     Fₜ = P_enc(t),   Fₛ = T(s)                                   [N, ⌊k·Cₜ⌋, H, W]
///     L  = mean over N·D of | vec(Fₛ)/‖vec(Fₛ)‖₂ − vec(Fₜ)/‖vec(Fₜ)‖₂ |ᵖ,   p = 1
///
/// the paper's factor (option `factor=paper`, the default: each sample's flattened factor,
/// L2-normalised with `F.normalize`'s ε = 1e-12) and its L1 distance, averaged over elements as
/// the authors' `nn.L1Loss`. With `factor=repdistiller` the factor is RepDistiller's
/// `FactorTransfer.factor`, the channel mean of F² normalised per sample as attention transfer
/// does, vec(mean_c F_c²)/‖·‖₂ [N, H·W] (its p1 = 2; the distance exponent p is its p2). Networks, from RepDistiller's `Paraphraser` /
/// `Translator`, all 3×3 convolutions with stride 1, padding 1, bias, LeakyReLU(0.1):
/// P_enc = conv(Cₜ→Cₜ), conv(Cₜ→F), conv(F→F); P_dec = conv(F→F), conv(F→Cₜ), conv(Cₜ→Cₜ), each
/// followed by LeakyReLU, no batch norm (RepDistiller's default `use_bn=False`; its decoder's
/// stride-1 transposed convolutions are plain convolutions with flipped kernels, so convolutions
/// are used); T = conv(Cₛ→Cₛ), conv(Cₛ→F), conv(F→F), each followed by batch norm and LeakyReLU.
/// F = ⌊k·Cₜ⌋ with rate k = 0.5 (paper, RepDistiller). A spatial mismatch between the two factors
/// is resolved by average-pooling the larger. RepDistiller weights the term by β = 200 (objective
/// weight); the loss is unweighted. Names: translator `encoder.{0,1,3,4,6,7}.*`; paraphraser
/// `encoder.{0,2,4}.*`, `decoder.{0,2,4}.*`.
///
/// Options: `student`, `teacher` (default `layer3`; exactly one tap each), `point`, `rate` (0.5),
/// `p` (1 or 2), `factor` (paper or repdistiller), `seed`, `init_epochs` (30, RepDistiller's paraphraser epochs).
/// Refuses in `prepare`: features that are not [N, C, H, W], different batch sizes, ⌊k·Cₜ⌋ < 1.
public final class FactorTransferLoss: MultiStageDistillationLoss {
    /// How the factor is reduced before the distance: the paper's (default) or RepDistiller's.
    public enum Factor: String, CaseIterable { case paper, repdistiller }

    public let name = "ft"
    public let studentTaps: [FeatureTap]
    public let teacherTaps: [FeatureTap]
    public let rate: Float
    public let p: Int
    public let factor: Factor
    public let initEpochs: Int
    public let seed: UInt64
    /// Teacher-side paraphraser (children `encoder`, `decoder`); trained only in its stage.
    public private(set) var paraphraser: Paraphraser?
    /// Student-side translator (child `encoder`): the adapter.
    public private(set) var translator: Module?
    public var adapters: Module? { translator }

    /// The paraphraser: an encoder producing the factor and a decoder reconstructing the input.
    public final class Paraphraser: Module {
        public let encoder: Sequential, decoder: Sequential

        init(channels c: Int, factor f: Int, using g: inout SeededGenerator) {
            encoder = Sequential(Conv2d(c, c, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1),
                                 Conv2d(c, f, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1),
                                 Conv2d(f, f, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1))
            decoder = Sequential(Conv2d(f, f, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1),
                                 Conv2d(f, c, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1),
                                 Conv2d(c, c, kernel: 3, padding: 1, using: &g), LeakyReLU(slope: 0.1))
            super.init()
            register(child: encoder, as: "encoder"); register(child: decoder, as: "decoder")
        }

        /// mean((decoder(encoder(t)) − t)²): the reconstruction loss of the paraphraser stage.
        public func reconstructionLoss(_ t: Tensor) -> Tensor { mseLoss(decoder(encoder(t)), t) }
    }

    final class Translator: Module {
        let encoder: Sequential
        init(channels c: Int, factor f: Int, using g: inout SeededGenerator) {
            encoder = Sequential(Conv2d(c, c, kernel: 3, padding: 1, using: &g), BatchNorm2d(c), LeakyReLU(slope: 0.1),
                                 Conv2d(c, f, kernel: 3, padding: 1, using: &g), BatchNorm2d(f), LeakyReLU(slope: 0.1),
                                 Conv2d(f, f, kernel: 3, padding: 1, using: &g), BatchNorm2d(f), LeakyReLU(slope: 0.1))
            super.init()
            register(child: encoder, as: "encoder")
        }
        override func forward(_ x: Tensor) -> Tensor { encoder(x) }
    }

    public init(studentTaps: [FeatureTap], teacherTaps: [FeatureTap], rate: Float = 0.5, p: Int = 1, factor: Factor = .paper,
                initEpochs: Int = 30, seed: UInt64 = 0) {
        self.studentTaps = studentTaps; self.teacherTaps = teacherTaps; self.rate = rate; self.p = p; self.factor = factor
        self.initEpochs = initEpochs; self.seed = seed
    }

    public func prepare(studentShapes ss: [[Int]], teacherShapes ts: [[Int]]) throws {
        try FeatureSupport.validate(name, studentTaps, ss, teacherTaps, ts, ranks: [4], what: "maps [N, C, H, W]")
        let f = Int(Float(ts[0][1]) * rate)
        guard f >= 1 else {
            throw FeatureSupport.incompatible(name, studentTaps, ss, teacherTaps, ts, 0, "rate \(rate) leaves ⌊\(rate)·\(ts[0][1])⌋ = 0 factor channels")
        }
        var g = SeededGenerator(seed: seed)
        paraphraser = Paraphraser(channels: ts[0][1], factor: f, using: &g)
        translator = Translator(channels: ss[0][1], factor: f, using: &g)
    }

    /// vec(F)/‖vec(F)‖₂ per sample: [N, D] (the paper); with `.repdistiller` the normalised
    /// channel mean of F², [N, H·W].
    static func factor(_ f: Tensor, _ kind: Factor = .paper) -> Tensor {
        switch kind {
        case .paper: return FeatureSupport.l2Normalized(f.reshaped([f.shape[0], -1]), alongAxis: 1)
        case .repdistiller: return AttentionTransferLoss.attentionMap(f, p: 2)
        }
    }

    public func loss(_ batch: DistillationBatch) -> Tensor {
        guard let paraphraser, let translator else { failCheck("ft: loss called before prepare") }
        ensure(batch.studentFeatures.count == 1 && batch.teacherFeatures.count == 1,
               "ft: expected 1 student and 1 teacher feature, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
        let ft = withoutGradients { paraphraser.encoder(batch.teacherFeatures[0].detached()) }
        let fs = translator(batch.studentFeatures[0])
        let (a, b) = FeatureSupport.matchSpatial(fs, ft)
        let d = Self.factor(a, factor) - Self.factor(b, factor)
        return p == 1 ? d.abs().mean() : (d * d).mean()
    }

    public func preTrainingStages() -> [PreTrainingStage] {
        guard let paraphraser else { failCheck("ft: preTrainingStages called before prepare") }
        return [PreTrainingStage(name: "ft-paraphraser", epochs: initEpochs, student: .frozen, modules: [paraphraser],
                                 needsStudent: false) { batch in
            ensure(batch.teacherFeatures.count == 1, "ft-paraphraser: expected 1 teacher feature, got \(batch.teacherFeatures.count)")
            return paraphraser.reconstructionLoss(batch.teacherFeatures[0].detached())
        }]
    }
}
