/// Elementwise kernels over raw buffers, with NumPy broadcasting. No autograd knowledge.
enum Elementwise {
    /// Applies `f` to every element. A tensor held only in the blocked layout maps in it (an
    /// elementwise op does not care how the elements are ordered), so the result stays blocked.
    @inline(__always)
    static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        let n = x.count
        if let l = x.storage.blockedOnlyLayout {
            let p = x.storage.blocked(as: l)!
            return Tensor.makeBlocked(x.shape, l) { o in for i in 0..<n { o[i] = f(p[i]) } }
        }
        return Tensor.make(x.shape) { o in
            let p = x.storage.pointer
            for i in 0..<n { o[i] = f(p[i]) }
        }
    }

    /// Applies `f` pairwise to two same-shape tensors: in the blocked layout when either operand
    /// is held only blocked (the other is read through a blocked copy), else plain.
    @inline(__always)
    static func zipSame(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let n = a.count
        if let l = a.storage.blockedOnlyLayout ?? b.storage.blockedOnlyLayout {
            return a.storage.withBlocked(l) { pa in
                b.storage.withBlocked(l) { pb in
                    Tensor.makeBlocked(a.shape, l) { o in for i in 0..<n { o[i] = f(pa[i], pb[i]) } }
                }
            }
        }
        return Tensor.make(a.shape) { o in
            let pa = a.storage.pointer, pb = b.storage.pointer
            for i in 0..<n { o[i] = f(pa[i], pb[i]) }
        }
    }

    /// Applies `f` pairwise with broadcasting; traps naming both shapes when they do not broadcast.
    @inline(__always)
    static func zip(_ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape { return zipSame(a, b, f) }
        guard let out = Shape.broadcast(a.shape, b.shape) else {
            failCheck("\(op): shapes \(Shape.describe(a.shape)) and \(Shape.describe(b.shape)) do not broadcast")
        }
        let pa = a.storage.pointer, pb = b.storage.pointer
        if b.count == 1 {
            let s = pb[0]
            return Tensor.make(out) { o in for i in 0..<a.count { o[i] = f(pa[i], s) } }
        }
        if a.count == 1 {
            let s = pa[0]
            return Tensor.make(out) { o in for i in 0..<b.count { o[i] = f(s, pb[i]) } }
        }
        let plan = BroadcastPlan(out: out, a: a.shape, b: b.shape)
        return Tensor.make(out) { o in
            plan.forEachRow { oOff, aOff, bOff in
                let n = plan.inner
                let qo = o + oOff, qa = pa + aOff, qb = pb + bOff
                switch (plan.innerStrideA, plan.innerStrideB) {
                case (1, 1): for i in 0..<n { qo[i] = f(qa[i], qb[i]) }
                case (1, 0): let s = qb[0]; for i in 0..<n { qo[i] = f(qa[i], s) }
                case (0, 1): let s = qa[0]; for i in 0..<n { qo[i] = f(s, qb[i]) }
                default: let s = qa[0], t = qb[0]; for i in 0..<n { qo[i] = f(s, t) }
                }
            }
        }
    }
}

extension Elementwise {
    /// Copies `x` broadcast to `out` (NumPy rules; the caller has checked that they broadcast),
    /// row by row: each output row is a copy of an input row or a fill with one value.
    static func broadcast(_ x: Tensor, to out: [Int]) -> Tensor {
        let px = x.storage.pointer
        if x.count == 1 {
            let s = px[0]
            return Tensor.make(out) { o in o.initialize(repeating: s, count: Shape.count(out)) }
        }
        let plan = BroadcastPlan(out: out, a: out, b: x.shape)
        return Tensor.make(out) { o in
            plan.forEachRow { oOff, _, xOff in
                if plan.innerStrideB == 1 {
                    (o + oOff).initialize(from: px + xOff, count: plan.inner)
                } else {
                    (o + oOff).initialize(repeating: px[xOff], count: plan.inner)
                }
            }
        }
    }
}

/// Iteration plan for a broadcast binary op: the output is walked as rows of `inner` elements;
/// each operand advances by stride 1 or 0 inside a row.
struct BroadcastPlan {
    let outer: [Int]        // collapsed outer dimensions
    let stridesA: [Int]
    let stridesB: [Int]
    let inner: Int
    let innerStrideA: Int
    let innerStrideB: Int

    init(out: [Int], a: [Int], b: [Int]) {
        let r = out.count
        let pa = [Int](repeating: 1, count: r - a.count) + a
        let pb = [Int](repeating: 1, count: r - b.count) + b
        let sa0 = Shape.strides(pa), sb0 = Shape.strides(pb)
        var dims: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for i in 0..<r where out[i] != 1 {
            let x = pa[i] == 1 ? 0 : sa0[i], y = pb[i] == 1 ? 0 : sb0[i]
            // merge with the previous dimension when both operands stay contiguous across it
            if let last = dims.last, sa.last! == x * out[i], sb.last! == y * out[i] {
                dims[dims.count - 1] = last * out[i]
                sa[sa.count - 1] = x; sb[sb.count - 1] = y
            } else {
                dims.append(out[i]); sa.append(x); sb.append(y)
            }
        }
        if dims.isEmpty { dims = [1]; sa = [0]; sb = [0] }
        inner = dims.removeLast()
        innerStrideA = sa.removeLast()
        innerStrideB = sb.removeLast()
        outer = dims; stridesA = sa; stridesB = sb
    }

    /// Calls `body(outOffset, aOffset, bOffset)` for each row.
    @inline(__always)
    func forEachRow(_ body: (Int, Int, Int) -> Void) {
        let rows = Shape.count(outer)
        if outer.isEmpty { body(0, 0, 0); return }
        var idx = [Int](repeating: 0, count: outer.count)
        var offA = 0, offB = 0
        for r in 0..<rows {
            body(r * inner, offA, offB)
            var d = outer.count - 1
            while d >= 0 {
                idx[d] += 1
                offA += stridesA[d]; offB += stridesB[d]
                if idx[d] < outer[d] { break }
                offA -= stridesA[d] * outer[d]; offB -= stridesB[d] * outer[d]
                idx[d] = 0
                d -= 1
            }
        }
    }
}
