/// Geometry of one 2-D convolution seen from its forward direction: input [N, C, H, W],
/// weight [O, C/groups, kh, kw], output [N, O, OH, OW]. The three convolution kernels
/// (forward, data gradient = transposed convolution, weight gradient) share it.
struct ConvGeometry: Hashable, CustomStringConvertible {
    let n, c, h, w: Int
    let o, oh, ow: Int
    let kh, kw: Int
    let sh, sw, ph, pw, dh, dw: Int
    let groups: Int

    var cg: Int { c / groups }
    var og: Int { o / groups }
    /// Rows of the im2col matrix of one group: (C/groups)·kh·kw.
    var ckk: Int { cg * kh * kw }
    var hw: Int { h * w }
    var ohw: Int { oh * ow }
    var inputShape: [Int] { [n, c, h, w] }
    var outputShape: [Int] { [n, o, oh, ow] }
    var weightShape: [Int] { [o, cg, kh, kw] }

    /// Output extent of a convolution along one axis (floor rounding, as PyTorch).
    static func outExtent(_ size: Int, k: Int, s: Int, p: Int, d: Int) -> Int {
        (size + 2 * p - d * (k - 1) - 1) / s + 1
    }

    var description: String {
        "input \(Shape.describe(inputShape)), weight \(Shape.describe(weightShape)), output \(Shape.describe(outputShape)), stride (\(sh), \(sw)), padding (\(ph), \(pw)), dilation (\(dh), \(dw)), groups \(groups)"
    }
}

/// im2col / col2im and the three GEMM-based convolution kernels. No autograd knowledge.
/// `forward`, `backwardData` and `backwardWeight` (ConvDispatch.swift) choose between these and
/// the oneDNN primitives of `DNNLConv`.
///
/// The column matrix of one image and group is [(C/g)·kh·kw, OH·OW]; each convolution
/// direction is then one GEMM per image and group (M = O/g, N = OH·OW, K = (C/g)·kh·kw for the
/// forward), writing straight into NCHW so no layout shuffles are needed.
enum ConvKernels {
    @inline(__always) static func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
    @inline(__always) static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Valid output-column range [lo, hi) for kernel column kj: 0 ≤ ow·sw + kj·dw − pw < W.
    @inline(__always) static func colRange(_ g: ConvGeometry, _ kj: Int) -> (Int, Int) {
        let off = kj * g.dw - g.pw
        let lo = Swift.min(Swift.max(0, ceilDiv(-off, g.sw)), g.ow)
        let hi = Swift.max(Swift.min(g.ow, floorDiv(g.w - 1 - off, g.sw) + 1), lo)
        return (lo, hi)
    }

    /// Valid output-row range [lo, hi) for kernel row ki: 0 ≤ oh·sh + ki·dh − ph < H.
    @inline(__always) static func rowRange(_ g: ConvGeometry, _ ki: Int) -> (Int, Int) {
        let off = ki * g.dh - g.ph
        let lo = Swift.min(Swift.max(0, ceilDiv(-off, g.sh)), g.oh)
        let hi = Swift.max(Swift.min(g.oh, floorDiv(g.h - 1 - off, g.sh) + 1), lo)
        return (lo, hi)
    }

    /// Whether a kernel tap maps the valid output rows onto one contiguous input span (unit
    /// strides and as many output as input columns), so im2col/col2im move whole blocks.
    @inline(__always) static func isBlockCopy(_ g: ConvGeometry) -> Bool { g.sh == 1 && g.sw == 1 && g.ow == g.w }

