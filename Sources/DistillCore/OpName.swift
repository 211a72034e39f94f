/// The inventory of differentiable ops. Every op records itself on the tape under one of these
/// names, and the gradient-check test iterates `allCases`: an op added here without a
/// finite-difference check fails the suite.
public enum OpName: String, CaseIterable, Sendable {
    // arithmetic (broadcasting)
    case add, subtract, multiply, divide, negate
    // unary math
    case exp, log, sqrt, pow, abs, sigmoid, tanh, relu, leakyRelu, gelu, softplus, erf
    // selection
    case `where`, clamp
    // reductions
    case sum, max
    // shape
    case reshape, permute, expand, slice, concat, stack, pad, indexSelect, gather
    // linear algebra
    case matmul
    // neural-network ops
    case softmax, logSoftmax, crossEntropy, dropout, embedding
    case conv2d, convTranspose2d, maxPool2d, avgPool2d, adaptiveAvgPool2d, batchNorm
    case conv2dBackwardWeight, maxPool2dBackward, avgPool2dBackward
    // resampling (GridSample.swift)
    case gridSample, gridSampleBackward
}
