/// Per-plane position of the maximum of each pooling window (offset ih·W + iw), shared by a
/// max-pool result and every gradient op derived from it.
final class PoolIndices: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: Swift.max(count, 1))
    }
    deinit { pointer.deallocate() }
}

/// Averaging windows of avgPool2d / adaptiveAvgPool2d: along each axis output i covers input
/// [start[i], end[i]), and output (i, j) is the window sum times `scale[i·OW + j]` (1/divisor).
struct WindowPlan {
    let h, w, oh, ow: Int
    let hStart, hEnd, wStart, wEnd: [Int]
    let scale: [Float]

    /// PyTorch's avg_pool2d (floor mode): windows start at i·s − p and may overhang the
    /// padding; the divisor counts padded cells when `countIncludePad`, else only real ones.
    static func avgPool(h: Int, w: Int, k: (Int, Int), s: (Int, Int), p: (Int, Int), countIncludePad: Bool) -> WindowPlan {
        let oh = (h + 2 * p.0 - k.0) / s.0 + 1, ow = (w + 2 * p.1 - k.1) / s.1 + 1
        func axis(_ n: Int, _ size: Int, _ k: Int, _ s: Int, _ p: Int) -> (start: [Int], end: [Int], padded: [Int]) {
            var st: [Int] = [], en: [Int] = [], pd: [Int] = []
            for i in 0..<n {
                let a = i * s - p, b = Swift.min(a + k, size + p)
                pd.append(b - a)
                st.append(Swift.max(a, 0)); en.append(Swift.min(b, size))
            }
            return (st, en, pd)
        }
        let ah = axis(oh, h, k.0, s.0, p.0), aw = axis(ow, w, k.1, s.1, p.1)
        var scale = [Float](repeating: 0, count: oh * ow)
        for i in 0..<oh {
            for j in 0..<ow {
                let d = countIncludePad ? ah.padded[i] * aw.padded[j] : (ah.end[i] - ah.start[i]) * (aw.end[j] - aw.start[j])
                scale[i * ow + j] = 1 / Float(d)
            }
        }
        return WindowPlan(h: h, w: w, oh: oh, ow: ow, hStart: ah.start, hEnd: ah.end, wStart: aw.start, wEnd: aw.end, scale: scale)
    }

    /// PyTorch's adaptive_avg_pool2d: output i covers [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉).
    static func adaptive(h: Int, w: Int, oh: Int, ow: Int) -> WindowPlan {
        let hs = (0..<oh).map { $0 * h / oh }, he = (0..<oh).map { (($0 + 1) * h + oh - 1) / oh }
        let ws = (0..<ow).map { $0 * w / ow }, we = (0..<ow).map { (($0 + 1) * w + ow - 1) / ow }
        var scale = [Float](repeating: 0, count: oh * ow)
        for i in 0..<oh { for j in 0..<ow { scale[i * ow + j] = 1 / Float((he[i] - hs[i]) * (we[j] - ws[j])) } }
        return WindowPlan(h: h, w: w, oh: oh, ow: ow, hStart: hs, hEnd: he, wStart: ws, wEnd: we, scale: scale)
    }
}

