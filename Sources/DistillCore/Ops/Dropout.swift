/// Inverted dropout (Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov, "Dropout: A Simple
/// Way to Prevent Neural Networks from Overfitting", JMLR 2014; scaling at training time as in
/// PyTorch): y = x · m with m = 1/(1 − p) where an element is kept and 0 where it is dropped.
///
/// - Parameters:
///   - p: drop probability in [0, 1]. `p == 0` or `training == false` returns `x` unchanged
///     (same storage, no randomness drawn); `p == 1` drops everything.
///   - g: the mask is drawn from `g`, so the same generator state gives the same mask (one
///     `next()` per 4 elements, see below) and `g` advances by ⌈count / 4⌉ draws.
///
/// Mask bits: each 64-bit draw decides 4 elements, one 16-bit lane each; an element is kept
/// when its lane is ≥ t = round(p · 2¹⁶). The keep probability is exactly 1 − t/2¹⁶: exact for
/// every p that is a multiple of 2⁻¹⁶ (0.5, 0.25, 0.125, …), otherwise within 2⁻¹⁷ of 1 − p.
/// The scale is 1/(1 − p) exactly, as in PyTorch.
///
/// Shapes: any; the result has x's shape. The mask (with the scale folded in) is kept for the
/// pullback, g · m: a single fused multiply when no graph is built, otherwise the
/// differentiable `*` (dropout is linear in x, so higher derivatives reuse the same mask).
public func dropout(_ x: Tensor, probability p: Float, training: Bool = true, using g: inout SeededGenerator) -> Tensor {
    precondition(p >= 0 && p <= 1, "dropout: probability \(p) is outside [0, 1] (input \(Shape.describe(x.shape)))")
    if p == 0 || !training { return x }
    let n = x.count
    let threshold = UInt64(Swift.min((p * 65536).rounded(), 65536))
    let scale: Float = p < 1 ? 1 / (1 - p) : 0
    let mask = TensorStorage(uninitializedCount: n)
    var rng = g
    let r = Tensor.make(x.shape) { o in
        let px = x.storage.pointer, m = mask.pointer
        let quads = n / 4
        for q in 0..<quads {
            let bits = rng.next()
            let i = q &* 4
            let m0: Float = bits & 0xFFFF >= threshold ? scale : 0
            let m1: Float = (bits >> 16) & 0xFFFF >= threshold ? scale : 0
            let m2: Float = (bits >> 32) & 0xFFFF >= threshold ? scale : 0
            let m3: Float = bits >> 48 >= threshold ? scale : 0
            m[i] = m0; m[i &+ 1] = m1; m[i &+ 2] = m2; m[i &+ 3] = m3
            o[i] = px[i] * m0; o[i &+ 1] = px[i &+ 1] * m1; o[i &+ 2] = px[i &+ 2] * m2; o[i &+ 3] = px[i &+ 3] * m3
        }
        if quads * 4 < n {
            var bits = rng.next()
            for i in (quads * 4)..<n {
                let mi: Float = bits & 0xFFFF >= threshold ? scale : 0
                m[i] = mi
                o[i] = px[i] * mi
                bits >>= 16
            }
        }
    }
    g = rng
    let maskTensor = Tensor(storage: mask, shape: x.shape)
    return Tensor.record(.dropout, result: r, inputs: [x]) { grad, _ in
        if !GradMode.isEnabled { return [Elementwise.zipSame(grad, maskTensor) { $0 * $1 }] }
        return [grad * maskTensor]
    }
}
