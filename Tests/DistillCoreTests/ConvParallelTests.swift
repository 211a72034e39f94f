import XCTest
@testable import DistillCore

/// The convolution kernels split large batches across OpenMP threads and use block copies for
/// unit-stride "same" geometries; both paths must agree with the per-image serial path.
final class ConvParallelTests: XCTestCase {
    func testBatchedConvolutionMatchesPerImage() {
        // 2·O·ckk·OH·OW ≈ 166 k FLOP per image, so 64 images cross the parallel grain
        let x = Inputs.uniform([64, 8, 12, 12], seed: 200), w = Inputs.uniform([8, 8, 3, 3], seed: 201)
        let b = Inputs.uniform([8], seed: 202), dy = Inputs.uniform([64, 8, 12, 12], seed: 203)
        XCTAssertGreaterThan(64 / ConvKernels.parallelGrain(ConvGeometry(n: 64, c: 8, h: 12, w: 12, o: 8, oh: 12, ow: 12, kh: 3, kw: 3,
                                                                          sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1)), 1)
        let xs = x.requiringGradient(), ws = w.requiringGradient(), bs = b.requiringGradient()
        let y = conv2d(xs, weight: ws, bias: bs, padding: (1, 1))
        let g = gradients(of: y, wrt: [xs, ws, bs], seed: dy)
        var dwSum = Tensor.zeros(w.shape)
        for i in [0, 17, 47] {
            let xi = x.slice(axis: 0, start: i, length: 1), dyi = dy.slice(axis: 0, start: i, length: 1)
            let yi = conv2d(xi, weight: w, bias: b, padding: (1, 1))
            XCTAssertLessThan(maxDiff(yi, y.slice(axis: 0, start: i, length: 1)), 1e-4, "forward image \(i)")
            let dxi = convTranspose2d(dyi, weight: w, padding: (1, 1))
            XCTAssertLessThan(maxDiff(dxi, g[0].slice(axis: 0, start: i, length: 1)), 1e-4, "input gradient image \(i)")
        }
        for i in 0..<64 {
            let xi = x.slice(axis: 0, start: i, length: 1).requiringGradient()
            let wi = w.requiringGradient()
            dwSum = dwSum + gradients(of: conv2d(xi, weight: wi, padding: (1, 1)), wrt: [wi], seed: dy.slice(axis: 0, start: i, length: 1))[0]
        }
        XCTAssertLessThan(maxDiff(dwSum, g[1]), 1e-3, "weight gradient")
        XCTAssertLessThan(maxDiff(dy.sum(alongAxes: [0, 2, 3]), g[2]), 1e-3, "bias gradient")
    }

    func testParallelMaxPoolMatchesReductions() {
        // 512 planes of 16×16 cross the pooling grain (65536 elements per thread)
        let x = Inputs.uniform([8, 64, 16, 16], seed: 204).requiringGradient()
        let y = maxPool2d(x, kernel: (2, 2))
        let reference = x.reshaped([8 * 64 * 8, 2, 8, 2]).max(alongAxis: 3).max(alongAxis: 1).reshaped([8, 64, 8, 8])
        XCTAssertEqual(maxDiff(y, reference), 0)
        let seed = Inputs.uniform([8, 64, 8, 8], seed: 205)
        XCTAssertEqual(maxDiff(gradients(of: y, wrt: [x], seed: seed)[0], gradients(of: reference, wrt: [x], seed: seed)[0]), 0)
    }

    func testParallelBatchNormIsBitIdenticalToOneThread() {
        // 8·16·24·24 = 73,728 elements cross the batch-norm kernels' threshold: channels split for
        // the statistics and gradient sums, images split for the maps
        XCTAssertGreaterThanOrEqual(8 * 16 * 24 * 24, BatchNormKernels.parallelThreshold)
        let x = Inputs.uniform([8, 16, 24, 24], seed: 206), dy = Inputs.uniform([8, 16, 24, 24], seed: 207)
        let w = Inputs.uniform([16], 0.5, 1.5, seed: 208), b = Inputs.uniform([16], seed: 209)
        func run(threads: Int, training: Bool) -> [Tensor] {
            let saved = Threads.count
            Threads.set(threads)
            defer { Threads.set(saved) }
            var rm = Tensor.zeros([16]), rv = Tensor.ones([16])
            let xs = x.requiringGradient(), ws = w.requiringGradient(), bs = b.requiringGradient()
            let y = batchNorm(xs, weight: ws, bias: bs, runningMean: &rm, runningVar: &rv, training: training)
            return [y.detached(), rm, rv] + gradients(of: y, wrt: [xs, ws, bs], seed: dy)
        }
        for training in [true, false] {
            let one = run(threads: 1, training: training), two = run(threads: 2, training: training)
            for (k, name) in ["y", "running mean", "running var", "dx", "dweight", "dbias"].enumerated() {
                XCTAssertEqual(one[k].scalars, two[k].scalars, "\(name), training \(training)")
            }
        }
        // and the fused first-order kernels agree with the differentiable (second-order) form
        var rm = Tensor.zeros([16]), rv = Tensor.ones([16])
        let xs = x.requiringGradient(), ws = w.requiringGradient(), bs = b.requiringGradient()
        let y = batchNorm(xs, weight: ws, bias: bs, runningMean: &rm, runningVar: &rv, training: true)
        let fused = gradients(of: y, wrt: [xs, ws, bs], seed: dy, retainGraph: true)
        let graph = gradients(of: y, wrt: [xs, ws, bs], seed: dy, createGraph: true)
        for k in 0..<3 { XCTAssertLessThan(maxDiff(fused[k], graph[k]), 1e-3, "gradient \(k)") }
    }

    func maxDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "maxDiff: \(Shape.describe(a.shape)) vs \(Shape.describe(b.shape))")
        return zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
    }
}
