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
    let mask = TensorStorage(uninitializedCount: n), out = TensorStorage(uninitializedCount: n)
    DropoutKernel.run(x.storage.pointer, out: out.pointer, mask: mask.pointer, count: n,
                      threshold: threshold, scale: scale, rng: &g)
    let r = Tensor(storage: out, shape: x.shape)
    let maskTensor = Tensor(storage: mask, shape: x.shape)
    return Tensor.record(.dropout, result: r, inputs: [x]) { grad, _ in
        if !GradMode.isEnabled { return [Elementwise.zipSame(grad, maskTensor) { $0 * $1 }] }
        return [grad * maskTensor]
    }
}

enum DropoutKernel {
    /// mask[i] = scale where lane(i) ≥ threshold, else 0, and out[i] = x[i]·mask[i]; lane(i) is
    /// the (i mod 4)-th 16-bit lane of the (i div 4)-th draw. The 4 lanes of a draw are compared
    /// and selected as one SIMD4 (a vector blend): a scalar compare-and-select compiled to
    /// branches that mispredict half the time at p = ½ and ran about 10× slower (760 vs 60–135 µs for [128, 1200]). The generator
    /// is copied into a local so its state stays in registers.
    static func run(_ x: UnsafePointer<Float>, out o: UnsafeMutablePointer<Float>, mask m: UnsafeMutablePointer<Float>,
                    count n: Int, threshold: UInt64, scale: Float, rng g: inout SeededGenerator) {
        var rng = g
        let t = SIMD4<UInt32>(repeating: UInt32(threshold))
        let zero = SIMD4<Float>(repeating: 0), s = SIMD4<Float>(repeating: scale)
        let low16 = SIMD4<UInt32>(repeating: 0xFFFF)
        let xr = UnsafeRawPointer(x), orw = UnsafeMutableRawPointer(o), mr = UnsafeMutableRawPointer(m)
        let quads = n / 4
        for q in 0..<quads {
            let bits = rng.next()
            let lanes = SIMD4<UInt32>(UInt32(truncatingIfNeeded: bits), UInt32(truncatingIfNeeded: bits >> 16),
                                      UInt32(truncatingIfNeeded: bits >> 32), UInt32(truncatingIfNeeded: bits >> 48)) & low16
            let mv = zero.replacing(with: s, where: lanes .>= t)
            let off = q &* 16
            mr.storeBytes(of: mv, toByteOffset: off, as: SIMD4<Float>.self)
            orw.storeBytes(of: xr.loadUnaligned(fromByteOffset: off, as: SIMD4<Float>.self) * mv, toByteOffset: off, as: SIMD4<Float>.self)
        }
        var i = quads * 4
        if i < n {
            var bits = rng.next()
            while i < n {
                let mi: Float = bits & 0xFFFF >= threshold ? scale : 0
                m[i] = mi
                o[i] = x[i] * mi
                bits >>= 16
                i += 1
            }
        }
        g = rng
    }
}
