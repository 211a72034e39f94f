/// Max, average and adaptive-average 2-D pooling over NCHW tensors (PyTorch semantics, floor
/// rounding, no dilation).
///
/// Every pooling op is linear once its windows (and, for max, the arg-max positions) are fixed,
/// so each pairs with an adjoint op and the pair is closed under differentiation:
/// `maxPool2d` ↔ `maxPool2dBackward` (gather ↔ scatter at the saved arg-max positions),
/// `avgPool2d` / `adaptiveAvgPool2d` ↔ `avgPool2dBackward` (window average ↔ its transpose).

/// y[n, c, i, j] = max of x[n, c] over rows i·s₀ − p₀ ..< i·s₀ − p₀ + k₀ and columns likewise
/// (padding never wins). Shapes: x [N, C, H, W] → [N, C, ⌊(H + 2p₀ − k₀)/s₀⌋ + 1, …].
/// `stride` defaults to `kernel`, padding to 0, and padding must be at most half the kernel,
/// as in PyTorch's `max_pool2d`. The gradient goes to the first maximal element of each window.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
    let s = stride ?? kernel
    ensure(x.rank == 4, "maxPool2d: input \(Shape.describe(x.shape)) must be [N, C, H, W]")
    ensure(kernel.0 >= 1 && kernel.1 >= 1 && s.0 >= 1 && s.1 >= 1 && padding.0 >= 0 && padding.1 >= 0
                 && 2 * padding.0 <= kernel.0 && 2 * padding.1 <= kernel.1,
                 "maxPool2d: kernel \(kernel), stride \(s) must be ≥ 1 and padding \(padding) at most half the kernel")
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / s.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / s.1 + 1
    ensure(h + 2 * padding.0 >= kernel.0 && w + 2 * padding.1 >= kernel.1,
                 "maxPool2d: kernel \(kernel) does not fit input \(Shape.describe(x.shape)) padded by \(padding)")
    let planes = x.shape[0] * x.shape[1]
    let outShape = [x.shape[0], x.shape[1], oh, ow]
    let idx = PoolIndices(count: planes * oh * ow)
    let y = Tensor.make(outShape) { out in
        PoolKernels.maxForward(x.storage.pointer, planes: planes, h: h, w: w, oh: oh, ow: ow, k: kernel, s: s, p: padding, out, idx.pointer)
    }
    let inShape = x.shape
    return Tensor.record(.maxPool2d, result: y, inputs: [x],
                         attributes: ["kernel": .ints([kernel.0, kernel.1]), "stride": .ints([s.0, s.1]),
                                      "padding": .ints([padding.0, padding.1])]) { g, _ in
        [PoolOps.maxScatter(g, idx, inShape: inShape)]
    }
}

/// y[n, c, i, j] = mean of x[n, c] over the window rows i·s₀ − p₀ ..< i·s₀ − p₀ + k₀ (columns
/// likewise), zero padding. The divisor is k₀·k₁ when `countIncludePad` (PyTorch's default),
/// else the number of real cells. `stride` defaults to `kernel`, padding to 0 (at most half
/// the kernel). Shapes: x [N, C, H, W] → [N, C, ⌊(H + 2p₀ − k₀)/s₀⌋ + 1, …].
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                      countIncludePad: Bool = true) -> Tensor {
    let s = stride ?? kernel
    ensure(x.rank == 4, "avgPool2d: input \(Shape.describe(x.shape)) must be [N, C, H, W]")
    ensure(kernel.0 >= 1 && kernel.1 >= 1 && s.0 >= 1 && s.1 >= 1 && padding.0 >= 0 && padding.1 >= 0
                 && 2 * padding.0 <= kernel.0 && 2 * padding.1 <= kernel.1,
                 "avgPool2d: kernel \(kernel), stride \(s) must be ≥ 1 and padding \(padding) at most half the kernel")
    ensure(x.shape[2] + 2 * padding.0 >= kernel.0 && x.shape[3] + 2 * padding.1 >= kernel.1,
                 "avgPool2d: kernel \(kernel) does not fit input \(Shape.describe(x.shape)) padded by \(padding)")
    let plan = WindowPlan.avgPool(h: x.shape[2], w: x.shape[3], k: kernel, s: s, p: padding, countIncludePad: countIncludePad)
    return PoolOps.average(x, plan, op: .avgPool2d,
                           attributes: ["kernel": .ints([kernel.0, kernel.1]), "stride": .ints([s.0, s.1]),
                                        "padding": .ints([padding.0, padding.1]), "countIncludePad": .bool(countIncludePad)])
}

