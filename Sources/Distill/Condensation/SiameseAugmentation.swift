import Foundation
import DistillCore
import DistillData

/// Differentiable Siamese Augmentation (DSA): the same random transformation applied to the real
/// and the synthetic batch of one condensation step, built from differentiable ops so the
/// gradient-matching loss reaches the synthetic images through it.
///
/// Transforms (strategy groups, reference `AUGMENT_FNS`), for x [N, C, H, W]:
/// - color: brightness x + (r₁ − ½)·1.0, then saturation (x − x̄_c)·2r₂ + x̄_c (x̄_c: channel
///   mean), then contrast (x − x̄)·(r₃ + 0.5) + x̄ (x̄: mean over C, H, W), r ~ U(0, 1);
/// - crop: translation by U{−s, …, s} pixels per axis, s = ⌊0.125·H + 0.5⌋, zero fill;
/// - cutout: a ⌊H/2 + ½⌋ × ⌊W/2 + ½⌋ square zeroed around a centre drawn in 0 … H (− 1 if odd);
/// - flip: of the width axis with probability 0.5;
/// - scale: affine_grid [[sx, 0, 0], [0, sy, 0]], sx, sy ~ U(1/1.2, 1.2), then bilinear
///   grid_sample with zero padding;
/// - rotate: affine_grid by a ~ U(−15°, 15°), then grid_sample.
/// affine_grid and grid_sample use align_corners = False, what the reference gets from PyTorch
/// ≥ 1.3 by passing none (checked in `make_sampling_fixtures.py`).
///
/// Defaults are those of the reference code: `DSAHyperparameters` = `ParamDiffAug`, mode
/// `.single` (aug_mode 'S': each draw picks one group of the strategy uniformly; `.multiple` runs
/// them all in order), and one draw shared by the whole batch (what the reference does whenever
/// it is given a seed; `batchShared = false` draws per sample). The random numbers come from the
/// project's `SeededGenerator`, not from PyTorch's generator, so a seed does not give the
/// reference's draws; the distributions are the reference's. The reference re-seeds PyTorch's
/// global generator from the clock for every step; here one generator owned by the augmentation
/// advances, and its state is checkpointed through `RandomStateOwner`.
///
/// Paper: Bo Zhao and Hakan Bilen, "Dataset Condensation with Differentiable Siamese
/// Augmentation", ICML 2021; code: VICO-UoE/DatasetCondensation (`utils.py`: `DiffAugment`).
public final class SiameseAugmentation: RandomStateOwner {
    public let strategy: String
    public let transforms: [Transform]
    public let parameters: DSAHyperparameters
    var generator: SeededGenerator

