/// 2-D convolution and transposed convolution (NCHW, PyTorch semantics).
///
/// Three primitive ops form a closed set under differentiation, so gradients of any order exist:
/// - `conv2d`: y = x ⋆ W (forward);
/// - `convTranspose2d`: its adjoint in x, dx = dy ⋆ᵀ W (also the public transposed convolution);
/// - `conv2dBackwardWeight`: its adjoint in W, dW = Σ dy ⊗ im2col(x).
/// Each is bilinear, and the pullback of each is built from the other two.

/// y[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q] · x[n, g(o)·C/groups + c, i·s₀ − p₀ + p·d₀, j·s₁ − p₁ + q·d₁],
/// with zero padding.
///
/// Shapes: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] → [N, O, OH, OW] with
/// OH = ⌊(H + 2·p₀ − d₀·(kh − 1) − 1) / s₀⌋ + 1 (likewise OW). Defaults (stride 1, no padding,
/// dilation 1, one group) are PyTorch's `torch.nn.functional.conv2d`.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                   dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    ensure(x.rank == 4 && weight.rank == 4,
                 "conv2d: input \(Shape.describe(x.shape)) must be [N, C, H, W] and weight \(Shape.describe(weight.shape)) [O, C/groups, kh, kw]")
    ensure(groups >= 1 && x.shape[1] % groups == 0 && weight.shape[0] % groups == 0 && weight.shape[1] * groups == x.shape[1],
                 "conv2d: input \(Shape.describe(x.shape)) and weight \(Shape.describe(weight.shape)) do not match for \(groups) groups")
    ensure(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                 "conv2d: stride \(stride) and dilation \(dilation) must be ≥ 1 and padding \(padding) ≥ 0")
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    let oh = ConvGeometry.outExtent(x.shape[2], k: kh, s: stride.0, p: padding.0, d: dilation.0)
    let ow = ConvGeometry.outExtent(x.shape[3], k: kw, s: stride.1, p: padding.1, d: dilation.1)
    ensure(oh >= 1 && ow >= 1,
                 "conv2d: kernel \(Shape.describe(weight.shape)) with dilation \(dilation) does not fit input \(Shape.describe(x.shape)) padded by \(padding)")
    if let bias {
        ensure(bias.shape == [weight.shape[0]], "conv2d: bias \(Shape.describe(bias.shape)) does not match weight \(Shape.describe(weight.shape))")
    }
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], o: weight.shape[0], oh: oh, ow: ow,
                         kh: kh, kw: kw, sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1,
                         dh: dilation.0, dw: dilation.1, groups: groups)
    return ConvOps.forward(x, weight, bias, g)
}

