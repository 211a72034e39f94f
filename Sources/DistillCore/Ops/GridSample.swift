/// Resampling of NCHW images along a fixed sampling grid: PyTorch's `F.affine_grid` and
/// `F.grid_sample` (bilinear, zero padding), and integer translations and flips as special cases.
///
/// With the grid fixed, sampling is linear in the input: y = S x, S a sparse matrix with at most
/// four taps per output pixel (the bilinear weights), the same for every channel. Two primitive
/// ops form a closed pair under differentiation, so gradients of any order exist:
/// - `gridSample`: y = S x (gather with weights);
/// - `gridSampleBackward`: dx = Sᵀ dy (scatter-add with the same weights), the adjoint.
/// The pullback of each is the other. The grid itself is a constant: no gradient flows to it
/// (DSA, the use here, differentiates only the images).

/// A fixed sampling: for every output pixel of every plan sample, four (source index, weight)
/// taps into an input plane of `inputHeight × inputWidth`. `batch` is 1 (one geometry shared by
/// every sample of any batch) or N (one per sample). Index −1 marks a tap outside the image
/// (zero padding); its weight is 0.
public struct SamplingPlan: Sendable {
    public let batch: Int
    public let inputHeight: Int, inputWidth: Int
    public let outputHeight: Int, outputWidth: Int
    /// [batch · outH · outW · 4] source offsets within one input plane (or −1).
    let index: [Int32]
    /// [batch · outH · outW · 4] weights.
    let weight: [Float]

    var inputPlane: Int { inputHeight * inputWidth }
    var outputPlane: Int { outputHeight * outputWidth }

    init(batch: Int, input: (Int, Int), output: (Int, Int), index: [Int32], weight: [Float]) {
        ensure(batch >= 1 && input.0 >= 1 && input.1 >= 1 && output.0 >= 1 && output.1 >= 1
               && index.count == batch * output.0 * output.1 * 4 && weight.count == index.count,
               "SamplingPlan: \(index.count) taps for batch \(batch), input \(input), output \(output)")
        self.batch = batch; inputHeight = input.0; inputWidth = input.1; outputHeight = output.0; outputWidth = output.1
        self.index = index; self.weight = weight
    }

    /// The plan of `F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners:)`
    /// for grid [B, OH, OW, 2] (last axis (x, y) in [−1, 1]: x along the width) over inputs of
    /// `inputSize` (H, W). Unnormalisation as PyTorch: ix = ((x + 1)·W − 1)/2 when not
    /// `alignCorners` (PyTorch's default since 1.3), ix = (x + 1)/2·(W − 1) when it is; the four
    /// neighbours ⌊ix⌋, ⌊ix⌋ + 1 (likewise iy) get weights (1 − fx)(1 − fy), fx(1 − fy), …, and
    /// those outside the image are dropped (zeros padding).
    public init(grid: Tensor, inputSize: (height: Int, width: Int), alignCorners: Bool = false) {
        ensure(grid.rank == 4 && grid.shape[3] == 2 && grid.shape[0] >= 1 && grid.shape[1] >= 1 && grid.shape[2] >= 1,
               "gridSample: grid \(Shape.describe(grid.shape)) must be [N, OH, OW, 2]")
        ensure(inputSize.height >= 1 && inputSize.width >= 1, "gridSample: input size \(inputSize) must be ≥ 1")
        let (b, oh, ow) = (grid.shape[0], grid.shape[1], grid.shape[2])
        let (h, w) = (inputSize.height, inputSize.width)
        var index = [Int32](repeating: -1, count: b * oh * ow * 4), weight = [Float](repeating: 0, count: b * oh * ow * 4)
        let g = grid.scalars
        let fw = Float(w), fh = Float(h)
        for p in 0..<(b * oh * ow) {
            let gx = g[2 * p], gy = g[2 * p + 1]
            let ix = alignCorners ? (gx + 1) / 2 * (fw - 1) : ((gx + 1) * fw - 1) / 2
            let iy = alignCorners ? (gy + 1) / 2 * (fh - 1) : ((gy + 1) * fh - 1) / 2
            guard ix.isFinite, iy.isFinite, abs(ix) < 1e7, abs(iy) < 1e7 else { continue }
            let x0 = ix.rounded(.down), y0 = iy.rounded(.down)
            let fx = ix - x0, fy = iy - y0
            let taps: [(Int, Int, Float)] = [(Int(y0), Int(x0), (1 - fx) * (1 - fy)), (Int(y0), Int(x0) + 1, fx * (1 - fy)),
                                             (Int(y0) + 1, Int(x0), (1 - fx) * fy), (Int(y0) + 1, Int(x0) + 1, fx * fy)]
            for (k, (yy, xx, wt)) in taps.enumerated() where yy >= 0 && yy < h && xx >= 0 && xx < w {
                index[4 * p + k] = Int32(yy * w + xx); weight[4 * p + k] = wt
            }
        }
        self.init(batch: b, input: (h, w), output: (oh, ow), index: index, weight: weight)
    }

