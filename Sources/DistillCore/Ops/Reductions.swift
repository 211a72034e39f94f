/// Reductions: sum, mean, max, argmax, variance.
extension Tensor {
    /// Sum over `axes` (negative axes count from the end); `keepDims` keeps them with size 1.
    public func sum(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor {
        let norm = Array(Set(axes.map { Shape.axis($0, rank: rank, op: "sum") })).sorted()
        var keptShape = shape
        for a in norm { keptShape[a] = 1 }
        var r = self.detached()
        for a in norm.reversed() { r = Reduce.sum(r, axis: a) }
        let outShape = keepDims ? keptShape : shape.enumerated().filter { !norm.contains($0.offset) }.map { $0.element }
        r = Tensor(storage: r.storage, shape: outShape)
        let inShape = shape
        return Tensor.record(.sum, result: r, inputs: [self], attributes: ["axes": .ints(norm), "keepDims": .bool(keepDims)]) { g, _ in
            [g.reshaped(keptShape).expanded(to: inShape)]
        }
    }

    public func sum(alongAxis axis: Int, keepDims: Bool = false) -> Tensor { sum(alongAxes: [axis], keepDims: keepDims) }

    /// Sum of all elements, as a scalar tensor.
    public func sum() -> Tensor { sum(alongAxes: Array(0..<rank)) }

    public func mean(alongAxes axes: [Int], keepDims: Bool = false) -> Tensor {
        var n = 1
        for a in Set(axes.map { Shape.axis($0, rank: rank, op: "mean") }) { n *= shape[a] }
        return sum(alongAxes: axes, keepDims: keepDims) / Float(n)
    }

    public func mean(alongAxis axis: Int, keepDims: Bool = false) -> Tensor { mean(alongAxes: [axis], keepDims: keepDims) }
    public func mean() -> Tensor { sum() / Float(Swift.max(count, 1)) }

    /// Variance over `axes`, biased (divides by n) unless `unbiased` (n − 1, PyTorch's default).
    public func variance(alongAxes axes: [Int], keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        var n = 1
        for a in Set(axes.map { Shape.axis($0, rank: rank, op: "variance") }) { n *= shape[a] }
        let centred = self - mean(alongAxes: axes, keepDims: true)
        return (centred * centred).sum(alongAxes: axes, keepDims: keepDims) / Float(unbiased ? n - 1 : n)
    }

    /// Maximum along one axis; the gradient flows to the first maximal element.
    public func max(alongAxis axis: Int, keepDims: Bool = false) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "max")
        let (values, idx) = Reduce.max(self, axis: a)
        var kept = shape; kept[a] = 1
        let r = keepDims ? values.reshaped(kept) : values
        let (outer, n, inner) = Reduce.split(shape, axis: a)
        let inShape = shape
        return Tensor.record(.max, result: r, inputs: [self], attributes: ["axis": .int(a), "keepDims": .bool(keepDims)]) { g, _ in
            let mask = Tensor.make(inShape) { m in
                m.initialize(repeating: 0, count: outer * n * inner)
                for o in 0..<outer { for i in 0..<inner { m[(o * n + idx[o * inner + i]) * inner + i] = 1 } }
            }
            return [g.reshaped(kept).expanded(to: inShape) * mask]
        }
    }

    /// Maximum of all elements.
    public func max() -> Tensor { reshaped([count]).max(alongAxis: 0) }

    /// Index of the first maximum along an axis (not differentiable).
    public func argmax(alongAxis axis: Int = -1) -> IntTensor {
        let a = Shape.axis(axis, rank: rank, op: "argmax")
        var s = shape; s.remove(at: a)
        return IntTensor(shape: s, scalars: Reduce.max(self, axis: a).indices)
    }
}
