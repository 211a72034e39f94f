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

    // Row reductions with 16-lane accumulators (a scalar `r += row[j]` loop is one serial add
    // chain: LLVM may not reorder float sums), lanes combined in a fixed order, so the bits are
    // the same on every run and thread count. Plain row sums are `Reduce.contiguousSum`.

    private typealias V = SIMD16<Float>

    @inline(__always) private static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// Σ (p[j] − mu)², j < count.
    @inline(__always) static func squaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, from mu: Float) -> Float {
        let m = V(repeating: mu)
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var j = 0
        while j + 64 <= count {
            let d0 = load(p + j) - m, d1 = load(p + j + 16) - m, d2 = load(p + j + 32) - m, d3 = load(p + j + 48) - m
            a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3
            j += 64
        }
        while j + 16 <= count { let d = load(p + j) - m; a0 += d * d; j += 16 }
        var r = ((a0 + a1) + (a2 + a3)).sum()
        while j < count { let d = p[j] - mu; r += d * d; j += 1 }
        return r
    }

    /// (Σ g[j], Σ g[j]·(x[j] − centre)), j < count.
    @inline(__always) static func sumAndCentredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                                                   centre: Float) -> (Float, Float) {
        let m = V(repeating: centre)
        var s0 = V(), s1 = V(), d0 = V(), d1 = V()
        var j = 0
        while j + 32 <= count {
            let g0 = load(g + j), g1 = load(g + j + 16)
            s0 += g0; s1 += g1
            d0 += g0 * (load(x + j) - m); d1 += g1 * (load(x + j + 16) - m)
            j += 32
        }
        while j + 16 <= count { let g0 = load(g + j); s0 += g0; d0 += g0 * (load(x + j) - m); j += 16 }
        var a = (s0 + s1).sum(), b = (d0 + d1).sum()
        while j < count { let gv = g[j]; a += gv; b += gv * (x[j] - centre); j += 1 }
        return (a, b)
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
                        for i in 0..<n { acc += Double(Reduce.contiguousSum(x + (i * c + ch) * s, s)) }
                        let mu = Float(acc / m)
                        var sq: Double = 0
                        for i in 0..<n { sq += Double(squaredDeviations(x + (i * c + ch) * s, s, from: mu)) }
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
                            let (a, b) = sumAndCentredDot(g + off, x + off, s, centre: mu)
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
