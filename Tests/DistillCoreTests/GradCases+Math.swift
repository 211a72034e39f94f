import DistillCore

extension GradCases {
    static let math: [GradCase] = [
        GradCase(.add, [Inputs.uniform([2, 3], seed: 1), Inputs.uniform([3], seed: 2)]) { $0[0] + $0[1] },
        GradCase(.subtract, [Inputs.uniform([2, 1, 3], seed: 3), Inputs.uniform([4, 1], seed: 4)]) { $0[0] - $0[1] },
        GradCase(.multiply, [Inputs.uniform([2, 3], seed: 5), Inputs.uniform([2, 1], seed: 6)]) { $0[0] * $0[1] },
        GradCase(.divide, [Inputs.uniform([2, 3], seed: 7), Inputs.uniform([3], 0.5, 2, seed: 8)]) { $0[0] / $0[1] },
        GradCase(.negate, [Inputs.uniform([4], seed: 9)]) { -$0[0] },
        GradCase(.exp, [Inputs.uniform([2, 3], seed: 10)]) { $0[0].exp() },
        GradCase(.log, [Inputs.uniform([2, 3], 0.5, 2, seed: 11)]) { $0[0].log() },
        GradCase(.sqrt, [Inputs.uniform([2, 3], 0.5, 2, seed: 12)]) { $0[0].sqrt() },
        GradCase(.pow, "pow 3", [Inputs.uniform([2, 3], 0.5, 1.5, seed: 13)]) { $0[0].pow(3) },
        GradCase(.pow, "pow 2", [Inputs.uniform([5], seed: 14)]) { $0[0].pow(2) },
        GradCase(.abs, [Inputs.awayFromZero([2, 3], seed: 15)]) { $0[0].abs() },
        GradCase(.sigmoid, [Inputs.uniform([2, 3], -3, 3, seed: 16)]) { $0[0].sigmoid() },
        GradCase(.tanh, [Inputs.uniform([2, 3], -2, 2, seed: 17)]) { $0[0].tanh() },
        GradCase(.relu, [Inputs.awayFromZero([2, 3], seed: 18)]) { $0[0].relu() },
        GradCase(.leakyRelu, [Inputs.awayFromZero([2, 3], seed: 19)]) { $0[0].leakyRelu(slope: 0.1) },
        GradCase(.gelu, [Inputs.uniform([2, 3], -2, 2, seed: 20)]) { $0[0].gelu() },
        GradCase(.softplus, [Inputs.uniform([2, 3], -3, 3, seed: 21)]) { $0[0].softplus() },
        GradCase(.erf, [Inputs.uniform([2, 3], -1.5, 1.5, seed: 22)]) { $0[0].erf() },
        GradCase(.clamp, [Inputs.awayFromZero([2, 4], seed: 23)]) { $0[0].clamped(min: -0.05, max: 0.05) * $0[0] },
        GradCase(.sum, [Inputs.uniform([2, 3, 4], seed: 24)]) { ($0[0].sum(alongAxes: [0, 2]) * $0[0].sum(alongAxis: 1, keepDims: true).sum()) },
        GradCase(.max, [Inputs.distinct([3, 4], seed: 25)]) { $0[0].max(alongAxis: 1) * $0[0].max(alongAxis: 0, keepDims: true).sum() },
        GradCase(.matmul, "matmul", [Inputs.uniform([3, 4], seed: 26), Inputs.uniform([4, 2], seed: 27)]) { Tensor.matmul($0[0], $0[1]) },
        GradCase(.matmul, "matmul aᵀ bᵀ", [Inputs.uniform([4, 3], seed: 28), Inputs.uniform([2, 4], seed: 29)]) {
            Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) },
        GradCase(.matmul, "matmul a bᵀ", [Inputs.uniform([3, 4], seed: 30), Inputs.uniform([2, 4], seed: 31)]) {
            Tensor.matmul($0[0], $0[1], transposeB: true) },
        GradCase(.matmul, "matmul aᵀ b", [Inputs.uniform([4, 3], seed: 32), Inputs.uniform([4, 2], seed: 33)]) {
            Tensor.matmul($0[0], $0[1], transposeA: true) },
        GradCase(.matmul, "batched matmul", [Inputs.uniform([2, 3, 4], seed: 34), Inputs.uniform([2, 4, 2], seed: 35)]) { Tensor.matmul($0[0], $0[1]) },
        GradCase(.matmul, "batched matmul shared b", [Inputs.uniform([2, 3, 4], seed: 36), Inputs.uniform([4, 2], seed: 37)]) { Tensor.matmul($0[0], $0[1]) },
        GradCase(.matmul, "batched aᵀ shared bᵀ", [Inputs.uniform([2, 4, 3], seed: 38), Inputs.uniform([2, 4], seed: 39)]) {
            Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) },
        GradCase(.softmax, [Inputs.uniform([2, 4], -2, 2, seed: 40)]) { $0[0].softmax() },
        GradCase(.softmax, "softmax axis 0", [Inputs.uniform([3, 2, 2], -2, 2, seed: 41)]) { $0[0].softmax(alongAxis: 0) },
        GradCase(.logSoftmax, [Inputs.uniform([2, 5], -2, 2, seed: 42)]) { $0[0].logSoftmax() },
        GradCase(.logSoftmax, "logSoftmax axis 1 of 3", [Inputs.uniform([2, 3, 2], -2, 2, seed: 43)]) { $0[0].logSoftmax(alongAxis: 1) },
        GradCase(.crossEntropy, [Inputs.uniform([3, 4], -2, 2, seed: 44)]) { crossEntropy(logits: $0[0], labels: IntTensor([1, 0, 3])) },
    ]

    static let shape: [GradCase] = [
        GradCase(.reshape, [Inputs.uniform([2, 3], seed: 50)]) { $0[0].reshaped([3, 2]) * $0[0].reshaped([3, 2]) },
        GradCase(.permute, [Inputs.uniform([2, 3, 4], seed: 51)]) { $0[0].permuted([2, 0, 1]) * $0[0].permuted([2, 0, 1]) },
        GradCase(.expand, [Inputs.uniform([3, 1], seed: 52)]) { $0[0].expanded(to: [2, 3, 4]) * $0[0].expanded(to: [2, 3, 4]) },
        GradCase(.slice, [Inputs.uniform([3, 5], seed: 53)]) { $0[0].slice(axis: 1, start: 1, length: 3).pow(2) },
        GradCase(.pad, [Inputs.uniform([2, 3], seed: 54)]) { $0[0].padded(axis: 0, before: 1, after: 2, value: 0.5).pow(2) },
    ]
}
