/// Batch normalisation (Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network
/// Training by Reducing Internal Covariate Shift", ICML 2015), with PyTorch's conventions.
///
/// y = (x − μ) / √(σ² + eps) · weight + bias, per channel (axis 1).
/// - training: μ, σ² are the batch statistics over N (and H, W), σ² biased; the running
///   statistics become (1 − momentum)·running + momentum·batch, with the unbiased variance
///   (σ²·M/(M − 1), M = N·H·W) as PyTorch does.
/// - eval: μ, σ² are the running statistics, which are left unchanged.
///
/// Shapes: x [N, C] or [N, C, H, W]; weight, bias, runningMean, runningVar [C]. weight and bias
/// may be nil (no affine). Defaults momentum 0.1 and eps 1e-5 are PyTorch's `BatchNorm2d`.
/// Gradients flow to x, weight and bias (in training mode through the batch statistics) at any
/// order; first-order backward uses a fused kernel.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: inout Tensor, runningVar: inout Tensor,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    ensure(x.rank == 2 || x.rank == 4, "batchNorm: input \(Shape.describe(x.shape)) must be [N, C] or [N, C, H, W]")
    let n = x.shape[0], c = x.shape[1], s = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
    let named: [(String, Tensor?)] = [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)]
    for (name, t) in named {
        if let t { ensure(t.shape == [c], "batchNorm: \(name) \(Shape.describe(t.shape)) does not match input \(Shape.describe(x.shape)) (expected [\(c)])") }
    }
    let m = n * s
    // Activations held only in oneDNN's blocked layout (a convolution's output) stay in it.
    let blocked = x.storage.blockedOnlyLayout.flatMap { $0.shape == x.shape ? $0 : nil }
    let mean: [Float], variance: [Float]
    if training {
        ensure(m > 1, "batchNorm: training needs more than one value per channel, input \(Shape.describe(x.shape))")
        if let l = blocked {
            (mean, variance) = BatchNormKernels.moments(blocked: x.storage.blocked(as: l)!, l)
        } else {
            (mean, variance) = BatchNormKernels.moments(x.storage.pointer, n: n, c: c, s: s)
        }
        let unbias = Float(m) / Float(m - 1)
        runningMean.withUnsafeMutableBufferPointer { rm in
            for ch in 0..<c { rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[ch] }
        }
        runningVar.withUnsafeMutableBufferPointer { rv in
            for ch in 0..<c { rv[ch] = (1 - momentum) * rv[ch] + momentum * variance[ch] * unbias }
        }
    } else {
        mean = runningMean.scalars
        variance = runningVar.scalars
    }
    let invstd = variance.map { 1 / ($0 + eps).squareRoot() }
    let w = weight?.scalars, b = bias?.scalars
    let scale = (0..<c).map { invstd[$0] * (w?[$0] ?? 1) }
    let shift = (0..<c).map { (b?[$0] ?? 0) - mean[$0] * scale[$0] }
    let y = blocked.map { l in
        Tensor.makeBlocked(x.shape, l) { out in BatchNormKernels.affine(blocked: x.storage.blocked(as: l)!, l, scale: scale, shift: shift, out) }
    } ?? Tensor.make(x.shape) { out in
        BatchNormKernels.affine(x.storage.pointer, n: n, c: c, s: s, scale: scale, shift: shift, out)
    }
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let axes = x.rank == 4 ? [0, 2, 3] : [0]
    let bshape = x.rank == 4 ? [1, c, 1, 1] : [1, c]
    let stats = (runningMean, runningVar)
    return Tensor.record(.batchNorm, result: y, inputs: inputs,
                         attributes: ["eps": .float(eps), "training": .bool(training), "runningMean": .tensor(stats.0),
                                      "runningVar": .tensor(stats.1), "hasWeight": .bool(weight != nil), "hasBias": .bool(bias != nil)]) { g, _ in
        let needX = x.node != nil, needW = weight?.node != nil, needB = bias?.node != nil
        var gx: Tensor?, gw: Tensor?, gb: Tensor?
        if !GradMode.isEnabled, let l = blocked {
            // blocked throughout: the gradient is read through a blocked copy if it arrives plain
            g.storage.withBlocked(l) { gBlocked in
                x.storage.withBlocked(l) { xb in
                    let (sg, sgx) = BatchNormKernels.gradientSums(blocked: gBlocked, xb, l, mean: mean, invstd: invstd)
                    if needX {
                        gx = training
                            ? Tensor.makeBlocked(x.shape, l) { out in
                                BatchNormKernels.trainingInputGradient(blocked: gBlocked, xb, l, mean: mean, invstd: invstd, weight: w,
                                                                       sumG: sg, sumGX: sgx, out) }
                            : Tensor.makeBlocked(x.shape, l) { out in
                                BatchNormKernels.affine(blocked: gBlocked, l, scale: scale, shift: [Float](repeating: 0, count: c), out) }
                    }
                    if needW { gw = Tensor(shape: [c], scalars: sgx) }
                    if needB { gb = Tensor(shape: [c], scalars: sg) }
                }
            }
        } else if !GradMode.isEnabled {
            let (sg, sgx) = BatchNormKernels.gradientSums(g.storage.pointer, x.storage.pointer, n: n, c: c, s: s, mean: mean, invstd: invstd)
            if needX {
                gx = training
                    ? Tensor.make(x.shape) { out in
                        BatchNormKernels.trainingInputGradient(g.storage.pointer, x.storage.pointer, n: n, c: c, s: s, mean: mean,
                                                               invstd: invstd, weight: w, sumG: sg, sumGX: sgx, out) }
                    : Tensor.make(x.shape) { out in
                        BatchNormKernels.affine(g.storage.pointer, n: n, c: c, s: s, scale: scale,
                                                shift: [Float](repeating: 0, count: c), out) }
            }
            if needW { gw = Tensor(shape: [c], scalars: sgx) }
            if needB { gb = Tensor(shape: [c], scalars: sg) }
        } else {
            // Differentiable form, so gradients of these gradients exist.
            let wb = weight?.reshaped(bshape)
            if training {
                let mu = x.mean(alongAxes: axes, keepDims: true)
                let xc = x - mu
                let istd = 1 / ((xc * xc).mean(alongAxes: axes, keepDims: true) + eps).sqrt()
                let xhat = xc * istd
                if needX {
                    let gy = wb.map { g * $0 } ?? g
                    gx = istd * (gy - gy.mean(alongAxes: axes, keepDims: true) - xhat * (gy * xhat).mean(alongAxes: axes, keepDims: true))
                }
                if needW { gw = (g * xhat).sum(alongAxes: axes) }
            } else {
                let istd = Tensor(shape: bshape, scalars: invstd)
                if needX { gx = g * (wb.map { $0 * istd } ?? istd) }
                if needW { gw = (g * ((x - Tensor(shape: bshape, scalars: mean)) * istd)).sum(alongAxes: axes) }
            }
            if needB { gb = g.sum(alongAxes: axes) }
        }
        var grads: [Tensor?] = [gx]
        if weight != nil { grads.append(gw) }
        if bias != nil { grads.append(gb) }
        return grads
    }
}
