import DistillCore
import DistillData

/// Real training images in the normalised space that condensation works in, with the indices of
/// each class: what every method samples its real batches from.
///
/// Normalisation is per channel, x̂ = (x − mean) / std with the training set's own statistics —
/// for Fashion-MNIST 0.2861 / 0.3530, the constants of the reference `get_dataset`. Synthetic
/// images live in this space during condensation and are written back in pixel units.
public struct ClassImages {
    public let images: Tensor
    public let labels: IntTensor
    public let byClass: [[Int]]
    public let mean: [Float], std: [Float]
    public let classCount: Int

    /// Normalises `dataset` with its own statistics (or with `mean`/`std` when given).
    /// Throws when a class has no image (nothing to match it to).
    public init(_ dataset: Dataset, mean: [Float]? = nil, std: [Float]? = nil) throws {
        let c = dataset.imageShape[0]
        let (m, s) = mean.flatMap { m in std.map { (m, $0) } } ?? ClassImages.statistics(dataset.images)
        self.mean = m; self.std = s
        images = ClassImages.normalise(dataset.images, mean: m, std: s)
        labels = dataset.labels
        classCount = dataset.classCount
        var groups = Array(repeating: [Int](), count: dataset.classCount)
        for (i, y) in dataset.labels.scalars.enumerated() where y >= 0 && y < dataset.classCount { groups[y].append(i) }
        for (k, g) in groups.enumerated() where g.isEmpty {
            throw CondensationError.badValue(field: "data", detail: "class \(k) of \(dataset.name) has no training image")
        }
        byClass = groups
        _ = c
    }

    /// Per-channel mean and (population) standard deviation of [N, C, H, W] images.
    public static func statistics(_ x: Tensor) -> (mean: [Float], std: [Float]) {
        let n = x.shape[0], c = x.shape[1], s = x.shape[2] * x.shape[3]
        var mean = [Float](repeating: 0, count: c), std = [Float](repeating: 1, count: c)
        x.withUnsafeBufferPointer { p in
            for ch in 0..<c {
                var sum = 0.0, sq = 0.0
                for i in 0..<n { let base = (i * c + ch) * s; for j in 0..<s { let v = Double(p[base + j]); sum += v; sq += v * v } }
                let cnt = Double(max(n * s, 1)), mu = sum / cnt
                mean[ch] = Float(mu); std[ch] = Float(max((sq / cnt - mu * mu).squareRoot(), 1e-6))
            }
        }
        return (mean, std)
    }

    public static func normalise(_ x: Tensor, mean: [Float], std: [Float]) -> Tensor {
        let c = mean.count
        return withoutGradients { (x - Tensor(shape: [1, c, 1, 1], scalars: mean)) / Tensor(shape: [1, c, 1, 1], scalars: std) }
    }

    public func denormalise(_ x: Tensor) -> Tensor {
        let c = mean.count
        return withoutGradients { x.detached() * Tensor(shape: [1, c, 1, 1], scalars: std) + Tensor(shape: [1, c, 1, 1], scalars: mean) }
    }

    /// [C, H, W].
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }

    /// `n` distinct random images of class `c` (all of them when the class has fewer), as the
    /// reference's `get_images(c, n)`: a random permutation of the class, first n.
    public func sample(class c: Int, count n: Int, using g: inout SeededGenerator) -> Tensor {
        images.indexSelect(alongAxis: 0, indices: IntTensor(sampleIndices(class: c, count: n, using: &g)))
    }

    public func sampleIndices(class c: Int, count n: Int, using g: inout SeededGenerator) -> [Int] {
        var idx = byClass[c]
        let k = min(n, idx.count)
        for i in 0..<k {   // partial Fisher–Yates
            let j = i + g.nextInt(below: idx.count - i)
            idx.swapAt(i, j)
        }
        return Array(idx.prefix(k))
    }
}
