/// Reduction kernels along one axis, viewing the tensor as [outer, n, inner].
enum Reduce {
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (Shape.count(Array(shape[..<axis])), shape[axis], Shape.count(Array(shape[(axis + 1)...])))
    }

    /// Σ of n contiguous floats with 16 independent lanes (a scalar loop would be one long
    /// dependency chain: LLVM keeps float sums in order), lanes combined in a fixed order.
    @inline(__always) static func contiguousSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var total = acc.sum()
        while i < n { total += p[i]; i += 1 }
        return total
    }

    /// Sum along one axis; the result drops that axis.
    static func sum(_ x: Tensor, axis: Int) -> Tensor {
        let (outer, n, inner) = split(x.shape, axis: axis)
        var shape = x.shape; shape.remove(at: axis)
        return Tensor.make(shape) { o in
            let p = x.storage.pointer
            if inner == 1 {
                for r in 0..<outer {
                    var acc: Float = 0
                    let q = p + r * n
                    for j in 0..<n { acc += q[j] }
                    o[r] = acc
                }
                return
            }
            o.initialize(repeating: 0, count: outer * inner)
            for r in 0..<outer {
                let dst = o + r * inner
                for j in 0..<n {
                    let src = p + (r * n + j) * inner
                    for i in 0..<inner { dst[i] += src[i] }
                }
            }
        }
    }

    /// Maximum along one axis and the position of the first maximum.
    static func max(_ x: Tensor, axis: Int) -> (values: Tensor, indices: [Int]) {
        let (outer, n, inner) = split(x.shape, axis: axis)
        ensure(n > 0, "max: cannot reduce an empty axis \(axis) of shape \(Shape.describe(x.shape))")
        var shape = x.shape; shape.remove(at: axis)
        var idx = [Int](repeating: 0, count: outer * inner)
        let p = x.storage.pointer
        let values = Tensor.make(shape) { o in
            for r in 0..<outer {
                for i in 0..<inner {
                    var best = p[r * n * inner + i], bi = 0
                    for j in 1..<Swift.max(n, 1) {
                        let v = p[(r * n + j) * inner + i]
                        if v > best || (v.isNaN && !best.isNaN) { best = v; bi = j }
                    }
                    o[r * inner + i] = best
                    idx[r * inner + i] = bi
                }
            }
        }
        return (values, idx)
    }
}
