/// Joining tensors (concatenate, stack) and padding several axes at once.
///
/// Pullbacks are slices of the incoming gradient (`slice`, itself differentiable through `pad`),
/// so both ops differentiate to any order.
extension Tensor {
    /// Joins `xs` end to end along an existing axis (`torch.cat`).
    ///
    /// Shapes: every input has the same rank and the same size on every other axis; the result's
    /// size along `axis` is the sum of the inputs' sizes. Negative axes count from the end.
    public static func concatenated(_ xs: [Tensor], alongAxis axis: Int) -> Tensor {
        ensure(!xs.isEmpty, "concat: needs at least one tensor")
        let first = xs[0].shape
        let a = Shape.axis(axis, rank: first.count, op: "concat")
        ensure(!first.isEmpty, "concat: cannot concatenate rank-0 tensors")
        var total = 0
        for x in xs {
            var s = x.shape
            ensure(s.count == first.count, "concat: shapes \(Shape.describe(first)) and \(Shape.describe(s)) differ in rank")
            s[a] = first[a]
            ensure(s == first, "concat: shapes \(Shape.describe(first)) and \(Shape.describe(x.shape)) differ outside axis \(a)")
            total += x.shape[a]
        }
        if xs.count == 1 { return xs[0] }
        let (outer, _, inner) = Reduce.split(first, axis: a)
        var outShape = first; outShape[a] = total
        let sizes = xs.map { $0.shape[a] }
        let r = Tensor.make(outShape) { o in
            let rowOut = total * inner
            var off = 0
            for (x, n) in zip(xs, sizes) {
                let p = x.storage.pointer, chunk = n * inner
                for i in 0..<outer { (o + i * rowOut + off).update(from: p + i * chunk, count: chunk) }
                off += chunk
            }
        }
        return record(.concat, result: r, inputs: xs, attributes: ["axis": .int(a)]) { g, _ in
            var start = 0
            return zip(xs, sizes).map { x, n in
                defer { start += n }
                return x.node == nil ? nil : g.slice(axis: a, start: start, length: n)
            }
        }
    }

    /// Joins same-shape tensors along a new axis (`torch.stack`).
    ///
    /// Shapes: each input S; result S with `xs.count` inserted at `axis` (0 … rank; negative axes
    /// count from the end of the result, so −1 appends). Default axis 0, as in PyTorch.
    public static func stacked(_ xs: [Tensor], alongAxis axis: Int = 0) -> Tensor {
        ensure(!xs.isEmpty, "stack: needs at least one tensor")
        let s = xs[0].shape
        let a = Shape.axis(axis, rank: s.count + 1, op: "stack")
        for x in xs {
            ensure(x.shape == s, "stack: shapes \(Shape.describe(s)) and \(Shape.describe(x.shape)) differ")
        }
        var outShape = s; outShape.insert(xs.count, at: a)
        let outer = Shape.count(Array(s[..<a])), inner = Shape.count(Array(s[a...]))
        let k = xs.count
        let r = Tensor.make(outShape) { o in
            for (j, x) in xs.enumerated() {
                let p = x.storage.pointer
                for i in 0..<outer { (o + (i * k + j) * inner).update(from: p + i * inner, count: inner) }
            }
        }
        return record(.stack, result: r, inputs: xs, attributes: ["axis": .int(a)]) { g, _ in
            xs.enumerated().map { j, x in
                x.node == nil ? nil : g.slice(axis: a, start: j, length: 1).reshaped(s)
            }
        }
    }

    /// Pads every axis: `padding[i]` elements of `value` before and after axis i.
    ///
    /// Shapes: `padding.count == rank`; axis i grows by before + after. Built from the
    /// single-axis `padded(axis:before:after:value:)`, one recorded `pad` per padded axis.
    public func padded(_ padding: [(before: Int, after: Int)], value: Float = 0) -> Tensor {
        ensure(padding.count == rank,
                     "pad: \(padding.count) (before, after) pairs for a tensor of rank \(rank), shape \(Shape.describe(shape))")
        var r = self
        for (i, p) in padding.enumerated() { r = r.padded(axis: i, before: p.before, after: p.after, value: value) }
        return r
    }
}