    /// out[n, c, i, j] = x[n, c, i + rows[n], j + columns[n]] where that is inside the image,
    /// else 0 (translation with zero fill); one shift per plan sample.
    public static func translation(rows: [Int], columns: [Int], size: (height: Int, width: Int)) -> SamplingPlan {
        ensure(rows.count == columns.count, "SamplingPlan.translation: \(rows.count) row and \(columns.count) column shifts")
        let (h, w) = size
        return oneTap(count: rows.count, size: size) { n, i, j in
            let si = i + rows[n], sj = j + columns[n]
            return si >= 0 && si < h && sj >= 0 && sj < w ? si * w + sj : -1
        }
    }

    /// out[n, c, i, j] = x[n, c, i, W − 1 − j] where `flip[n]`, else x[n, c, i, j].
    public static func horizontalFlip(_ flip: [Bool], size: (height: Int, width: Int)) -> SamplingPlan {
        let w = size.width
        return oneTap(count: flip.count, size: size) { n, i, j in i * w + (flip[n] ? w - 1 - j : j) }
    }

    /// A same-size plan whose output (n, i, j) copies source offset `source(n, i, j)` (−1: zero).
    static func oneTap(count: Int, size: (height: Int, width: Int), _ source: (Int, Int, Int) -> Int) -> SamplingPlan {
        ensure(count >= 1 && size.height >= 1 && size.width >= 1, "SamplingPlan: \(count) samples of \(size.height)×\(size.width)")
        let (h, w) = size
        var index = [Int32](repeating: -1, count: count * h * w * 4), weight = [Float](repeating: 0, count: index.count)
        for n in 0..<count {
            for i in 0..<h {
                for j in 0..<w {
                    let p = (n * h + i) * w + j, src = source(n, i, j)
                    if src >= 0 { index[4 * p] = Int32(src); weight[4 * p] = 1 }
                }
            }
        }
        return SamplingPlan(batch: count, input: size, output: size, index: index, weight: weight)
    }

    /// Checks that `x` [N, C, H, W] fits this plan.
    func check(input x: Tensor, _ op: String) {
        ensure(x.rank == 4 && x.shape[2] == inputHeight && x.shape[3] == inputWidth && (batch == 1 || x.shape[0] == batch),
               "\(op): input \(Shape.describe(x.shape)) does not fit a plan of \(batch) × \(inputHeight)×\(inputWidth) → \(outputHeight)×\(outputWidth)")
    }
}

/// `F.affine_grid(theta, size, align_corners:)`: for theta [N, 2, 3] and size (N, C, H, W), the
/// grid [N, H, W, 2] with grid[n, i, j] = theta[n] · (x_j, y_i, 1), where x_j = (2j + 1)/W − 1
/// when not `alignCorners` (PyTorch's default), x_j = −1 + 2j/(W − 1) when it is (0 for W = 1);
/// y_i likewise. Not differentiable in theta (the grid is a constant for `gridSample`).
public func affineGrid(theta: Tensor, size: [Int], alignCorners: Bool = false) -> Tensor {
    ensure(size.count == 4 && theta.shape == [size[0], 2, 3] && size.allSatisfy { $0 >= 1 },
           "affineGrid: theta \(Shape.describe(theta.shape)) must be [N, 2, 3] for size \(size) [N, C, H, W]")
    let (n, h, w) = (size[0], size[2], size[3])
    func base(_ k: Int, _ m: Int) -> Float {
        alignCorners ? (m == 1 ? 0 : -1 + 2 * Float(k) / Float(m - 1)) : (2 * Float(k) + 1) / Float(m) - 1
    }
    let t = theta.scalars
    return Tensor.make([n, h, w, 2]) { out in
        for s in 0..<n {
            let a = Array(t[(6 * s)..<(6 * s + 6)])
            for i in 0..<h {
                let y = base(i, h)
                for j in 0..<w {
                    let x = base(j, w), p = ((s * h + i) * w + j) * 2
                    out[p] = a[0] * x + a[1] * y + a[2]
                    out[p + 1] = a[3] * x + a[4] * y + a[5]
                }
            }
        }
    }
}

