import DistillCore

/// PyTorch's default initialisation of Linear and Conv layers (`reset_parameters`):
/// W ~ kaiming_uniform(a = √5), i.e. U(±1/√fan_in), and b ~ U(±1/√fan_in).
enum TorchInit {
    static func weight(_ shape: [Int], using g: inout SeededGenerator) -> Tensor {
        // gain = √(2 / (1 + a²)) with a = √5, so gain·√(3/fan_in) = 1/√fan_in
        Tensor.kaimingUniform(shape, gain: (Float(1) / 3).squareRoot(), using: &g)
    }

    static func bias(_ count: Int, fanIn: Int, using g: inout SeededGenerator) -> Tensor {
        let b = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor.uniform([count], low: -b, high: b, using: &g)
    }
}

/// Fully connected layer: y = x·Wᵀ + b.
///
/// Shapes: x [..., in] → y [..., out]; weight [out, in] (PyTorch layout), bias [out].
/// Init: PyTorch's default, W, b ~ U(±1/√in) (kaiming-uniform with a = √5).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int, outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using g: inout SeededGenerator) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        weight = Parameter(TorchInit.weight([outFeatures, inFeatures], using: &g))
        self.bias = bias ? Parameter(TorchInit.bias(outFeatures, fanIn: inFeatures, using: &g)) : nil
        super.init()
        register(parameter: weight, as: "weight")
        if let b = self.bias { register(parameter: b, as: "bias") }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures,
                     "Linear: input \(Shape.describe(x.shape)) does not end in \(inFeatures) features (weight \(Shape.describe(weight.shape)))")
        let x2 = x.rank == 1 ? x.reshaped([1, inFeatures]) : x
        var y = Tensor.matmul(x2, weight.value, transposeB: true)
        if let b = bias { y = y + b.value }
        return x.rank == 1 ? y.reshaped([outFeatures]) : y
    }
}

/// Identity: returns its input (a placeholder that keeps a tap path).
public final class Identity: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x }
}

/// max(x, 0).
public final class ReLU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.relu() }
}

/// x for x > 0, slope·x otherwise; PyTorch's default slope 0.01.
public final class LeakyReLU: Module {
    public let slope: Float
    public init(slope: Float = 0.01) { self.slope = slope; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.leakyRelu(slope: slope) }
}

/// Exact GELU x·Φ(x) (PyTorch default, approximate = "none").
public final class GELU: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.gelu() }
}

public final class Tanh: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.tanh() }
}

public final class Sigmoid: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// Flattens axes `startAxis...` into one (PyTorch `nn.Flatten`, default start 1).
public final class Flatten: Module {
    public let startAxis: Int
    public init(startAxis: Int = 1) { self.startAxis = startAxis; super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x.flattened(fromAxis: startAxis) }
}

/// Runs children in order; they are named "0", "1", ... as in PyTorch's `nn.Sequential`.
public final class Sequential: Module {
    public private(set) var layers: [Module] = []

    public init(_ layers: [Module]) {
        super.init()
        for l in layers { append(l) }
    }

    public convenience init(_ layers: Module...) { self.init(layers) }

    public func append(_ layer: Module) {
        register(child: layer, as: String(layers.count))
        layers.append(layer)
    }

    public subscript(_ i: Int) -> Module { layers[i] }
    public var count: Int { layers.count }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        for l in layers { h = l(h) }
        return h
    }
}

/// Layer normalisation over the trailing `normalizedShape` axes (Ba, Kiros & Hinton, "Layer
/// Normalization", 2016): y = (x − E[x]) / √(Var[x] + ε) · γ + β, biased variance.
///
/// Parameters `weight` γ and `bias` β of shape `normalizedShape`, initialised to 1 and 0; ε = 1e-5
/// (PyTorch defaults).
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let normalizedShape: [Int]
    public let eps: Float

    public init(_ normalizedShape: [Int], eps: Float = 1e-5, elementwiseAffine: Bool = true) {
        self.normalizedShape = normalizedShape; self.eps = eps
        weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros(normalizedShape)) : nil
        super.init()
        if let weight, let bias { register(parameter: weight, as: "weight"); register(parameter: bias, as: "bias") }
    }

    public convenience init(_ features: Int, eps: Float = 1e-5) { self.init([features], eps: eps) }

    public override func forward(_ x: Tensor) -> Tensor {
        let k = normalizedShape.count
        ensure(x.rank >= k && Array(x.shape.suffix(k)) == normalizedShape,
                     "LayerNorm: input \(Shape.describe(x.shape)) does not end in \(Shape.describe(normalizedShape))")
        let axes = Array((x.rank - k)..<x.rank)
        let mu = x.mean(alongAxes: axes, keepDims: true)
        let c = x - mu
        let v = (c * c).mean(alongAxes: axes, keepDims: true)
        var y = c / (v + eps).sqrt()
        if let weight, let bias { y = y * weight.value + bias.value }
        return y
    }
}
