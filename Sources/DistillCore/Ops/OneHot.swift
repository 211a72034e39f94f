/// One-hot encoding (a constant, not on the tape).
extension IntTensor {
    /// A [N, classes] tensor with 1 at (i, labels[i]) and 0 elsewhere; a label outside
    /// 0 ..< classes stops with a message naming `op`, the label, its row and the class count.
    public func oneHot(classes c: Int, op: String = "oneHot") -> Tensor {
        let n = count
        return Tensor.make([n, c]) { o in
            o.initialize(repeating: 0, count: n * c)
            for i in 0..<n {
                let y = scalars[i]
                ensure(y >= 0 && y < c, "\(op): label \(y) at row \(i) is outside 0..<\(c)")
                o[i * c + y] = 1
            }
        }
    }
}
