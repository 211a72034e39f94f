/// Batch-normalisation kernels over x viewed as [N, C, S] (S = H·W, or 1 for [N, C]).
/// No autograd knowledge.
///
/// Each kernel runs on the kernel threads when the tensor is large enough: the per-channel
/// reductions split the channels, the elementwise maps split the images. Every channel's sum is
/// taken in the same order as on one thread, so results do not depend on the thread count.
enum BatchNormKernels {
    /// Elements below which a kernel stays on one thread.
    static let parallelThreshold = 65_536

    /// Splits 0 ..< count over the threads when n·c·s is large enough, else runs it at once.
    private static func split(_ count: Int, n: Int, c: Int, s: Int, _ body: (Range<Int>) -> Void) {
        Parallel.forRanges(count, grain: n * c * s >= parallelThreshold ? 1 : count, body)
    }

    /// Runs `body(channel, offset)` for every (image, channel) plane of s values, the images
    /// split over the threads.
    private static func forEachPlane(n: Int, c: Int, s: Int, _ body: (_ channel: Int, _ offset: Int) -> Void) {
        split(n, n: n, c: c, s: s) { images in
            for i in images { for ch in 0..<c { body(ch, (i * c + ch) * s) } }
        }
    }

    /// Per-channel mean and biased variance (two passes, Double accumulation across rows).
    static func moments(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int) -> (mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
        let m = Double(n * s)
        mean.withUnsafeMutableBufferPointer { meanOut in
            variance.withUnsafeMutableBufferPointer { varOut in
                let mp = meanOut.baseAddress!, vp = varOut.baseAddress!
                split(c, n: n, c: c, s: s) { channels in
                    for ch in channels {
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
                        mp[ch] = mu
                        vp[ch] = Float(sq / m)
                    }
                }
            }
        }
        return (mean, variance)
    }

    /// y = x·a[c] + b[c].
    static func affine(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int, scale: [Float], shift: [Float], _ y: UnsafeMutablePointer<Float>) {
        forEachPlane(n: n, c: c, s: s) { ch, off in
            let a = scale[ch], b = shift[ch]
            let src = x + off, dst = y + off
            for j in 0..<s { dst[j] = src[j] * a + b }
        }
    }

    /// Per-channel Σ g and Σ g·x̂ with x̂ = (x − mean)·invstd.
    static func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                             mean: [Float], invstd: [Float]) -> (sumG: [Float], sumGX: [Float]) {
        var sg = [Float](repeating: 0, count: c), sgx = [Float](repeating: 0, count: c)
        sg.withUnsafeMutableBufferPointer { sgOut in
            sgx.withUnsafeMutableBufferPointer { sgxOut in
                let sgp = sgOut.baseAddress!, sgxp = sgxOut.baseAddress!
                split(c, n: n, c: c, s: s) { channels in
                    for ch in channels {
                        var accG: Double = 0, accGX: Double = 0
                        let mu = mean[ch]
                        for i in 0..<n {
                            let off = (i * c + ch) * s
                            let gp = g + off, xp = x + off
                            var a: Float = 0, b: Float = 0
                            for j in 0..<s { let gv = gp[j]; a += gv; b += gv * (xp[j] - mu) }
                            accG += Double(a); accGX += Double(b)
                        }
                        sgp[ch] = Float(accG)
                        sgxp[ch] = Float(accGX) * invstd[ch]
                    }
                }
            }
        }
        return (sg, sgx)
    }

    /// Training-mode input gradient: dx = w·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M), M = N·S.
    static func trainingInputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                                      mean: [Float], invstd: [Float], weight: [Float]?, sumG: [Float], sumGX: [Float],
                                      _ dx: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(n * s)
        forEachPlane(n: n, c: c, s: s) { ch, off in
            let k = (weight?[ch] ?? 1) * invstd[ch], mu = mean[ch], istd = invstd[ch]
            let mg = sumG[ch] * inv, mgx = sumGX[ch] * inv
            let gp = g + off, xp = x + off, d = dx + off
            for j in 0..<s { d[j] = k * (gp[j] - mg - (xp[j] - mu) * istd * mgx) }
        }
    }
}
