@testable import DistillCore

extension GradCases {
    /// Convolution, pooling and batch norm, plus the adjoint ops their pullbacks are built from.
    /// Squares (`pow(2)`) make the output gradient depend on the inputs, so second order also
    /// exercises each pullback's own pullback with a non-constant seed.
    static let nn: [GradCase] = [
        GradCase(.conv2d, "conv2d pad 1 bias", [Inputs.uniform([2, 2, 4, 4], seed: 100), Inputs.uniform([3, 2, 3, 3], seed: 101),
                                               Inputs.uniform([3], seed: 102)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)).pow(2) },
        GradCase(.conv2d, "conv2d stride dilation groups", [Inputs.uniform([1, 4, 6, 5], seed: 103), Inputs.uniform([4, 2, 2, 2], seed: 104)]) {
            conv2d($0[0], weight: $0[1], stride: (2, 1), padding: (1, 0), dilation: (2, 1), groups: 2) },
        GradCase(.conv2d, "conv2d 1×1", [Inputs.uniform([2, 3, 2, 3], seed: 105), Inputs.uniform([2, 3, 1, 1], seed: 106)]) {
            conv2d($0[0], weight: $0[1]).pow(2) },
        GradCase(.convTranspose2d, "convTranspose2d stride 2 output padding bias",
                 [Inputs.uniform([1, 2, 3, 3], seed: 107), Inputs.uniform([2, 3, 3, 3], seed: 108), Inputs.uniform([3], seed: 109)]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1)).pow(2) },
        GradCase(.convTranspose2d, "convTranspose2d groups dilation", [Inputs.uniform([1, 4, 3, 2], seed: 110), Inputs.uniform([4, 1, 2, 2], seed: 111)]) {
            convTranspose2d($0[0], weight: $0[1], padding: (1, 0), dilation: (2, 2), groups: 2) },
        GradCase(.conv2dBackwardWeight, "conv2d weight gradient",
                 [Inputs.uniform([2, 2, 4, 3], seed: 112), Inputs.uniform([2, 4, 2, 2], seed: 113)]) {
            ConvOps.weightGradient($0[0], $0[1], nnGeometry).pow(2) },
        GradCase(.maxPool2d, "maxPool2d 2×2", [Inputs.distinct([1, 2, 4, 4], seed: 114)]) { maxPool2d($0[0], kernel: (2, 2)).pow(2) },
        GradCase(.maxPool2d, "maxPool2d 3×3 stride 2 pad 1", [Inputs.distinct([1, 2, 5, 6], seed: 115)]) {
            maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)).pow(2) },
        GradCase(.maxPool2dBackward, "maxPool2d scatter", [Inputs.uniform([1, 2, 2, 3], seed: 116)]) {
            PoolOps.maxScatter($0[0], nnPoolIndices, inShape: [1, 2, 4, 6]).pow(2) },
        GradCase(.avgPool2d, "avgPool2d 3×3 stride 2 pad 1", [Inputs.uniform([1, 2, 5, 5], seed: 117)]) {
            avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)).pow(2) },
        GradCase(.avgPool2d, "avgPool2d exclude pad", [Inputs.uniform([1, 2, 5, 4], seed: 118)]) {
            avgPool2d($0[0], kernel: (3, 2), stride: (2, 1), padding: (1, 1), countIncludePad: false).pow(2) },
        GradCase(.adaptiveAvgPool2d, "adaptiveAvgPool2d 5×7 → 3×4", [Inputs.uniform([1, 2, 5, 7], seed: 119)]) {
            adaptiveAvgPool2d($0[0], outputSize: (3, 4)).pow(2) },
        GradCase(.avgPool2dBackward, "avgPool2d adjoint", [Inputs.uniform([1, 2, 3, 4], seed: 120)]) {
            PoolOps.averageAdjoint($0[0], WindowPlan.adaptive(h: 5, w: 7, oh: 3, ow: 4), forwardOp: .adaptiveAvgPool2d).pow(2) },
        GradCase(.batchNorm, "batchNorm training [N, C]",
                 [Inputs.uniform([5, 3], -2, 2, seed: 121), Inputs.uniform([3], 0.5, 1.5, seed: 122), Inputs.uniform([3], seed: 123)]) {
            var rm = Tensor.zeros([3]), rv = Tensor.ones([3])
            return batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: &rm, runningVar: &rv, training: true) },
        GradCase(.batchNorm, "batchNorm training [N, C, H, W]",
                 [Inputs.uniform([2, 2, 2, 3], -2, 2, seed: 124), Inputs.uniform([2], 0.5, 1.5, seed: 125), Inputs.uniform([2], seed: 126)]) {
            var rm = Tensor.zeros([2]), rv = Tensor.ones([2])
            return batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: &rm, runningVar: &rv, training: true).pow(2) },
        GradCase(.batchNorm, "batchNorm training no affine", [Inputs.uniform([3, 2, 2, 2], -2, 2, seed: 127)]) {
            var rm = Tensor.zeros([2]), rv = Tensor.ones([2])
            return batchNorm($0[0], weight: nil, bias: nil, runningMean: &rm, runningVar: &rv, training: true) },
        GradCase(.batchNorm, "batchNorm eval",
                 [Inputs.uniform([2, 2, 2, 2], seed: 128), Inputs.uniform([2], 0.5, 1.5, seed: 129), Inputs.uniform([2], seed: 130)]) {
            var rm = Tensor([0.2, -0.1]), rv = Tensor([0.5, 1.5])
            return batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: &rm, runningVar: &rv, training: false).pow(2) },
    ]

    /// Geometry of the weight-gradient case: x [2, 2, 4, 3], kernel 2×2, stride 2, padding 1 → dy [2, 4, 2, 2].
    static let nnGeometry = ConvGeometry(n: 2, c: 2, h: 4, w: 3, o: 4, oh: 2, ow: 2, kh: 2, kw: 2,
                                         sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1)

    /// Arg-max positions of a 2×2 max pool over a fixed [1, 2, 4, 6] input.
    static let nnPoolIndices: PoolIndices = {
        let x = Inputs.distinct([1, 2, 4, 6], seed: 131)
        let idx = PoolIndices(count: 12)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 12)
        defer { y.deallocate() }
        PoolKernels.maxForward(x.storage.pointer, planes: 2, h: 4, w: 6, oh: 2, ow: 3, k: (2, 2), s: (2, 2), p: (0, 0), y, idx.pointer)
        return idx
    }()
}
