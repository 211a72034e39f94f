/// Batch-normalisation kernels over activations in the nChw16c layout (`Blocked16`): each
/// (image, channel block) panel is H·W vectors of the block's 16 channels, so every reduction and
/// map works on whole 16-lane vectors, one per pixel. No autograd knowledge.
///
/// Reductions first sum each panel in Float (four accumulators, fixed order), then add the
/// panels of each block over the images in Double, in image order. The panels are split over
/// the threads but each is summed alone, so the bits do not depend on the thread count.
extension BatchNormKernels {
    private typealias V = SIMD16<Float>

    @inline(__always) private static func vector(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).load(as: V.self)   // panels start at multiples of 64 bytes
    }
    @inline(__always) private static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
    private static func lanes(_ values: [Float], block cb: Int) -> V {
        var v = V()
        for j in 0..<16 { v[j] = values[cb * 16 + j] }
        return v
    }

    /// Runs `body(panel, blockIndex, offset)` for every (image, block) panel, split over the threads.
    private static func forEachPanel(_ l: Blocked16, _ body: (_ panel: Int, _ block: Int, _ offset: Int) -> Void) {
        let panels = l.n * l.blocks, size = 16 * l.plane
        Parallel.forRanges(panels, grain: l.count >= parallelThreshold ? 1 : panels) { range in
            for p in range { body(p, p % l.blocks, p * size) }
        }
    }

    /// Per-channel totals over the images of per-panel sums `partial` (panel = image·blocks + block), in Double.
    private static func totals(_ partial: [V], _ l: Blocked16, scale: Double = 1) -> [Float] {
        var out = [Float](repeating: 0, count: l.c)
        for cb in 0..<l.blocks {
            var acc = [Double](repeating: 0, count: 16)
            for i in 0..<l.n {
                let v = partial[i * l.blocks + cb]
                for j in 0..<16 { acc[j] += Double(v[j]) }
            }
            for j in 0..<16 { out[cb * 16 + j] = Float(acc[j] * scale) }
        }
        return out
    }

    /// Σ over a panel of `term(pixel offset)`, four accumulators.
    @inline(__always) private static func panelSum(_ s: Int, _ term: (Int) -> V) -> V {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var p = 0
        while p + 4 <= s {
            a0 += term(p * 16); a1 += term(p * 16 + 16); a2 += term(p * 16 + 32); a3 += term(p * 16 + 48)
            p += 4
        }
        while p < s { a0 += term(p * 16); p += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    /// Per-channel mean and biased variance of blocked x (two passes).
    static func moments(blocked x: UnsafePointer<Float>, _ l: Blocked16) -> (mean: [Float], variance: [Float]) {
        let s = l.plane, inv = 1 / Double(l.n * s)
        var partial = [V](repeating: V(), count: l.n * l.blocks)
        partial.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            forEachPanel(l) { panel, _, off in
                let q = x + off
                o[panel] = panelSum(s) { vector(q + $0) }
            }
        }
        let mean = totals(partial, l, scale: inv)
        let mus = (0..<l.blocks).map { lanes(mean, block: $0) }
        partial.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            forEachPanel(l) { panel, cb, off in
                let q = x + off, mu = mus[cb]
                o[panel] = panelSum(s) { let d = vector(q + $0) - mu; return d * d }
            }
        }
        return (mean, totals(partial, l, scale: inv))
    }

    /// y = x·a[c] + b[c], blocked in and out.
    static func affine(blocked x: UnsafePointer<Float>, _ l: Blocked16, scale: [Float], shift: [Float], _ y: UnsafeMutablePointer<Float>) {
        let a = (0..<l.blocks).map { lanes(scale, block: $0) }, b = (0..<l.blocks).map { lanes(shift, block: $0) }
        let s = l.plane
        forEachPanel(l) { _, cb, off in
            let av = a[cb], bv = b[cb], src = x + off, dst = y + off
            for p in 0..<s { store(vector(src + p * 16) * av + bv, dst + p * 16) }
        }
    }

    /// Per-channel Σ g and Σ g·x̂ with x̂ = (x − mean)·invstd, both blocked.
    static func gradientSums(blocked g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ l: Blocked16,
                             mean: [Float], invstd: [Float]) -> (sumG: [Float], sumGX: [Float]) {
        let s = l.plane
        let mus = (0..<l.blocks).map { lanes(mean, block: $0) }
        var sums = [V](repeating: V(), count: l.n * l.blocks), dots = sums
        sums.withUnsafeMutableBufferPointer { sOut in
            dots.withUnsafeMutableBufferPointer { dOut in
                let so = sOut.baseAddress!, dO = dOut.baseAddress!
                forEachPanel(l) { panel, cb, off in
                    let gp = g + off, xp = x + off, mu = mus[cb]
                    var s0 = V(), s1 = V(), d0 = V(), d1 = V()
                    var p = 0
                    while p + 2 <= s {
                        let g0 = vector(gp + p * 16), g1 = vector(gp + p * 16 + 16)
                        s0 += g0; s1 += g1
                        d0 += g0 * (vector(xp + p * 16) - mu); d1 += g1 * (vector(xp + p * 16 + 16) - mu)
                        p += 2
                    }
                    if p < s { let g0 = vector(gp + p * 16); s0 += g0; d0 += g0 * (vector(xp + p * 16) - mu) }
                    so[panel] = s0 + s1
                    dO[panel] = d0 + d1
                }
            }
        }
        let sg = totals(sums, l)
        var sgx = totals(dots, l)
        for ch in 0..<l.c { sgx[ch] *= invstd[ch] }
        return (sg, sgx)
    }

    /// Training-mode input gradient dx = w·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M), all blocked.
    static func trainingInputGradient(blocked g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ l: Blocked16,
                                      mean: [Float], invstd: [Float], weight: [Float]?, sumG: [Float], sumGX: [Float],
                                      _ dx: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(l.n * l.plane), s = l.plane
        let k = (0..<l.c).map { (weight?[$0] ?? 1) * invstd[$0] }
        let kv = (0..<l.blocks).map { lanes(k, block: $0) }, mus = (0..<l.blocks).map { lanes(mean, block: $0) }
        let istd = (0..<l.blocks).map { lanes(invstd, block: $0) }
        let mg = (0..<l.blocks).map { lanes(sumG, block: $0) * inv }, mgx = (0..<l.blocks).map { lanes(sumGX, block: $0) * inv }
        forEachPanel(l) { _, cb, off in
            let kb = kv[cb], mu = mus[cb], ib = istd[cb], mgb = mg[cb], mgxb = mgx[cb]
            let gp = g + off, xp = x + off, d = dx + off
            for p in 0..<s {
                let o = p * 16
                store(kb * (vector(gp + o) - mgb - (vector(xp + o) - mu) * ib * mgxb), d + o)
            }
        }
    }
}
