/// Reshape, permute/transpose and expand (broadcast to a larger shape).
extension Tensor {
    /// Same elements under a new shape; one dimension may be -1 (inferred). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            ensure(known > 0 && count % known == 0, "reshape: cannot reshape \(Shape.describe(shape)) into \(Shape.describe(newShape))")
            s[i] = count / known
        }
        ensure(Shape.count(s) == count, "reshape: cannot reshape \(Shape.describe(shape)) (\(count) elements) into \(Shape.describe(newShape))")
        if s == shape { return self }
        let r = Tensor(storage: storage, shape: s)
        let inShape = shape
        return Tensor.record(.reshape, result: r, inputs: [self], attributes: ["shape": .ints(s)]) { g, _ in [g.reshaped(inShape)] }
    }

    public func flattened(fromAxis a: Int = 1) -> Tensor {
        let ax = Shape.axis(a, rank: rank, op: "flatten")
        return reshaped(Array(shape[..<ax]) + [Shape.count(Array(shape[ax...]))])
    }

    /// Reorders axes: result axis i is input axis `axes[i]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        ensure(axes.count == rank && Set(axes) == Set(0..<rank),
                     "permute: \(axes) is not a permutation of the axes of shape \(Shape.describe(shape))")
        if axes == Array(0..<rank) { return self }
        let outShape = axes.map { shape[$0] }
        let inStrides = Shape.strides(shape)
        let srcStrides = axes.map { inStrides[$0] }
        let n = count
        let r = Tensor.make(outShape) { o in
            let p = storage.pointer
            var idx = [Int](repeating: 0, count: rank)
            let last = rank - 1
            let innerN = outShape[last], innerS = srcStrides[last]
            var off = 0, i = 0
            while i < n {
                for j in 0..<innerN { o[i + j] = p[off + j * innerS] }
                i += innerN
                var d = last - 1
                while d >= 0 {
                    idx[d] += 1; off += srcStrides[d]
                    if idx[d] < outShape[d] { break }
                    off -= srcStrides[d] * outShape[d]; idx[d] = 0; d -= 1
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Tensor.record(.permute, result: r, inputs: [self], attributes: ["axes": .ints(axes)]) { g, _ in [g.permuted(inverse)] }
    }

    /// Swaps two axes (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(Shape.axis(a, rank: rank, op: "transpose"), Shape.axis(b, rank: rank, op: "transpose"))
        return permuted(axes)
    }

    /// Broadcasts to `target` (NumPy rules); the gradient sums back.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        ensure(Shape.broadcast(shape, target) == target, "expand: cannot expand \(Shape.describe(shape)) to \(Shape.describe(target))")
        let r = Elementwise.broadcast(self, to: target)
        let inShape = shape
        return Tensor.record(.expand, result: r, inputs: [self], attributes: ["shape": .ints(target)]) { g, _ in [g.unbroadcast(to: inShape)] }
    }
}
