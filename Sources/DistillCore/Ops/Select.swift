/// Elementwise choice between two tensors by a 0/1 mask (`torch.where`).
extension Tensor {
    /// out = mask ≠ 0 ? a : b, elementwise, with NumPy broadcasting of all three shapes.
    ///
    /// The mask is a constant (typically from `greater`, `less`, … which return 0/1 masks) and
    /// gets no gradient; a receives the gradient where the mask is set, b elsewhere, each
    /// summed back to its own shape. The pullback is `select` again, so it differentiates to
    /// any order.
    public static func select(where mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let r = SelectKernel.select(mask, a, b)
        return record(.where, result: r, inputs: [a, b]) { g, _ in
            let zero = Tensor(0)
            return [a.node == nil ? nil : select(where: mask, g, zero).unbroadcast(to: a.shape),
                    b.node == nil ? nil : select(where: mask, zero, g).unbroadcast(to: b.shape)]
        }
    }
}

enum SelectKernel {
    /// Strides of `shape` broadcast against `out` (0 along broadcast axes), aligned to out's rank.
    static func strides(_ shape: [Int], in out: [Int]) -> [Int] {
        let lead = out.count - shape.count
        let s = Shape.strides(shape)
        return (0..<out.count).map { i in i < lead || shape[i - lead] == 1 ? 0 : s[i - lead] }
    }

    static func select(_ m: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let ab = Shape.broadcast(a.shape, b.shape), let out = Shape.broadcast(m.shape, ab) else {
            preconditionFailure("where: mask \(Shape.describe(m.shape)) and operands \(Shape.describe(a.shape)), \(Shape.describe(b.shape)) do not broadcast")
        }
        let pm = m.storage.pointer, pa = a.storage.pointer, pb = b.storage.pointer
        let n = Shape.count(out)
        if m.shape == out && a.shape == out && b.shape == out {
            return Tensor.make(out) { o in for i in 0..<n { o[i] = pm[i] != 0 ? pa[i] : pb[i] } }
        }
        let r = out.count
        let sm = strides(m.shape, in: out), sa = strides(a.shape, in: out), sb = strides(b.shape, in: out)
        let inner = r == 0 ? 1 : out[r - 1]
        let im = r == 0 ? 0 : sm[r - 1], ia = r == 0 ? 0 : sa[r - 1], ib = r == 0 ? 0 : sb[r - 1]
        let rows = inner == 0 ? 0 : n / inner
        return Tensor.make(out) { o in
            var coord = [Int](repeating: 0, count: Swift.max(r - 1, 0))
            var om = 0, oa = 0, ob = 0
            for row in 0..<rows {
                let q = o + row * inner
                for j in 0..<inner { q[j] = pm[om + j * im] != 0 ? pa[oa + j * ia] : pb[ob + j * ib] }
                var d = r - 2
                while d >= 0 {
                    coord[d] += 1
                    om += sm[d]; oa += sa[d]; ob += sb[d]
                    if coord[d] < out[d] { break }
                    om -= sm[d] * out[d]; oa -= sa[d] * out[d]; ob -= sb[d] * out[d]
                    coord[d] = 0
                    d -= 1
                }
            }
        }
    }
}
