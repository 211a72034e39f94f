import DistillCore
import DistillData

/// The hyper-parameters of DSA, with the defaults of the reference's `ParamDiffAug`
/// (VICO-UoE/DatasetCondensation, `utils.py`).
public struct DSAHyperparameters: Equatable, Sendable {
    /// How a strategy's transforms are used per draw: `.single` (reference `aug_mode = 'S'`, its
    /// default): one transform group of the strategy, chosen uniformly; `.multiple` ('M'): every
    /// group in strategy order.
    public enum Mode: String, Sendable { case single, multiple }

    public var mode: Mode = .single
    /// sx, sy ~ U(1/ratio, ratio) (`ratio_scale`).
    public var ratioScale: Float = 1.2
    /// θ ~ U(−ratio, ratio) degrees (`ratio_rotate`).
    public var ratioRotate: Float = 15
    /// Shift ~ U{−s, …, s}, s = ⌊H·ratio + 0.5⌋ pixels (`ratio_crop_pad`).
    public var ratioCropPad: Float = 0.125
    /// Cutout side ⌊H·ratio + 0.5⌋ (`ratio_cutout`).
    public var ratioCutout: Float = 0.5
    /// x + (r − 0.5)·brightness, r ~ U(0, 1).
    public var brightness: Float = 1
    /// (x − mean_c x)·(r·saturation) + mean_c x.
    public var saturation: Float = 2
    /// (x − mean x)·(r + contrast) + mean x.
    public var contrast: Float = 0.5
    /// Flip when r < probFlip.
    public var probFlip: Float = 0.5
    /// One draw for the whole batch (true, default) or one per sample. The reference shares the
    /// first sample's draw with the whole batch for every transform whenever a seed is given
    /// (Siamese use, `param.Siamese` / later `param.batchmode`), and draws per sample only when
    /// it is not (seed −1, the augmentation of evaluation training). Per-sample draws need every
    /// tensor of one application to have the draw's batch size.
    public var batchShared: Bool = true

    public init() {}
}

/// One augmentation step's random parameters, drawn once and applied to every tensor of the step
/// (real and synthetic). Each array holds one value per sample, or one value for the whole batch.
public struct DSADraw: Equatable, Sendable {
    public enum Op: Equatable, Sendable {
        /// r ~ U(0, 1): x + (r − 0.5)·ratio.
        case brightness([Float], ratio: Float)
        /// r ~ U(0, 1): (x − m)·(r·ratio) + m, m the mean over channels.
        case saturation([Float], ratio: Float)
        /// r ~ U(0, 1): (x − m)·(r + ratio) + m, m the mean over C, H, W of each sample.
        case contrast([Float], ratio: Float)
        /// Translation by (rows, columns) pixels with zero fill: out[i, j] = x[i + r, j + c].
        case crop(rows: [Int], columns: [Int])
        /// Zeroes rows [r − s₀/2, r − s₀/2 + s₀) × columns likewise, clipped to the image, with
        /// centre (r, c) and size (s₀, s₁).
        case cutout(rows: [Int], columns: [Int], size: (Int, Int))
        /// Flips the width axis where true.
        case flip([Bool])
        /// affine_grid θ = [[sx, 0, 0], [0, sy, 0]], bilinear grid_sample.
        case scale(sx: [Float], sy: [Float])
        /// affine_grid θ = [[cos a, −sin a, 0], [sin a, cos a, 0]], a in radians.
        case rotate([Float])

        public static func == (a: Op, b: Op) -> Bool { String(describing: a) == String(describing: b) }

        /// Values per op: 1 (shared by the batch) or the batch size.
        var count: Int {
            switch self {
            case let .brightness(r, _), let .saturation(r, _), let .contrast(r, _), let .rotate(r): return r.count
            case let .crop(r, _), let .cutout(r, _, _): return r.count
            case let .flip(f): return f.count
            case let .scale(sx, _): return sx.count
            }
        }
    }

    /// The image size the draw was made for (crop and cutout depend on it).
    public let height: Int, width: Int
    public let ops: [Op]

    public init(height: Int, width: Int, ops: [Op]) { self.height = height; self.width = width; self.ops = ops }
}

extension SiameseAugmentation {
    /// The transform groups of a strategy string, as the reference's `AUGMENT_FNS`.
    public enum Transform: String, CaseIterable, Sendable { case color, crop, cutout, flip, scale, rotate }

    /// Parses "color_crop_cutout_flip_scale_rotate" (groups joined by '_'); "", "none" and "None"
    /// mean no augmentation. An unknown group throws, listing the valid ones.
    public static func parse(_ strategy: String) throws -> [Transform] {
        if strategy.isEmpty || strategy == "none" || strategy == "None" { return [] }
        return try strategy.split(separator: "_", omittingEmptySubsequences: false).map { part in
            guard let t = Transform(rawValue: String(part)) else {
                throw DataError.badAugmentationSpec(spec: strategy, detail: "unknown DSA transform '\(part)'; valid: \(Transform.allCases.map(\.rawValue).joined(separator: ", ")) joined by '_', or 'none'")
            }
            return t
        }
    }

    /// Draws the parameters of `transform` for `count` values (1: batch-shared), in the
    /// reference's order of draws within the group.
    static func drawOps(_ transform: Transform, count n: Int, height h: Int, width w: Int, _ p: DSAHyperparameters,
                        _ g: inout SeededGenerator) -> [DSADraw.Op] {
        func u() -> [Float] { (0..<n).map { _ in g.nextFloat() } }
        func ints(_ lo: Int, _ hiExclusive: Int) -> [Int] { (0..<n).map { _ in lo + g.nextInt(below: hiExclusive - lo) } }
        switch transform {
        case .color:
            return [.brightness(u(), ratio: p.brightness), .saturation(u(), ratio: p.saturation), .contrast(u(), ratio: p.contrast)]
        case .crop:
            let sh = Int(Float(h) * p.ratioCropPad + 0.5), sw = Int(Float(w) * p.ratioCropPad + 0.5)
            return [.crop(rows: ints(-sh, sh + 1), columns: ints(-sw, sw + 1))]
        case .cutout:
            let size = (Int(Float(h) * p.ratioCutout + 0.5), Int(Float(w) * p.ratioCutout + 0.5))
            return [.cutout(rows: ints(0, h + (1 - size.0 % 2)), columns: ints(0, w + (1 - size.1 % 2)), size: size)]
        case .flip:
            return [.flip(u().map { $0 < p.probFlip })]
        case .scale:
            let lo = 1 / p.ratioScale, span = p.ratioScale - lo
            return [.scale(sx: u().map { $0 * span + lo }, sy: u().map { $0 * span + lo })]
        case .rotate:
            return [.rotate(u().map { ($0 - 0.5) * 2 * p.ratioRotate / 180 * Float.pi })]
        }
    }
}