/// Average pooling to a fixed output size: output (i, j) averages rows ⌊i·H/OH⌋ ..< ⌈(i+1)·H/OH⌉
/// and columns likewise (PyTorch's `adaptive_avg_pool2d` index rule). Shapes: x [N, C, H, W] →
/// [N, C, OH, OW]; outputSize (1, 1) is global average pooling.
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
    ensure(x.rank == 4, "adaptiveAvgPool2d: input \(Shape.describe(x.shape)) must be [N, C, H, W]")
    ensure(outputSize.0 >= 1 && outputSize.1 >= 1 && x.shape[2] >= 1 && x.shape[3] >= 1,
                 "adaptiveAvgPool2d: output size \(outputSize) and input \(Shape.describe(x.shape)) must be non-empty")
    let plan = WindowPlan.adaptive(h: x.shape[2], w: x.shape[3], oh: outputSize.0, ow: outputSize.1)
    return PoolOps.average(x, plan, op: .adaptiveAvgPool2d, attributes: ["outputSize": .ints([outputSize.0, outputSize.1])])
}

/// The differentiable pooling primitives with fixed windows or indices.
enum PoolOps {
    /// Scatters g (pooled shape) to the saved arg-max positions of an input-shaped zero tensor.
    static func maxScatter(_ g: Tensor, _ idx: PoolIndices, inShape: [Int]) -> Tensor {
        let planes = inShape[0] * inShape[1], hw = inShape[2] * inShape[3], ohw = g.shape[2] * g.shape[3]
        ensure(g.rank == 4 && g.shape[0] * g.shape[1] == planes && planes * ohw == idx.count,
                     "maxPool2dBackward: gradient \(Shape.describe(g.shape)) does not match input \(Shape.describe(inShape))")
        let outShape = g.shape
        let dx = Tensor.make(inShape) { out in PoolKernels.scatter(g.storage.pointer, idx.pointer, planes: planes, ohw: ohw, hw: hw, out) }
        return Tensor.record(.maxPool2dBackward, result: dx, inputs: [g]) { gg, _ in
            [maxGather(gg, idx, outShape: outShape)]
        }
    }

    /// Reads x at the saved arg-max positions: max pooling with its windows' winners fixed.
    static func maxGather(_ x: Tensor, _ idx: PoolIndices, outShape: [Int]) -> Tensor {
        let planes = outShape[0] * outShape[1], hw = x.shape[2] * x.shape[3], ohw = outShape[2] * outShape[3]
        ensure(x.rank == 4 && x.shape[0] * x.shape[1] == planes && planes * ohw == idx.count,
                     "maxPool2d: input \(Shape.describe(x.shape)) does not match pooled shape \(Shape.describe(outShape))")
        let inShape = x.shape
        let y = Tensor.make(outShape) { out in PoolKernels.gather(x.storage.pointer, idx.pointer, planes: planes, ohw: ohw, hw: hw, out) }
        return Tensor.record(.maxPool2d, result: y, inputs: [x]) { g, _ in [maxScatter(g, idx, inShape: inShape)] }
    }

    /// Window averages of x, recorded as `op` (avgPool2d or adaptiveAvgPool2d).
    static func average(_ x: Tensor, _ plan: WindowPlan, op: OpName, attributes: @autoclosure () -> [String: TraceAttribute] = [:]) -> Tensor {
        ensure(x.rank == 4 && x.shape[2] == plan.h && x.shape[3] == plan.w,
                     "\(op.rawValue): input \(Shape.describe(x.shape)) does not match windows over \(plan.h)×\(plan.w)")
        let planes = x.shape[0] * x.shape[1]
        let y = Tensor.make([x.shape[0], x.shape[1], plan.oh, plan.ow]) { out in
            PoolKernels.average(x.storage.pointer, planes: planes, plan, out)
        }
        return Tensor.record(op, result: y, inputs: [x], attributes: attributes()) { g, _ in [averageAdjoint(g, plan, forwardOp: op)] }
    }

    /// Transpose of `average`: spreads scale·g over each window (op avgPool2dBackward).
    static func averageAdjoint(_ g: Tensor, _ plan: WindowPlan, forwardOp: OpName) -> Tensor {
        ensure(g.rank == 4 && g.shape[2] == plan.oh && g.shape[3] == plan.ow,
                     "avgPool2dBackward: gradient \(Shape.describe(g.shape)) does not match pooled size \(plan.oh)×\(plan.ow)")
        let planes = g.shape[0] * g.shape[1]
        let dx = Tensor.make([g.shape[0], g.shape[1], plan.h, plan.w]) { out in
            PoolKernels.averageAdjoint(g.storage.pointer, planes: planes, plan, out)
        }
        return Tensor.record(.avgPool2dBackward, result: dx, inputs: [g]) { gg, _ in [average(gg, plan, op: forwardOp)] }
    }
}