/// Transposed convolution (the adjoint of `conv2d` in its input), PyTorch's `conv_transpose2d`.
///
/// Shapes: x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw] (PyTorch layout), bias [C_out]
/// → [N, C_out, H', W'] with H' = (H − 1)·s₀ − 2·p₀ + d₀·(kh − 1) + outputPadding₀ + 1.
/// `outputPadding` must be smaller than the stride or the dilation (as PyTorch requires).
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                            outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    ensure(x.rank == 4 && weight.rank == 4,
                 "convTranspose2d: input \(Shape.describe(x.shape)) must be [N, C_in, H, W] and weight \(Shape.describe(weight.shape)) [C_in, C_out/groups, kh, kw]")
    ensure(groups >= 1 && x.shape[1] % groups == 0 && weight.shape[0] == x.shape[1],
                 "convTranspose2d: input \(Shape.describe(x.shape)) and weight \(Shape.describe(weight.shape)) do not match for \(groups) groups")
    ensure(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                 "convTranspose2d: stride \(stride) and dilation \(dilation) must be ≥ 1 and padding \(padding) ≥ 0")
    ensure(outputPadding.0 >= 0 && outputPadding.1 >= 0
                 && outputPadding.0 < Swift.max(stride.0, dilation.0) && outputPadding.1 < Swift.max(stride.1, dilation.1),
                 "convTranspose2d: output padding \(outputPadding) must be smaller than stride \(stride) or dilation \(dilation)")
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    let cout = weight.shape[1] * groups
    let h = (x.shape[2] - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
    let w = (x.shape[3] - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
    ensure(h >= 1 && w >= 1, "convTranspose2d: input \(Shape.describe(x.shape)) with weight \(Shape.describe(weight.shape)) and padding \(padding) gives an empty output")
    if let bias {
        ensure(bias.shape == [cout], "convTranspose2d: bias \(Shape.describe(bias.shape)) does not match C_out = \(cout) of weight \(Shape.describe(weight.shape))")
    }
    let g = ConvGeometry(n: x.shape[0], c: cout, h: h, w: w, o: x.shape[1], oh: x.shape[2], ow: x.shape[3],
                         kh: kh, kw: kw, sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1,
                         dh: dilation.0, dw: dilation.1, groups: groups)
    let y = ConvOps.data(x, weight, g)
    guard let bias else { return y }
    return y + bias.reshaped([1, cout, 1, 1])
}

/// The differentiable primitives behind `conv2d` and `convTranspose2d`, over one geometry.
enum ConvOps {
    /// Forward convolution (op `conv2d`), bias fused.
    static func forward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ g: ConvGeometry) -> Tensor {
        ensure(x.shape == g.inputShape && weight.shape == g.weightShape,
                     "conv2d: input \(Shape.describe(x.shape)) and weight \(Shape.describe(weight.shape)) do not match \(g)")
        let y = Tensor(storage: ConvKernels.forward(x: x.storage, weight: weight.storage, bias: bias?.storage, g), shape: g.outputShape)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Tensor.record(.conv2d, result: y, inputs: inputs,
                             attributes: ["stride": .ints([g.sh, g.sw]), "padding": .ints([g.ph, g.pw]),
                                          "dilation": .ints([g.dh, g.dw]), "groups": .int(g.groups)]) { dy, _ in
            var grads: [Tensor?] = [x.node == nil ? nil : data(dy, weight, g),
                                    weight.node == nil ? nil : weightGradient(x, dy, g)]
            if let bias { grads.append(bias.node == nil ? nil : biasGradient(dy, g)) }
            return grads
        }
    }

    /// Transposed convolution of an output-shaped tensor (op `convTranspose2d`): the adjoint of
    /// `forward` in x. Its adjoints: in dy, `forward(gg, W)`; in W, `weightGradient(gg, dy)`.
    static func data(_ dy: Tensor, _ weight: Tensor, _ g: ConvGeometry) -> Tensor {
        ensure(dy.shape == g.outputShape && weight.shape == g.weightShape,
                     "convTranspose2d: input \(Shape.describe(dy.shape)) and weight \(Shape.describe(weight.shape)) do not match \(g)")
        let dx = Tensor(storage: ConvKernels.backwardData(dy: dy.storage, weight: weight.storage, g), shape: g.inputShape)
        return Tensor.record(.convTranspose2d, result: dx, inputs: [dy, weight]) { gg, _ in
            [dy.node == nil ? nil : forward(gg, weight, nil, g),
             weight.node == nil ? nil : weightGradient(gg, dy, g)]
        }
    }

    /// Weight gradient of `forward` (op `conv2dBackwardWeight`), bilinear in x and dy.
    /// Its adjoints: in x, `data(dy, gg)`; in dy, `forward(x, gg)`.
    static func weightGradient(_ x: Tensor, _ dy: Tensor, _ g: ConvGeometry) -> Tensor {
        ensure(x.shape == g.inputShape && dy.shape == g.outputShape,
                     "conv2dBackwardWeight: input \(Shape.describe(x.shape)) and output gradient \(Shape.describe(dy.shape)) do not match \(g)")
        let dw = Tensor(storage: ConvKernels.backwardWeight(x: x.storage, dy: dy.storage, g), shape: g.weightShape)
        return Tensor.record(.conv2dBackwardWeight, result: dw, inputs: [x, dy]) { gg, _ in
            [x.node == nil ? nil : data(dy, gg, g),
             dy.node == nil ? nil : forward(x, gg, nil, g)]
        }
    }

    /// Σ over batch and space of dy: fused when no graph is built, else a differentiable sum.
    static func biasGradient(_ dy: Tensor, _ g: ConvGeometry) -> Tensor {
        if GradMode.isEnabled { return dy.sum(alongAxes: [0, 2, 3]) }
        return Tensor.make([g.o]) { out in
            ConvKernels.biasGradient(dy: dy.storage.pointer, db: out, n: g.n, o: g.o, plane: g.ohw)
        }
    }
}
