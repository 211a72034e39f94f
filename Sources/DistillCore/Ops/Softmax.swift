#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Softmax, log-softmax and fused cross-entropy, computed stably (max subtracted).
extension Tensor {
    /// exp(x − logsumexp(x)) along `axis`.
    public func softmax(alongAxis axis: Int = -1) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "softmax")
        let r = SoftmaxKernel.softmax(self, axis: a, log: false)
        return Tensor.record(.softmax, result: r, inputs: [self], savesOutput: true, attributes: ["axis": .int(a)]) { g, y in
            [y * (g - (g * y).sum(alongAxis: a, keepDims: true))]
        }
    }

    /// x − logsumexp(x) along `axis`.
    public func logSoftmax(alongAxis axis: Int = -1) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "logSoftmax")
        let r = SoftmaxKernel.softmax(self, axis: a, log: true)
        return Tensor.record(.logSoftmax, result: r, inputs: [self], savesOutput: true, attributes: ["axis": .int(a)]) { g, y in
            [g - y.exp() * g.sum(alongAxis: a, keepDims: true)]
        }
    }
}

/// Mean cross-entropy between logits [N, C] and integer labels [N]: −(1/N) Σᵢ log softmax(zᵢ)[yᵢ].
/// Fused: one pass computes log-sum-exp, the gradient is (softmax − onehot)/N.
public func crossEntropy(logits: Tensor, labels: IntTensor) -> Tensor {
    ensure(logits.rank == 2, "crossEntropy: logits must be [N, C], got \(Shape.describe(logits.shape))")
    let n = logits.shape[0], c = logits.shape[1]
    ensure(labels.shape == [n], "crossEntropy: labels of shape \(Shape.describe(labels.shape)) do not match logits \(Shape.describe(logits.shape))")
    for y in labels.scalars { ensure(y >= 0 && y < c, "crossEntropy: label \(y) is outside 0..<\(c)") }
    let logp = SoftmaxKernel.softmax(logits.detached(), axis: 1, log: true)
    var total: Double = 0
    logp.withUnsafeBufferPointer { p in for i in 0..<n { total -= Double(p[i * c + labels.scalars[i]]) } }
    let r = Tensor(Float(total / Double(Swift.max(n, 1))))
    return Tensor.record(.crossEntropy, result: r, inputs: [logits]) { g, _ in
        let onehot = labels.oneHot(classes: c, op: "crossEntropy")
        if !GradMode.isEnabled {
            let s = g.item / Float(Swift.max(n, 1))
            return [Tensor.make([n, c]) { o in
                let lp = logp.storage.pointer, oh = onehot.storage.pointer
                for i in 0..<(n * c) { o[i] = (expf(lp[i]) - oh[i]) * s }
            }]
        }
        return [(logits.softmax(alongAxis: 1) - onehot) * (g / Float(Swift.max(n, 1)))]
    }
}

enum SoftmaxKernel {
    static func softmax(_ x: Tensor, axis: Int, log: Bool) -> Tensor {
        let (outer, n, inner) = Reduce.split(x.shape, axis: axis)
        return Tensor.make(x.shape) { o in
            let p = x.storage.pointer
            if inner == 1 {
                for r in 0..<outer {
                    let q = p + r * n, d = o + r * n
                    var m = -Float.infinity
                    for j in 0..<n { m = Swift.max(m, q[j]) }
                    var s: Float = 0
                    for j in 0..<n { let e = expf(q[j] - m); d[j] = e; s += e }
                    if log {
                        let ls = logf(s) + m
                        for j in 0..<n { d[j] = q[j] - ls }
                    } else {
                        let inv = 1 / s
                        for j in 0..<n { d[j] *= inv }
                    }
                }
                return
            }
            for r in 0..<outer {
                for i in 0..<inner {
                    let base = r * n * inner + i
                    var m = -Float.infinity
                    for j in 0..<n { m = Swift.max(m, p[base + j * inner]) }
                    var s: Float = 0
                    for j in 0..<n { s += expf(p[base + j * inner] - m) }
                    let ls = logf(s) + m
                    for j in 0..<n {
                        let v = p[base + j * inner] - ls
                        o[base + j * inner] = log ? v : expf(v)
                    }
                }
            }
        }
    }
}
