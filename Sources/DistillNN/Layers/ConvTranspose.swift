import DistillCore

/// 2-D transposed convolution over NCHW images (PyTorch `nn.ConvTranspose2d`), the adjoint of
/// `Conv2d` in its input; used where a map must be upsampled by a learned kernel (RepDistiller's
/// FitNets regressor for a student map half the teacher's size).
///
/// Shapes: x [N, inChannels, H, W] → [N, outChannels, H', W'],
/// H' = (H − 1)·stride − 2·padding + kernel; weight [inChannels, outChannels, kh, kw] (PyTorch's
/// layout), bias [outChannels]. Init: PyTorch's default, W, b ~ U(±1/√fan_in) with fan_in
/// computed from the weight's axis 1 as PyTorch does (outChannels·kh·kw).
public final class ConvTranspose2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int), padding: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                using g: inout SeededGenerator) {
        ensure(inChannels >= 1 && outChannels >= 1 && kernel >= 1 && stride >= 1 && padding >= 0,
               "ConvTranspose2d: channels \(inChannels) → \(outChannels), kernel \(kernel), stride \(stride), padding \(padding) are invalid")
        let shape = [inChannels, outChannels, kernel, kernel]
        weight = Parameter(TorchInit.weight(shape, using: &g))
        self.bias = bias ? Parameter(TorchInit.bias(outChannels, fanIn: Tensor.fans(shape).fanIn, using: &g)) : nil
        self.stride = (stride, stride); self.padding = (padding, padding)
        super.init()
        register(parameter: weight, as: "weight")
        if let b = self.bias { register(parameter: b, as: "bias") }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        convTranspose2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }
}
