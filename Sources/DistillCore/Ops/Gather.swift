/// Index-driven selection: `indexSelect` (whole slices along an axis) and `gather` (one element
/// per index, `torch.gather`).
///
/// Each op's pullback is its adjoint, a scatter-add, recorded under the same `OpName`; the
/// adjoint's own pullback is the forward op again. The pair is linear in the tensor argument,
/// so both directions differentiate to any order, and the op's second-order inventory case
/// exercises the adjoint.
extension Tensor {
    /// Slices `indices` along `axis` (`torch.index_select`): out[…, j, …] = self[…, indices[j], …].
    ///
    /// Shapes: self [..., n, ...] (n at `axis`), indices [k] with values in 0 ..< n; result
    /// [..., k, ...]. Repeated indices are allowed; their gradients add up.
    public func indexSelect(alongAxis axis: Int, indices: IntTensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "indexSelect")
        precondition(indices.shape.count == 1,
                     "indexSelect: indices must be rank 1, got \(Shape.describe(indices.shape)) for input \(Shape.describe(shape))")
        let n = shape[a]
        for (j, v) in indices.scalars.enumerated() {
            precondition(v >= 0 && v < n,
                         "indexSelect: index \(v) at position \(j) is outside 0..<\(n) along axis \(a) of input \(Shape.describe(shape))")
        }
        let r = IndexKernels.select(self, axis: a, indices: indices.scalars)
        let inShape = shape
        return Tensor.record(.indexSelect, result: r, inputs: [self]) { g, _ in
            [g.indexAdded(alongAxis: a, indices: indices, into: inShape)]
        }
    }

    /// The adjoint of `indexSelect`: a zero tensor of shape `target` with the slices of `self`
    /// added at `indices` along `axis` (`torch.index_add` into zeros). Recorded as `indexSelect`.
    func indexAdded(alongAxis a: Int, indices: IntTensor, into target: [Int]) -> Tensor {
        let r = IndexKernels.scatterSlices(self, axis: a, indices: indices.scalars, into: target)
        return Tensor.record(.indexSelect, result: r, inputs: [self]) { g, _ in
            [g.indexSelect(alongAxis: a, indices: indices)]
        }
    }

    /// Picks one element per index along `axis` (`torch.gather`):
    /// out[i₀, …, i_axis, …] = self[i₀, …, indices[i₀, …, i_axis, …], …].
    ///
    /// Shapes: indices has the rank of self, and on every other axis d a size ≤ self.shape[d];
    /// the result has the shape of indices. Index values lie in 0 ..< self.shape[axis].
    public func gather(alongAxis axis: Int, indices: IntTensor) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "gather")
        precondition(indices.shape.count == rank,
                     "gather: indices \(Shape.describe(indices.shape)) must have the rank of input \(Shape.describe(shape))")
        for d in 0..<rank where d != a {
            precondition(indices.shape[d] <= shape[d],
                         "gather: indices \(Shape.describe(indices.shape)) are larger than input \(Shape.describe(shape)) on axis \(d)")
        }
        let n = shape[a]
        for (j, v) in indices.scalars.enumerated() where v < 0 || v >= n {
            preconditionFailure("gather: index \(v) at flat position \(j) of indices \(Shape.describe(indices.shape)) is outside 0..<\(n) along axis \(a) of input \(Shape.describe(shape))")
        }
        let r = IndexKernels.gather(self, axis: a, indices: indices)
        let inShape = shape
        return Tensor.record(.gather, result: r, inputs: [self]) { g, _ in
            [g.scatterAdded(alongAxis: a, indices: indices, into: inShape)]
        }
    }

    /// The adjoint of `gather`: zeros of shape `target` with each element of `self` added at
    /// the position its index names (`torch.scatter_add` into zeros). Recorded as `gather`.
    func scatterAdded(alongAxis a: Int, indices: IntTensor, into target: [Int]) -> Tensor {
        let r = IndexKernels.scatterElements(self, axis: a, indices: indices, into: target)
        return Tensor.record(.gather, result: r, inputs: [self]) { g, _ in
            [g.gather(alongAxis: a, indices: indices)]
        }
    }
}

/// Kernels for index-driven ops; indices are validated by the callers.
enum IndexKernels {
    /// out[o, j, i] = x[o, idx[j], i] with x viewed as [outer, n, inner].
    static func select(_ x: Tensor, axis: Int, indices: [Int]) -> Tensor {
        let (outer, n, inner) = Reduce.split(x.shape, axis: axis)
        let k = indices.count
        var outShape = x.shape; outShape[axis] = k
        return Tensor.make(outShape) { o in
            let p = x.storage.pointer
            indices.withUnsafeBufferPointer { idx in
                for r in 0..<outer {
                    for j in 0..<k {
                        (o + (r * k + j) * inner).update(from: p + (r * n + idx[j]) * inner, count: inner)
                    }
                }
            }
        }
    }

    /// out = zeros(target); out[o, idx[j], i] += g[o, j, i].
    static func scatterSlices(_ g: Tensor, axis: Int, indices: [Int], into target: [Int]) -> Tensor {
        let (outer, n, inner) = Reduce.split(target, axis: axis)
        let k = indices.count
        return Tensor.make(target) { o in
            o.initialize(repeating: 0, count: outer * n * inner)
            let p = g.storage.pointer
            indices.withUnsafeBufferPointer { idx in
                for r in 0..<outer {
                    for j in 0..<k {
                        let dst = o + (r * n + idx[j]) * inner, src = p + (r * k + j) * inner
                        for i in 0..<inner { dst[i] += src[i] }
                    }
                }
            }
        }
    }

    /// Offsets into a tensor of shape `source` for each element of `indices` (row-major over
    /// the indices' shape), with the coordinate on `axis` replaced by the index value.
    static func elementOffsets(source: [Int], axis: Int, indices: IntTensor) -> [Int] {
        let strides = Shape.strides(source)
        let shape = indices.shape, r = shape.count
        var offsets = [Int](repeating: 0, count: indices.count)
        if indices.count == 0 { return offsets }
        var coord = [Int](repeating: 0, count: r)
        var base = 0   // Σ_{d ≠ axis} coord[d]·strides[d]
        let sa = strides[axis]
        indices.scalars.withUnsafeBufferPointer { idx in
            for f in 0..<indices.count {
                offsets[f] = base + idx[f] * sa
                var d = r - 1
                while d >= 0 {
                    coord[d] += 1
                    if d != axis { base += strides[d] }
                    if coord[d] < shape[d] { break }
                    if d != axis { base -= strides[d] * shape[d] }
                    coord[d] = 0
                    d -= 1
                }
            }
        }
        return offsets
    }

    static func gather(_ x: Tensor, axis: Int, indices: IntTensor) -> Tensor {
        let offsets = elementOffsets(source: x.shape, axis: axis, indices: indices)
        return Tensor.make(indices.shape) { o in
            let p = x.storage.pointer
            offsets.withUnsafeBufferPointer { off in for f in 0..<off.count { o[f] = p[off[f]] } }
        }
    }

    static func scatterElements(_ g: Tensor, axis: Int, indices: IntTensor, into target: [Int]) -> Tensor {
        let offsets = elementOffsets(source: target, axis: axis, indices: indices)
        return Tensor.make(target) { o in
            o.initialize(repeating: 0, count: Shape.count(target))
            let p = g.storage.pointer
            offsets.withUnsafeBufferPointer { off in for f in 0..<off.count { o[off[f]] += p[f] } }
        }
    }
}
