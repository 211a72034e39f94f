/// Matrix products, batched over leading axes.
extension Tensor {
    /// op(a) · op(b) where op transposes the last two axes when asked. Shapes: a [..., M, K]
    /// (or [..., K, M] transposed), b [..., K, N] (or [..., N, K]); leading axes must match, or b
    /// may be a single matrix shared by every batch item. Transposes are handled by the GEMM
    /// kernel, never by copying.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        ensure(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(Shape.describe(a.shape)) and \(Shape.describe(b.shape))")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        ensure(k == kb && (batchA == batchB || batchB.isEmpty),
                     "matmul: shapes \(Shape.describe(a.shape))\(transposeA ? "ᵀ" : "") and \(Shape.describe(b.shape))\(transposeB ? "ᵀ" : "") do not multiply")
        let batch = Shape.count(batchA)
        let r = Tensor.make(batchA + [m, n]) { c in
            let pa = a.storage.pointer, pb = b.storage.pointer
            let strideB = batchB.isEmpty ? 0 : k * n
            for i in 0..<batch {
                GEMM.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                           a: pa + i * m * k, lda: transposeA ? m : k,
                           b: pb + i * strideB, ldb: transposeB ? k : n,
                           c: c + i * m * n, ldc: n)
            }
        }
        return record(.matmul, result: r, inputs: [a, b], attributes: ["transposeA": .bool(transposeA), "transposeB": .bool(transposeB)]) { g, _ in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.node != nil {
                switch (transposeA, transposeB) {
                case (false, false): ga = matmul(g, b, transposeB: true)
                case (false, true): ga = matmul(g, b)
                case (true, false):
                    ga = batchB.isEmpty && !batchA.isEmpty ? matmul(g, b, transposeB: true).transposed() : matmul(b, g, transposeB: true)
                case (true, true):
                    ga = batchB.isEmpty && !batchA.isEmpty ? matmul(g, b).transposed() : matmul(b, g, transposeA: true, transposeB: true)
                }
            }
            if b.node != nil {
                // with a shared b, fold the batch into the rows of a and g
                let a2 = batchB.isEmpty && !batchA.isEmpty && !transposeA ? a.reshaped([batch * m, k]) : a
                let g2 = batchB.isEmpty && !batchA.isEmpty ? g.reshaped([batch * m, n]) : g
                if batchB.isEmpty && !batchA.isEmpty && transposeA {
                    var acc: Tensor? = nil
                    for i in 0..<batch {
                        let ai = a.slice(axis: 0, start: i, length: 1).reshaped([k, m])
                        let gi = g.slice(axis: 0, start: i, length: 1).reshaped([m, n])
                        let t = transposeB ? matmul(gi, ai, transposeA: true, transposeB: true) : matmul(ai, gi)
                        acc = acc.map { $0 + t } ?? t
                    }
                    gb = acc
                } else {
                    switch (transposeA, transposeB) {
                    case (false, false): gb = matmul(a2, g2, transposeA: true)
                    case (false, true): gb = matmul(g2, a2, transposeA: true)
                    case (true, false): gb = matmul(a2, g2)
                    case (true, true): gb = matmul(g2, a2, transposeA: true, transposeB: true)
                    }
                }
            }
            return [ga, gb]
        }
    }

    /// `self · other` (see `matmul(_:_:transposeA:transposeB:)`).
    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, other) }
}
