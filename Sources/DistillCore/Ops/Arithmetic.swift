/// Broadcasting arithmetic. Gradients are summed back to each operand's shape (`unbroadcast`).
extension Tensor {
    /// Sums `self` (a gradient of broadcast shape) down to `shape`.
    public func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        ensure(lead >= 0, "unbroadcast: cannot reduce \(Shape.describe(shape)) to \(Shape.describe(target))")
        var axes: [Int] = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(alongAxes: axes).reshaped(target)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let r = Elementwise.zip(a, b, op: "add") { $0 + $1 }
        // The pullback needs only the shapes: capturing the operands would keep their buffers
        // alive until backward (a Linear's matmul output, for one).
        let aShape = a.shape, bShape = b.shape, aNeeds = a.node != nil, bNeeds = b.node != nil
        return record(.add, result: r, inputs: [a, b]) { g, _ in
            [aNeeds ? g.unbroadcast(to: aShape) : nil, bNeeds ? g.unbroadcast(to: bShape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let r = Elementwise.zip(a, b, op: "subtract") { $0 - $1 }
        let aShape = a.shape, bShape = b.shape, aNeeds = a.node != nil, bNeeds = b.node != nil
        return record(.subtract, result: r, inputs: [a, b]) { g, _ in
            [aNeeds ? g.unbroadcast(to: aShape) : nil, bNeeds ? (-g).unbroadcast(to: bShape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let r = Elementwise.zip(a, b, op: "multiply") { $0 * $1 }
        return record(.multiply, result: r, inputs: [a, b]) { g, _ in
            [a.node == nil ? nil : (g * b).unbroadcast(to: a.shape), b.node == nil ? nil : (g * a).unbroadcast(to: b.shape)]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let r = Elementwise.zip(a, b, op: "divide") { $0 / $1 }
        return record(.divide, result: r, inputs: [a, b]) { g, _ in
            [a.node == nil ? nil : (g / b).unbroadcast(to: a.shape),
             b.node == nil ? nil : (-(g * a) / (b * b)).unbroadcast(to: b.shape)]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        let r = Elementwise.map(a) { -$0 }
        return record(.negate, result: r, inputs: [a]) { g, _ in [-g] }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor(s) + a }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(s) }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor(s) - a }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(s) }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor(s) * a }
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor(s) }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor(s) / a }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
}