    /// Unfolds the C/g planes at `src` into `col` ([ckk, OH·OW], row stride `ld`).
    static func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>, ld: Int) {
        let ow = g.ow, sw = g.sw, block = isBlockCopy(g)
        for kj in 0..<g.kw {
            let (lo, hi) = colRange(g, kj)
            let offW = kj * g.dw - g.pw
            for ki in 0..<g.kh {
                let (rlo, rhi) = rowRange(g, ki)
                let offH = ki * g.dh - g.ph
                for c in 0..<g.cg {
                    let plane = src + c * g.hw
                    let row = col + ((c * g.kh + ki) * g.kw + kj) * ld
                    row.initialize(repeating: 0, count: rlo * ow)
                    (row + rhi * ow).initialize(repeating: 0, count: (g.oh - rhi) * ow)
                    if rlo == rhi { continue }
                    if block {
                        // one contiguous copy, then clear the columns that wrapped to a neighbour row
                        let first = rlo * ow + lo, last = (rhi - 1) * ow + hi
                        let s = plane + offH * g.w + offW
                        for x in first..<last { row[x] = s[x] }
                        for oh in rlo..<rhi {
                            let d = row + oh * ow
                            for x in 0..<lo { d[x] = 0 }
                            for x in hi..<ow { d[x] = 0 }
                        }
                        continue
                    }
                    for oh in rlo..<rhi {
                        let dst = row + oh * ow
                        for x in 0..<lo { dst[x] = 0 }
                        let s = plane + (oh * g.sh + offH) * g.w + offW
                        if sw == 1 {
                            for x in lo..<hi { dst[x] = s[x] }
                        } else {
                            for x in lo..<hi { dst[x] = s[x * sw] }
                        }
                        for x in hi..<ow { dst[x] = 0 }
                    }
                }
            }
        }
    }

    /// Adjoint of `im2col`: adds every column entry back into the C/g planes at `dst`.
    /// In the block path it first clears the entries that fall outside the image (they are
    /// never read again), so one contiguous add is exact.
    static func col2im(_ col: UnsafeMutablePointer<Float>, ld: Int, _ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>) {
        let ow = g.ow, sw = g.sw, block = isBlockCopy(g)
        for kj in 0..<g.kw {
            let (lo, hi) = colRange(g, kj)
            let offW = kj * g.dw - g.pw
            for ki in 0..<g.kh {
                let (rlo, rhi) = rowRange(g, ki)
                if rlo == rhi { continue }
                let offH = ki * g.dh - g.ph
                for c in 0..<g.cg {
                    let plane = dst + c * g.hw
                    let row = col + ((c * g.kh + ki) * g.kw + kj) * ld
                    if block {
                        for oh in rlo..<rhi {
                            let s = row + oh * ow
                            for x in 0..<lo { s[x] = 0 }
                            for x in hi..<ow { s[x] = 0 }
                        }
                        let first = rlo * ow + lo, last = (rhi - 1) * ow + hi
                        let d = plane + offH * g.w + offW
                        for x in first..<last { d[x] += row[x] }
                        continue
                    }
                    for oh in rlo..<rhi {
                        let s = row + oh * ow
                        let d = plane + (oh * g.sh + offH) * g.w + offW
                        if sw == 1 {
                            for x in lo..<hi { d[x] += s[x] }
                        } else {
                            for x in lo..<hi { d[x * sw] += s[x] }
                        }
                    }
                }
            }
        }
    }

    /// Images per thread below which a parallel region costs more than it saves (about 4 MFLOP).
    static func parallelGrain(_ g: ConvGeometry) -> Int {
        Swift.max(1, (1 << 22) / Swift.max(1, 2 * g.o * g.ckk * g.ohw))
    }

    /// Whether the column matrix is the input itself (1×1 kernel, stride 1, no padding).
    static func isPointwise(_ g: ConvGeometry) -> Bool {
        g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
    }

    /// The GEMM operand of one image and group: its im2col matrix written into `col`, or the
    /// image itself for a pointwise convolution (`col` nil).
    @inline(__always)
    static func columns(_ src: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>?) -> UnsafePointer<Float> {
        guard let col else { return src }
        im2col(src, g, col, ld: g.ohw)
        return UnsafePointer(col)
    }

    /// y[n, o] = Σ W[o] · im2col(x[n]) (+ bias[o]). Images are split across the OpenMP threads.
    static func forwardIm2col(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let ckk = g.ckk, ohw = g.ohw
        let pointwise = isPointwise(g)
        Parallel.forRanges(g.n, grain: parallelGrain(g)) { images in
            let col = pointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: ckk * ohw)
            defer { col?.deallocate() }
            for i in images {
                for grp in 0..<g.groups {
                    let b = columns(x + (i * g.c + grp * g.cg) * g.hw, g, into: col)
                    GEMM.sgemm(transA: false, transB: false, m: g.og, n: ohw, k: ckk,
                               a: weight + grp * g.og * ckk, lda: ckk, b: b, ldb: ohw,
                               c: y + (i * g.o + grp * g.og) * ohw, ldc: ohw)
                }
                if let bias {
                    for oc in 0..<g.o {
                        let d = y + (i * g.o + oc) * ohw, v = bias[oc]
                        for p in 0..<ohw { d[p] += v }
                    }
                }
            }
        }
    }

    /// dx[n] = col2im(Wᵀ · dy[n]): the gradient of the forward with respect to its input, which
    /// is also the transposed convolution of dy.
    static func backwardDataIm2col(dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let ckk = g.ckk, ohw = g.ohw
        let pointwise = isPointwise(g)
        // Wᵀ per group, [ckk, og], so the GEMM reads both operands untransposed.
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: g.groups * ckk * g.og)
        defer { wt.deallocate() }
        for grp in 0..<g.groups {
            let s = weight + grp * g.og * ckk, d = wt + grp * ckk * g.og
            for o in 0..<g.og { for r in 0..<ckk { d[r * g.og + o] = s[o * ckk + r] } }
        }
        Parallel.forRanges(g.n, grain: parallelGrain(g)) { images in
            let col = pointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: ckk * ohw)
            defer { col?.deallocate() }
            for i in images {
                if !pointwise { (dx + i * g.c * g.hw).initialize(repeating: 0, count: g.c * g.hw) }
                for grp in 0..<g.groups {
                    let dst = dx + (i * g.c + grp * g.cg) * g.hw
                    GEMM.sgemm(transA: false, transB: false, m: ckk, n: ohw, k: g.og,
                               a: wt + grp * ckk * g.og, lda: g.og, b: dy + (i * g.o + grp * g.og) * ohw, ldb: ohw,
                               c: col ?? dst, ldc: ohw)
                    if let col { col2im(col, ld: ohw, g, dst) }
                }
            }
        }
    }

    /// dW[o] = Σₙ dy[n, o] · im2col(x[n])ᵀ; each thread sums its images into its own buffer.
    static func backwardWeightIm2col(x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                     dw: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let ckk = g.ckk, ohw = g.ohw, size = g.o * ckk
        let pointwise = isPointwise(g)
        let threads = Swift.min(Parallel.maxThreads, g.n / parallelGrain(g))
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(threads - 1, 0) * size + 1)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: Swift.max(threads - 1, 0) * size)
        dw.initialize(repeating: 0, count: size)
        Parallel.run(threads: Swift.max(threads, 1)) { t, tn in
            let acc = t == 0 ? dw : partials + (t - 1) * size
            let col = pointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: ckk * ohw)
            defer { col?.deallocate() }
            for i in (g.n * t / tn)..<(g.n * (t + 1) / tn) {
                for grp in 0..<g.groups {
                    let b = columns(x + (i * g.c + grp * g.cg) * g.hw, g, into: col)
                    GEMM.sgemm(transA: false, transB: true, m: g.og, n: ckk, k: ohw,
                               a: dy + (i * g.o + grp * g.og) * ohw, lda: ohw, b: b, ldb: ohw,
                               beta: 1, c: acc + grp * g.og * ckk, ldc: ckk)
                }
            }
        }
        for t in 0..<Swift.max(threads - 1, 0) {
            let p = partials + t * size
            for j in 0..<size { dw[j] += p[j] }
        }
    }

    /// Σ over n, h, w of dy [N, O, OH, OW]: the bias gradient.
    static func biasGradient(dy: UnsafePointer<Float>, db: UnsafeMutablePointer<Float>, n: Int, o: Int, plane: Int) {
        db.initialize(repeating: 0, count: o)
        for i in 0..<n {
            for oc in 0..<o {
                let s = dy + (i * o + oc) * plane
                db[oc] += Reduce.contiguousSum(s, plane)
            }
        }
    }
}