/// Pooling kernels over `planes` independent H×W planes. No autograd knowledge.
enum PoolKernels {
    /// Max over each window (PyTorch rule: the first maximum wins, NaN propagates), writing the
    /// values and the in-plane offset of each maximum.
    static func maxForward(_ x: UnsafePointer<Float>, planes: Int, h: Int, w: Int, oh: Int, ow: Int,
                           k: (Int, Int), s: (Int, Int), p: (Int, Int),
                           _ y: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>) {
        let hw = h * w, ohw = oh * ow
        if k == (2, 2) && s == (2, 2) && p == (0, 0) {
            Parallel.forRanges(planes, grain: Swift.max(1, 65536 / Swift.max(hw, 1))) { range in
            for pl in range {
                let src = x + pl * hw, dst = y + pl * ohw, id = idx + pl * ohw
                for i in 0..<oh {
                    let r0 = src + 2 * i * w, r1 = r0 + w
                    let base = Int32(2 * i * w)
                    for j in 0..<ow {
                        let a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1]
                        var m = a, mi = base + Int32(2 * j)
                        if b > m || b.isNaN { m = b; mi = base + Int32(2 * j + 1) }
                        if c > m || c.isNaN { m = c; mi = base + Int32(w + 2 * j) }
                        if d > m || d.isNaN { m = d; mi = base + Int32(w + 2 * j + 1) }
                        dst[i * ow + j] = m
                        id[i * ow + j] = mi
                    }
                }
            }
            }
            return
        }
        for pl in 0..<planes {
            let src = x + pl * hw, dst = y + pl * ohw, id = idx + pl * ohw
            for i in 0..<oh {
                let hs = Swift.max(i * s.0 - p.0, 0), he = Swift.min(i * s.0 - p.0 + k.0, h)
                for j in 0..<ow {
                    let ws = Swift.max(j * s.1 - p.1, 0), we = Swift.min(j * s.1 - p.1 + k.1, w)
                    var m = -Float.infinity, mi = hs * w + ws
                    for r in hs..<he {
                        for c in ws..<we {
                            let v = src[r * w + c]
                            if v > m || v.isNaN { m = v; mi = r * w + c }
                        }
                    }
                    dst[i * ow + j] = m
                    id[i * ow + j] = Int32(mi)
                }
            }
        }
    }

    /// dx[plane, idx[o]] += g[plane, o] (dx zeroed first): the adjoint of `gather`.
    static func scatter(_ g: UnsafePointer<Float>, _ idx: UnsafePointer<Int32>, planes: Int, ohw: Int, hw: Int,
                        _ dx: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(planes, grain: Swift.max(1, 65536 / Swift.max(hw, 1))) { range in
            (dx + range.lowerBound * hw).initialize(repeating: 0, count: range.count * hw)
            for pl in range {
                let s = g + pl * ohw, id = idx + pl * ohw, d = dx + pl * hw
                for o in 0..<ohw { d[Int(id[o])] += s[o] }
            }
        }
    }

    /// y[plane, o] = x[plane, idx[o]].
    static func gather(_ x: UnsafePointer<Float>, _ idx: UnsafePointer<Int32>, planes: Int, ohw: Int, hw: Int,
                       _ y: UnsafeMutablePointer<Float>) {
        for pl in 0..<planes {
            let s = x + pl * hw, id = idx + pl * ohw, d = y + pl * ohw
            for o in 0..<ohw { d[o] = s[Int(id[o])] }
        }
    }

    /// y[plane, i, j] = scale[i, j] · Σ of the window (i, j) of x.
    static func average(_ x: UnsafePointer<Float>, planes: Int, _ plan: WindowPlan, _ y: UnsafeMutablePointer<Float>) {
        let hw = plan.h * plan.w, ohw = plan.oh * plan.ow, w = plan.w
        plan.scale.withUnsafeBufferPointer { scale in
            for pl in 0..<planes {
                let src = x + pl * hw, dst = y + pl * ohw
                for i in 0..<plan.oh {
                    let hs = plan.hStart[i], he = plan.hEnd[i]
                    for j in 0..<plan.ow {
                        let ws = plan.wStart[j], we = plan.wEnd[j]
                        var acc: Float = 0
                        for r in hs..<he { for c in ws..<we { acc += src[r * w + c] } }
                        dst[i * plan.ow + j] = acc * scale[i * plan.ow + j]
                    }
                }
            }
        }
    }

    /// Adjoint of `average`: dx (zeroed first) receives scale · g spread over each window.
    static func averageAdjoint(_ g: UnsafePointer<Float>, planes: Int, _ plan: WindowPlan, _ dx: UnsafeMutablePointer<Float>) {
        let hw = plan.h * plan.w, ohw = plan.oh * plan.ow, w = plan.w
        dx.initialize(repeating: 0, count: planes * hw)
        plan.scale.withUnsafeBufferPointer { scale in
            for pl in 0..<planes {
                let src = g + pl * ohw, dst = dx + pl * hw
                for i in 0..<plan.oh {
                    let hs = plan.hStart[i], he = plan.hEnd[i]
                    for j in 0..<plan.ow {
                        let ws = plan.wStart[j], we = plan.wEnd[j]
                        let v = src[i * plan.ow + j] * scale[i * plan.ow + j]
                        for r in hs..<he { for c in ws..<we { dst[r * w + c] += v } }
                    }
                }
            }
        }
    }
}
