/// Batch-normalisation kernels over x viewed as [N, C, S] (S = H·W, or 1 for [N, C]).
/// No autograd knowledge.
enum BatchNormKernels {
    /// Per-channel mean and biased variance (two passes, Double accumulation across rows).
    static func moments(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int) -> (mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
        let m = Double(n * s)
        for ch in 0..<c {
            var acc: Double = 0
            for i in 0..<n {
                let row = x + (i * c + ch) * s
                var r: Float = 0
                for j in 0..<s { r += row[j] }
                acc += Double(r)
            }
            let mu = Float(acc / m)
            var sq: Double = 0
            for i in 0..<n {
                let row = x + (i * c + ch) * s
                var r: Float = 0
                for j in 0..<s { let d = row[j] - mu; r += d * d }
                sq += Double(r)
            }
            mean[ch] = mu
            variance[ch] = Float(sq / m)
        }
        return (mean, variance)
    }

    /// y = x·a[c] + b[c].
    static func affine(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int, scale: [Float], shift: [Float], _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            for ch in 0..<c {
                let off = (i * c + ch) * s
                let a = scale[ch], b = shift[ch]
                let src = x + off, dst = y + off
                for j in 0..<s { dst[j] = src[j] * a + b }
            }
        }
    }

    /// Per-channel Σ g and Σ g·x̂ with x̂ = (x − mean)·invstd.
    static func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                             mean: [Float], invstd: [Float]) -> (sumG: [Float], sumGX: [Float]) {
        var sg = [Double](repeating: 0, count: c), sgx = [Double](repeating: 0, count: c)
        for i in 0..<n {
            for ch in 0..<c {
                let off = (i * c + ch) * s
                let gp = g + off, xp = x + off, mu = mean[ch]
                var a: Float = 0, b: Float = 0
                for j in 0..<s { let gv = gp[j]; a += gv; b += gv * (xp[j] - mu) }
                sg[ch] += Double(a); sgx[ch] += Double(b)
            }
        }
        return (sg.map { Float($0) }, (0..<c).map { Float(sgx[$0]) * invstd[$0] })
    }

    /// Training-mode input gradient: dx = w·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M), M = N·S.
    static func trainingInputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                                      mean: [Float], invstd: [Float], weight: [Float]?, sumG: [Float], sumGX: [Float],
                                      _ dx: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(n * s)
        for i in 0..<n {
            for ch in 0..<c {
                let off = (i * c + ch) * s
                let k = (weight?[ch] ?? 1) * invstd[ch], mu = mean[ch], istd = invstd[ch]
                let mg = sumG[ch] * inv, mgx = sumGX[ch] * inv
                let gp = g + off, xp = x + off, d = dx + off
                for j in 0..<s { d[j] = k * (gp[j] - mg - (xp[j] - mu) * istd * mgx) }
            }
        }
    }
}