    /// Throws `DataError.badAugmentationSpec` for an unknown transform (listing the valid ones)
    /// or a hyper-parameter out of range.
    public init(strategy: String = "color_crop_cutout_flip_scale_rotate", seed: UInt64, parameters: DSAHyperparameters = .init()) throws {
        transforms = try Self.parse(strategy)
        let p = parameters
        let checks: [(String, Bool)] = [
            ("ratio_scale \(p.ratioScale) must be in [1, 10]", p.ratioScale >= 1 && p.ratioScale <= 10),
            ("ratio_rotate \(p.ratioRotate) must be in [0, 180] degrees", p.ratioRotate >= 0 && p.ratioRotate <= 180),
            ("ratio_crop_pad \(p.ratioCropPad) must be in [0, 1]", p.ratioCropPad >= 0 && p.ratioCropPad <= 1),
            ("ratio_cutout \(p.ratioCutout) must be in [0, 1]", p.ratioCutout >= 0 && p.ratioCutout <= 1),
            ("brightness \(p.brightness), saturation \(p.saturation), contrast \(p.contrast) must be finite and ≥ 0",
             [p.brightness, p.saturation, p.contrast].allSatisfy { $0.isFinite && $0 >= 0 }),
            ("prob_flip \(p.probFlip) must be in [0, 1]", p.probFlip >= 0 && p.probFlip <= 1),
        ]
        if let bad = checks.first(where: { !$0.1 }) { throw DataError.badAugmentationSpec(spec: strategy, detail: bad.0) }
        self.strategy = strategy
        self.parameters = parameters
        generator = SeededGenerator(seed: seed)
    }

    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }

    /// Draws one step's parameters for images of `height × width` (and `batch` samples when not
    /// batch-shared), advancing the generator.
    public func draw(batch: Int = 1, height: Int, width: Int) -> DSADraw {
        let n = parameters.batchShared ? 1 : Swift.max(batch, 1)
        guard !transforms.isEmpty else { return DSADraw(height: height, width: width, ops: []) }
        let chosen = parameters.mode == .single ? [transforms[generator.nextInt(below: transforms.count)]] : transforms
        return DSADraw(height: height, width: width,
                       ops: chosen.flatMap { Self.drawOps($0, count: n, height: height, width: width, parameters, &generator) })
    }

    /// Draws once and applies the same parameters to every tensor (e.g. [real, synthetic]); the
    /// tensors may differ in batch size when the draw is batch-shared. Throws
    /// `DataError.invalidArgument` naming the shapes when they are not [N, C, H, W] of one H × W.
    public func callAsFunction(_ tensors: [Tensor]) throws -> [Tensor] {
        guard let first = tensors.first else { return [] }
        guard first.rank == 4 else { throw DataError.invalidArgument("SiameseAugmentation: input \(Shape.describe(first.shape)) is not [N, C, H, W]") }
        try Self.check(tensors, height: first.shape[2], width: first.shape[3], count: parameters.batchShared ? 1 : first.shape[0])
        let d = draw(batch: first.shape[0], height: first.shape[2], width: first.shape[3])
        return try tensors.map { try Self.apply(d, to: $0) }
    }

    static func check(_ tensors: [Tensor], height: Int, width: Int, count: Int) throws {
        for x in tensors {
            guard x.rank == 4, x.shape[0] >= 1, x.shape[1] >= 1, x.shape[2] == height, x.shape[3] == width, count == 1 || x.shape[0] == count else {
                throw DataError.invalidArgument("SiameseAugmentation: inputs \(tensors.map { Shape.describe($0.shape) }.joined(separator: ", ")) must be [N, C, \(height), \(width)]" + (count == 1 ? "" : " with N = \(count) (per-sample draws)"))
            }
        }
    }

    /// Applies a draw to x [N, C, H, W] with differentiable ops (x keeps its place on the tape).
    public static func apply(_ d: DSADraw, to x: Tensor) throws -> Tensor {
        let counts = Set(d.ops.map(\.count))
        try check([x], height: d.height, width: d.width, count: counts.max() ?? 1)
        let (h, w) = (d.height, d.width)
        func column(_ v: [Float]) -> Tensor { Tensor(shape: [v.count, 1, 1, 1], scalars: v) }
        var y = x
        for op in d.ops {
            switch op {
            case let .brightness(r, ratio):
                y = y + column(r.map { ($0 - 0.5) * ratio })
            case let .saturation(r, ratio):
                let m = y.mean(alongAxes: [1], keepDims: true)
                y = (y - m) * column(r.map { $0 * ratio }) + m
            case let .contrast(r, ratio):
                let m = y.mean(alongAxes: [1, 2, 3], keepDims: true)
                y = (y - m) * column(r.map { $0 + ratio }) + m
            case let .crop(rows, columns):
                y = gridSample(y, plan: .translation(rows: rows, columns: columns, size: (h, w)))
            case let .cutout(rows, columns, size):
                let mask = Tensor.make([rows.count, 1, h, w]) { m in
                    m.initialize(repeating: 1, count: rows.count * h * w)
                    for s in 0..<rows.count {
                        let r0 = Swift.max(rows[s] - size.0 / 2, 0), r1 = Swift.min(rows[s] - size.0 / 2 + size.0, h)
                        let c0 = Swift.max(columns[s] - size.1 / 2, 0), c1 = Swift.min(columns[s] - size.1 / 2 + size.1, w)
                        if r0 < r1 && c0 < c1 { for i in r0..<r1 { for j in c0..<c1 { m[(s * h + i) * w + j] = 0 } } }
                    }
                }
                y = y * mask
            case let .flip(f):
                y = gridSample(y, plan: .horizontalFlip(f, size: (h, w)))
            case let .scale(sx, sy):
                y = affine(y, zip(sx, sy).map { [$0, 0, 0, 0, $1, 0] })
            case let .rotate(a):
                y = affine(y, a.map { [Float(cos(Double($0))), -Float(sin(Double($0))), 0, Float(sin(Double($0))), Float(cos(Double($0))), 0] })
            }
        }
        return y
    }

    /// affine_grid + grid_sample (align_corners False) with one θ per value (1: the whole batch).
    static func affine(_ x: Tensor, _ thetas: [[Float]]) -> Tensor {
        let theta = Tensor(shape: [thetas.count, 2, 3], scalars: thetas.flatMap { $0 })
        let grid = affineGrid(theta: theta, size: [thetas.count, x.shape[1], x.shape[2], x.shape[3]])
        return gridSample(x, plan: SamplingPlan(grid: grid, inputSize: (x.shape[2], x.shape[3])))
    }
}
