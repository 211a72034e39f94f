/// Slicing and padding along one axis; each is the other's pullback.
extension Tensor {
    /// Elements `start ..< start + length` along `axis`.
    public func slice(axis: Int, start: Int, length: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "slice")
        ensure(start >= 0 && length >= 0 && start + length <= shape[a],
                     "slice: range \(start)..<\(start + length) is out of bounds for axis \(a) of shape \(Shape.describe(shape))")
        if start == 0 && length == shape[a] { return self }
        let (outer, n, inner) = Reduce.split(shape, axis: a)
        var outShape = shape; outShape[a] = length
        let r = Tensor.make(outShape) { o in
            let p = storage.pointer
            for i in 0..<outer {
                (o + i * length * inner).update(from: p + (i * n + start) * inner, count: length * inner)
            }
        }
        return Tensor.record(.slice, result: r, inputs: [self],
                             attributes: ["axis": .int(a), "start": .int(start), "length": .int(length)]) { g, _ in
            [g.padded(axis: a, before: start, after: n - start - length)]
        }
    }

    /// Pads `before` and `after` elements of `value` along `axis`.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "pad")
        ensure(before >= 0 && after >= 0, "pad: negative padding \(before), \(after) on axis \(a)")
        if before == 0 && after == 0 { return self }
        let (outer, n, inner) = Reduce.split(shape, axis: a)
        let m = n + before + after
        var outShape = shape; outShape[a] = m
        let r = Tensor.make(outShape) { o in
            o.initialize(repeating: value, count: outer * m * inner)
            let p = storage.pointer
            for i in 0..<outer {
                (o + (i * m + before) * inner).update(from: p + i * n * inner, count: n * inner)
            }
        }
        return Tensor.record(.pad, result: r, inputs: [self],
                             attributes: ["axis": .int(a), "before": .int(before), "after": .int(after), "value": .float(value)]) { g, _ in
            [g.slice(axis: a, start: before, length: n)]
        }
    }
}
