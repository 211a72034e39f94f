import DistillCore

/// Gradient checks for joining, index-driven selection, masking, dropout and embedding.
/// Each function squares (or multiplies) the op's output so that the second-order check
/// differentiates the op's pullback (its adjoint) as well.
extension GradCases {
    static let select: [GradCase] = [
        GradCase(.concat, "concat axis 1", [Inputs.uniform([2, 3], seed: 60), Inputs.uniform([2, 1], seed: 61), Inputs.uniform([2, 2], seed: 62)]) {
            Tensor.concatenated($0, alongAxis: 1).pow(2) },
        GradCase(.concat, "concat axis 0 of 3", [Inputs.uniform([1, 2, 2], seed: 63), Inputs.uniform([2, 2, 2], seed: 64)]) {
            Tensor.concatenated([$0[0], $0[1]], alongAxis: -3) * Tensor.concatenated([$0[1], $0[0]], alongAxis: 0) },
        GradCase(.stack, [Inputs.uniform([2, 3], seed: 65), Inputs.uniform([2, 3], seed: 66)]) {
            Tensor.stacked($0, alongAxis: 1).pow(2) },
        GradCase(.stack, "stack axis -1", [Inputs.uniform([3], seed: 67), Inputs.uniform([3], seed: 68), Inputs.uniform([3], seed: 69)]) {
            Tensor.stacked($0, alongAxis: -1) * Tensor.stacked($0).transposed() },
        GradCase(.indexSelect, "indexSelect axis 0 repeated", [Inputs.uniform([4, 3], seed: 70)]) {
            $0[0].indexSelect(alongAxis: 0, indices: IntTensor([2, 0, 2, 3])).pow(2) },
        GradCase(.indexSelect, "indexSelect axis 1 of 3", [Inputs.uniform([2, 3, 2], seed: 71)]) {
            $0[0].indexSelect(alongAxis: 1, indices: IntTensor([1, 1, 0])).pow(2) },
        GradCase(.gather, "gather axis 1", [Inputs.uniform([3, 4], seed: 72)]) {
            $0[0].gather(alongAxis: 1, indices: IntTensor(shape: [3, 2], scalars: [0, 3, 1, 1, 2, 0])).pow(2) },
        GradCase(.gather, "gather axis 0 smaller index", [Inputs.uniform([3, 4], seed: 73)]) {
            $0[0].gather(alongAxis: 0, indices: IntTensor(shape: [2, 3], scalars: [2, 0, 1, 2, 2, 0])).pow(2) },
        GradCase(.pad, "pad multi-axis", [Inputs.uniform([2, 3], seed: 74)]) {
            $0[0].padded([(before: 1, after: 0), (before: 2, after: 1)], value: 0.5).pow(2) },
        GradCase(.where, "where broadcast", [Inputs.uniform([2, 3], seed: 75), Inputs.uniform([3], seed: 76)]) {
            let mask = Tensor(shape: [2, 1], scalars: [1, 0]).greater(Tensor([0.5, -1, 0.5]))
            return Tensor.select(where: mask, $0[0], $0[1]).pow(2) },
        GradCase(.where, "where same shape", [Inputs.uniform([2, 3], seed: 77), Inputs.uniform([2, 3], seed: 78)]) {
            Tensor.select(where: Tensor(shape: [2, 3], scalars: [1, 0, 0, 1, 1, 0]), $0[0] * $0[1], $0[1]) },
        GradCase(.where, "where broadcast mask", [Inputs.uniform([2, 1], seed: 84), Inputs.uniform([2, 3], seed: 85)]) {
            Tensor.select(where: Tensor(shape: [1, 3], scalars: [0, 1, 1]), $0[0], $0[1]) * $0[1] },
        GradCase(.dropout, "dropout 0.5", [Inputs.uniform([3, 5], seed: 79)]) {
            var g = SeededGenerator(seed: 80)
            return dropout($0[0], probability: 0.5, using: &g).pow(2) },
        GradCase(.dropout, "dropout 0.3", [Inputs.uniform([7], seed: 81)]) {
            var g = SeededGenerator(seed: 82)
            return dropout($0[0], probability: 0.3, using: &g) * $0[0] },
        GradCase(.embedding, [Inputs.uniform([5, 3], seed: 83)]) {
            embedding(IntTensor(shape: [2, 2], scalars: [1, 4, 1, 0]), weight: $0[0]).pow(2) },
    ]
}
