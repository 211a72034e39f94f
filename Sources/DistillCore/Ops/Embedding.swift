/// Embedding lookup: row `indices[…]` of a table, `torch.nn.functional.embedding`.
///
/// out[…, :] = weight[indices[…], :]. Shapes: weight [V, D], indices any shape with values in
/// 0 ..< V; result indices.shape + [D]. The gradient scatter-adds rows of the incoming gradient
/// into a [V, D] table (repeated indices add up); that adjoint is recorded as `embedding` too,
/// and its pullback is the lookup again, so the op differentiates to any order. `ids`, when
/// given, is the tensor the indices were read from (token ids carried as Float values): a trace
/// records it, so an exported graph looks them up from its input.
public func embedding(_ indices: IntTensor, weight: Tensor, ids: Tensor? = nil) -> Tensor {
    ensure(weight.rank == 2, "embedding: weight must be [V, D], got \(Shape.describe(weight.shape))")
    let v = weight.shape[0]
    for (j, i) in indices.scalars.enumerated() where i < 0 || i >= v {
        failCheck("embedding: index \(i) at flat position \(j) of indices \(Shape.describe(indices.shape)) is outside 0..<\(v) (V = \(v), weight \(Shape.describe(weight.shape)))")
    }
    let r = EmbeddingKernels.lookup(weight, indices: indices)
    let wShape = weight.shape
    return Tensor.record(.embedding, result: r, inputs: [weight], attributes: ids.map { ["ids": .tensor($0)] } ?? [:]) { g, _ in
        [embeddingAdjoint(g, indices: indices, weightShape: wShape)]
    }
}

/// Σ over positions p with indices[p] = v of g[p, :], as a [V, D] table. Recorded as `embedding`.
func embeddingAdjoint(_ g: Tensor, indices: IntTensor, weightShape: [Int]) -> Tensor {
    let r = EmbeddingKernels.scatterRows(g, indices: indices, into: weightShape)
    return Tensor.record(.embedding, result: r, inputs: [g]) { gg, _ in
        [embedding(indices, weight: gg)]
    }
}

enum EmbeddingKernels {
    static func lookup(_ w: Tensor, indices: IntTensor) -> Tensor {
        let d = w.shape[1]
        return Tensor.make(indices.shape + [d]) { o in
            let p = w.storage.pointer
            indices.scalars.withUnsafeBufferPointer { idx in
                for j in 0..<idx.count { (o + j * d).update(from: p + idx[j] * d, count: d) }
            }
        }
    }

    static func scatterRows(_ g: Tensor, indices: IntTensor, into shape: [Int]) -> Tensor {
        let d = shape[1]
        return Tensor.make(shape) { o in
            o.initialize(repeating: 0, count: Shape.count(shape))
            let p = g.storage.pointer
            indices.scalars.withUnsafeBufferPointer { idx in
                for j in 0..<idx.count {
                    let dst = o + idx[j] * d, src = p + j * d
                    for i in 0..<d { dst[i] += src[i] }
                }
            }
        }
    }
}