/// `F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners:)`.
/// Shapes: x [N, C, H, W], grid [N, OH, OW, 2] (or [1, OH, OW, 2], shared by every sample) →
/// [N, C, OH, OW]. Differentiable in x to any order; the grid must not require a gradient.
public func gridSample(_ x: Tensor, grid: Tensor, alignCorners: Bool = false) -> Tensor {
    ensure(!grid.requiresGradient, "gridSample: grid \(Shape.describe(grid.shape)) requires a gradient, which this op does not give")
    ensure(x.rank == 4, "gridSample: input \(Shape.describe(x.shape)) must be [N, C, H, W]")
    return gridSample(x, plan: SamplingPlan(grid: grid, inputSize: (x.shape[2], x.shape[3]), alignCorners: alignCorners))
}

/// y = S x for a fixed plan (op `gridSample`). Shapes: x [N, C, H, W] → [N, C, OH, OW].
public func gridSample(_ x: Tensor, plan: SamplingPlan) -> Tensor { SamplingOps.sample(x, plan) }

/// dx = Sᵀ dy, the adjoint of `gridSample(_:plan:)` (op `gridSampleBackward`).
/// Shapes: dy [N, C, OH, OW] → [N, C, H, W].
public func gridSampleBackward(_ dy: Tensor, plan: SamplingPlan) -> Tensor { SamplingOps.scatter(dy, plan) }

enum SamplingOps {
    static func sample(_ x: Tensor, _ plan: SamplingPlan) -> Tensor {
        plan.check(input: x, "gridSample")
        let (n, c) = (x.shape[0], x.shape[1])
        let ip = plan.inputPlane, op = plan.outputPlane
        let y = Tensor.make([n, c, plan.outputHeight, plan.outputWidth]) { out in
            let src = x.storage.pointer
            plan.index.withUnsafeBufferPointer { idx in
                plan.weight.withUnsafeBufferPointer { wt in
                    for s in 0..<n {
                        let t = (plan.batch == 1 ? 0 : s) * op * 4
                        for k in 0..<c {
                            let xi = src + (s * c + k) * ip, yo = out + (s * c + k) * op
                            for p in 0..<op {
                                var acc: Float = 0
                                for q in 0..<4 {
                                    let j = Int(idx[t + 4 * p + q])
                                    if j >= 0 { acc += wt[t + 4 * p + q] * xi[j] }
                                }
                                yo[p] = acc
                            }
                        }
                    }
                }
            }
        }
        return Tensor.record(.gridSample, result: y, inputs: [x]) { g, _ in [scatter(g, plan)] }
    }

    static func scatter(_ dy: Tensor, _ plan: SamplingPlan) -> Tensor {
        ensure(dy.rank == 4 && dy.shape[2] == plan.outputHeight && dy.shape[3] == plan.outputWidth && (plan.batch == 1 || dy.shape[0] == plan.batch),
               "gridSampleBackward: gradient \(Shape.describe(dy.shape)) does not fit a plan of \(plan.batch) × → \(plan.outputHeight)×\(plan.outputWidth)")
        let (n, c) = (dy.shape[0], dy.shape[1])
        let ip = plan.inputPlane, op = plan.outputPlane
        let dx = Tensor.make([n, c, plan.inputHeight, plan.inputWidth]) { out in
            out.initialize(repeating: 0, count: n * c * ip)
            let src = dy.storage.pointer
            plan.index.withUnsafeBufferPointer { idx in
                plan.weight.withUnsafeBufferPointer { wt in
                    for s in 0..<n {
                        let t = (plan.batch == 1 ? 0 : s) * op * 4
                        for k in 0..<c {
                            let gi = src + (s * c + k) * op, xo = out + (s * c + k) * ip
                            for p in 0..<op {
                                let v = gi[p]
                                for q in 0..<4 {
                                    let j = Int(idx[t + 4 * p + q])
                                    if j >= 0 { xo[j] += wt[t + 4 * p + q] * v }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor.record(.gridSampleBackward, result: dx, inputs: [dy]) { g, _ in [sample(g, plan)] }
    }
}
