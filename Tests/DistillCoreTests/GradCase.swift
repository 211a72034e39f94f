import DistillCore

/// One entry of the gradient-check inventory: an op, seeded inputs kept away from kinks, and a
/// function of those inputs that exercises the op.
struct GradCase {
    let op: OpName
    let name: String
    let inputs: [Tensor]
    let secondOrder: Bool
    let f: ([Tensor]) -> Tensor

    init(_ op: OpName, _ name: String, _ inputs: [Tensor], secondOrder: Bool = true, _ f: @escaping ([Tensor]) -> Tensor) {
        self.op = op; self.name = name; self.inputs = inputs; self.secondOrder = secondOrder; self.f = f
    }

    init(_ op: OpName, _ inputs: [Tensor], secondOrder: Bool = true, _ f: @escaping ([Tensor]) -> Tensor) {
        self.init(op, op.rawValue, inputs, secondOrder: secondOrder, f)
    }
}

/// Seeded test inputs.
enum Inputs {
    static func uniform(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, low: lo, high: hi, using: &g)
    }

    /// Uniform values whose magnitude is at least `gap`, so kinks at 0 are not straddled.
    static func awayFromZero(_ shape: [Int], gap: Float = 0.1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.make(shape) { o in
            for i in 0..<Shape.count(shape) {
                let m = gap + (1 - gap) * g.nextFloat()
                o[i] = g.nextFloat() < 0.5 ? -m : m
            }
        }
    }

    /// Distinct values (a shuffled grid), so max/argmax have no ties.
    static func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let n = Shape.count(shape)
        let p = g.permutation(n)
        return Tensor(shape: shape, scalars: p.map { Float($0) / Float(n) - 0.5 })
    }
}
