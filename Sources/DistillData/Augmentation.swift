#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DistillCore

/// A seeded batch augmentation: a list of steps applied in order to each minibatch.
///
/// Compose with `then` or `compose`, or parse a spec such as `"jitter:2,flip"`. Every random
/// number comes from the generator passed to `apply`, so a (seed, epoch, batch) triple fixes the
/// result (see `DataLoader`). `description` prints the spec back.
public struct Augmentation: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        /// Shift each image by (dx, dy), each uniform in −k … k, filling with zeros. Hinton et al.
        /// ("Improving neural networks by preventing co-adaptation of feature detectors", 2012)
        /// used ±2 pixels on MNIST.
        case jitter(Int)
        /// Zero-pad by `padding` on every side and crop `size`×`size` (default: the input size) at
        /// a uniform offset; CIFAR's standard is padding 4, crop 32 (He et al., CVPR 2016).
        case crop(padding: Int, size: Int?)
        /// Mirror each image left–right with probability p (default 0.5).
        case flip(Float)
        /// Per-channel (x − mean[c]) / std[c]; one value applies to every channel.
        case normalize(mean: [Float], std: [Float])
        /// Mixup with λ ~ Beta(α, α), one λ per batch, partners a seeded permutation of the batch.
        case mixup(alpha: Float)
    }

    public var steps: [Step]

    public init(_ steps: [Step] = []) { self.steps = steps }

    public static func jitter(_ pixels: Int) -> Augmentation { Augmentation([.jitter(pixels)]) }
    public static func randomCrop(padding: Int, size: Int? = nil) -> Augmentation { Augmentation([.crop(padding: padding, size: size)]) }
    public static func horizontalFlip(probability: Float = 0.5) -> Augmentation { Augmentation([.flip(probability)]) }
    public static func normalize(mean: [Float], std: [Float]) -> Augmentation { Augmentation([.normalize(mean: mean, std: std)]) }
    public static func mixup(alpha: Float) -> Augmentation { Augmentation([.mixup(alpha: alpha)]) }

    /// `self`'s steps followed by `next`'s.
    public func then(_ next: Augmentation) -> Augmentation { Augmentation(steps + next.steps) }
    public static func compose(_ parts: [Augmentation]) -> Augmentation { Augmentation(parts.flatMap(\.steps)) }

    /// Channel means and standard deviations of the usual datasets' training images.
    public static let normalizationPresets: [String: (mean: [Float], std: [Float])] = [
        "mnist": ([0.1307], [0.3081]),
        "fashion-mnist": ([0.2860], [0.3530]),
        "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
        "cifar100": ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
    ]

    public static func == (a: Augmentation, b: Augmentation) -> Bool { a.steps == b.steps }

    public var description: String {
        if steps.isEmpty { return "none" }
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: "/") }
        return steps.map { s -> String in
            switch s {
            case .jitter(let k): return "jitter:\(k)"
            case .crop(let p, let size): return size.map { "crop:\(p):\($0)" } ?? "crop:\(p)"
            case .flip(let p): return "flip:\(p)"
            case .normalize(let m, let s): return "normalize:\(list(m)):\(list(s))"
            case .mixup(let a): return "mixup:\(a)"
            }
        }.joined(separator: ",")
    }

    /// Throws unless every step fits images of shape [C, H, W] (each step the images the steps
    /// before it made); returns the shape of the augmented images.
    @discardableResult
    public func validate(imageShape: [Int]) throws -> [Int] {
        guard imageShape.count == 3 else { throw DataError.invalidArgument("augmentation \(self): images must be [C, H, W], got \(Shape.describe(imageShape))") }
        // each step sees the images the steps before it made (a crop changes their size)
        let c = imageShape[0]
        var (h, w) = (imageShape[1], imageShape[2])
        for s in steps {
            defer { if case .crop(_, let size?) = s { (h, w) = (size, size) } }
            let shape = [c, h, w]
            switch s {
            case .jitter(let k) where k < 0 || k > max(h, w):
                throw DataError.invalidArgument("augmentation \(self): jitter \(k) must be in 0…\(max(h, w)) for images of \(Shape.describe(shape))")
            case .crop(let p, _) where p > max(h, w):
                throw DataError.invalidArgument("augmentation \(self): crop padding \(p) must be at most \(max(h, w)) for images of \(Shape.describe(shape))")
            case .crop(let p, let size) where p < 0 || (size ?? 1) < 1:
                throw DataError.invalidArgument("augmentation \(self): crop padding \(p) must be ≥ 0 and size \(size ?? 1) ≥ 1")
            case .flip(let p) where !(0...1).contains(p):
                throw DataError.invalidArgument("augmentation \(self): flip probability \(p) is outside [0, 1]")
            case .mixup(let a) where !(a > 0):
                throw DataError.invalidArgument("augmentation \(self): mixup alpha \(a) must be positive")
            case .crop(let p, let size?) where size > h + 2 * p || size > w + 2 * p:
                throw DataError.invalidArgument("augmentation \(self): crop \(size) exceeds padded image \(h + 2 * p)×\(w + 2 * p) of \(Shape.describe(shape))")
            case .normalize(let m, let sd) where (m.count != c && m.count != 1) || m.count != sd.count:
                throw DataError.invalidArgument("augmentation \(self): normalize has \(m.count) means and \(sd.count) stds for \(c) channels of \(Shape.describe(shape))")
            default: continue
            }
        }
        return [c, h, w]
    }

    /// Applies every step to `batch` in order, drawing from `g`.
    public func apply(to batch: inout Batch, using g: inout SeededGenerator) {
        for s in steps {
            let n = batch.images.shape[0], h = batch.images.shape[2], w = batch.images.shape[3]
            switch s {
            case .jitter(let k):
                var dx = [Int](repeating: 0, count: n), dy = dx
                for i in 0..<n { dx[i] = g.nextInt(below: 2 * k + 1) - k; dy[i] = g.nextInt(below: 2 * k + 1) - k }
                batch.images = Augmentation.shifted(batch.images, dx: dx, dy: dy)
            case .crop(let p, let size):
                let sz = size ?? h
                let szw = size ?? w
                var ox = [Int](repeating: 0, count: n), oy = ox
                for i in 0..<n { oy[i] = g.nextInt(below: h + 2 * p - sz + 1) - p; ox[i] = g.nextInt(below: w + 2 * p - szw + 1) - p }
                batch.images = Augmentation.window(batch.images, height: sz, width: szw, top: oy, left: ox)
            case .flip(let p):
                let mask = (0..<n).map { _ in g.nextFloat() < p }
                Augmentation.flip(&batch.images, where: mask)
            case .normalize(let m, let sd):
                Augmentation.normalize(&batch.images, mean: m, std: sd)
            case .mixup(let alpha):
                let lambda = Augmentation.sampleBeta(alpha, alpha, using: &g)
                let partners = g.permutation(n)
                batch.images = Augmentation.blend(batch.images, partners: partners, lambda: lambda)
                let ls = batch.labels.scalars
                batch.mixing = Mixing(lambda: lambda, partners: partners, partnerLabels: IntTensor(partners.map { ls[$0] }))
            }
        }
    }

    // MARK: Kernels (deterministic; the randomness is all in `apply`)

    /// Moves image b's content by (dx[b], dy[b]) pixels (positive: right / down), zero fill:
    /// out[y][x] = in[y − dy][x − dx].
    public static func shifted(_ images: Tensor, dx: [Int], dy: [Int]) -> Tensor {
        window(images, height: images.shape[2], width: images.shape[3], top: dy.map { -$0 }, left: dx.map { -$0 })
    }

    /// out[b, c, y, x] = in[b, c, y + top[b], x + left[b]], zero where that lies outside the image.
    /// [N, C, H, W] → [N, C, height, width]. Each row is one clipped memcpy plus zero fills.
    public static func window(_ images: Tensor, height: Int, width: Int, top: [Int], left: [Int]) -> Tensor {
        ensure(images.rank == 4 && top.count == images.shape[0] && left.count == images.shape[0],
                     "Augmentation.window: images \(Shape.describe(images.shape)) need [N, C, H, W] and \(images.shape.first ?? 0) offsets, got \(top.count), \(left.count)")
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let src = images.storage.pointer
        return Tensor.make([n, c, height, width]) { o in
            for b in 0..<n {
                let sx = left[b], sy = top[b]
                let x0 = min(max(0, -sx), width), x1 = max(min(width, w - sx), x0)
                for ch in 0..<c {
                    let plane = src + (b * c + ch) * h * w
                    let outPlane = o + (b * c + ch) * height * width
                    for y in 0..<height {
                        let row = outPlane + y * width
                        let iy = y + sy
                        if iy < 0 || iy >= h {
                            row.update(repeating: 0, count: width)
                            continue
                        }
                        row.update(repeating: 0, count: x0)
                        row.advanced(by: x0).update(from: plane + iy * w + x0 + sx, count: x1 - x0)
                        row.advanced(by: x1).update(repeating: 0, count: width - x1)
                    }
                }
            }
        }
    }

    /// Mirrors the images whose `mask` entry is true, left–right, in place.
    public static func flip(_ images: inout Tensor, where mask: [Bool]) {
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        ensure(mask.count == n, "Augmentation.flip: \(mask.count) flags for images \(Shape.describe(images.shape))")
        images.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            for b in 0..<n where mask[b] {
                for r in 0..<(c * h) {
                    let row = p + (b * c * h + r) * w
                    var i = 0, j = w - 1
                    while i < j { let t = row[i]; row[i] = row[j]; row[j] = t; i += 1; j -= 1 }
                }
            }
        }
    }

    /// (x − mean[c]) / std[c] per channel, in place; a single mean/std applies to all channels.
    public static func normalize(_ images: inout Tensor, mean: [Float], std: [Float]) {
        let (n, c) = (images.shape[0], images.shape[1]), plane = images.shape[2] * images.shape[3]
        ensure((mean.count == c || mean.count == 1) && std.count == mean.count,
                     "Augmentation.normalize: \(mean.count) means / \(std.count) stds for images \(Shape.describe(images.shape))")
        images.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            for b in 0..<n {
                for ch in 0..<c {
                    let k = mean.count == 1 ? 0 : ch
                    let scale = 1 / std[k], shift = -mean[k] / std[k]
                    let q = p + (b * c + ch) * plane
                    for i in 0..<plane { q[i] = q[i] * scale + shift }
                }
            }
        }
    }

    /// λ · x[i] + (1 − λ) · x[partners[i]] for every batch position i.
    public static func blend(_ images: Tensor, partners: [Int], lambda: Float) -> Tensor {
        let n = images.shape[0], per = images.count / max(n, 1)
        ensure(partners.count == n, "Augmentation.blend: \(partners.count) partners for images \(Shape.describe(images.shape))")
        let src = images.storage.pointer, mu = 1 - lambda
        return Tensor.make(images.shape) { o in
            for i in 0..<n {
                let a = src + i * per, b = src + partners[i] * per, d = o + i * per
                for k in 0..<per { d[k] = lambda * a[k] + mu * b[k] }
            }
        }
    }

    /// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    static func sampleBeta(_ a: Float, _ b: Float, using g: inout SeededGenerator) -> Float {
        let x = sampleGamma(Double(a), using: &g), y = sampleGamma(Double(b), using: &g)
        return x + y > 0 ? Float(x / (x + y)) : 0.5
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (ACM TOMS 2000); shape < 1 via Gamma(shape + 1)·U^(1/shape).
    static func sampleGamma(_ shape: Double, using g: inout SeededGenerator) -> Double {
        if shape < 1 {
            let u = max(Double(g.nextFloat()), 1e-12)
            return sampleGamma(shape + 1, using: &g) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = Double(g.nextNormal())
            var v = 1 + c * x
            if v <= 0 { continue }
            v = v * v * v
            let u = max(Double(g.nextFloat()), 1e-12)
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
}
