import DistillCore

/// Errors restoring optimizer state.
public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(key: String, expected: [Int], got: [Int])
    case unexpectedKeys([String])

    public var description: String {
        switch self {
        case let .shapeMismatch(k, e, g): return "optimizer state '\(k)': expected shape \(Shape.describe(e)), got \(Shape.describe(g))"
        case let .unexpectedKeys(k): return "optimizer state has keys for no parameter: \(k.joined(separator: ", "))"
        }
    }
}

/// An optimizer updates the parameters it was built with, in place, from their gradients.
/// Parameters without a gradient (frozen, or unused by the loss) are skipped, as in PyTorch.
public protocol Optimizer: AnyObject {
    /// The learning rate of the next `step()`; schedules set it (see `LearningRateSchedule`).
    var learningRate: Float { get set }
    /// Applies one update to every parameter that has a gradient.
    func step()
    /// Per-parameter state as named tensors keyed `<parameter path>.<state name>`
    /// (`layer1.weight.momentum_buffer`, `fc.bias.exp_avg`, `fc.bias.step`).
    func stateDict() -> [String: Tensor]
    /// Restores state exported by `stateDict()`; keys for unknown parameters or wrong shapes throw.
    func loadStateDict(_ state: [String: Tensor]) throws
}

extension Optimizer {
    fileprivate static func checkKeys(_ state: [String: Tensor], known: Set<String>) throws {
        let extra = state.keys.filter { !known.contains($0) }.sorted()
        if !extra.isEmpty { throw OptimizerError.unexpectedKeys(extra) }
    }
}

/// Named per-parameter state: one optional tensor per parameter, aligned with `params`.
struct SlotState {
    var tensors: [Tensor?]
    init(count: Int) { tensors = Array(repeating: nil, count: count) }
}

/// Stochastic gradient descent with momentum (Polyak 1964; Sutskever et al., "On the importance
/// of initialization and momentum in deep learning", ICML 2013), PyTorch's update exactly:
///
///     d = g + λ·θ
///     b = d (first step),  b = μ·b + (1 − τ)·d (later)      [if μ ≠ 0]
///     d = d + μ·b (Nesterov) or d = b
///     θ = θ − η·d
///
/// Defaults: momentum μ = 0, dampening τ = 0, weight decay λ = 0, Nesterov off (PyTorch).
public final class SGD: Optimizer {
    public let params: [(path: String, parameter: Parameter)]
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    var buffers: SlotState

    public init(_ params: [(path: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0,
                dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        ensure(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and dampening 0")
        self.params = params; self.learningRate = learningRate; self.momentum = momentum
        self.dampening = dampening; self.weightDecay = weightDecay; self.nesterov = nesterov
        buffers = SlotState(count: params.count)
    }

    public func step() {
        withoutGradients {
            let lr = learningRate, wd = weightDecay, mu = momentum, damp = 1 - dampening, nest = nesterov
            for (k, entry) in params.enumerated() {
                guard let grad = entry.parameter.gradient else { continue }
                let p = entry.parameter
                let n = p.count
                ensure(grad.count == n, "SGD: gradient \(Shape.describe(grad.shape)) does not match parameter \(entry.path) \(Shape.describe(p.shape))")
                let gp = grad.storage.pointer
                if mu == 0 {
                    p.value.withUnsafeMutableBufferPointer { pb in
                        let w = pb.baseAddress!
                        parallelChunks(n) { r in for i in r { w[i] -= lr * (gp[i] + wd * w[i]) } }
                    }
                    continue
                }
                let first = buffers.tensors[k] == nil
                if first { buffers.tensors[k] = Tensor.zeros(p.shape) }
                p.value.withUnsafeMutableBufferPointer { pb in
                    buffers.tensors[k]!.withUnsafeMutableBufferPointer { bb in
                        let w = pb.baseAddress!, b = bb.baseAddress!
                        if first {
                            parallelChunks(n) { r in
                                for i in r {
                                    let d = gp[i] + wd * w[i]
                                    b[i] = d
                                    w[i] -= lr * (nest ? d + mu * d : d)
                                }
                            }
                        } else {
                            parallelChunks(n) { r in
                                for i in r {
                                    let d = gp[i] + wd * w[i]
                                    let bi = mu * b[i] + damp * d
                                    b[i] = bi
                                    w[i] -= lr * (nest ? d + mu * bi : bi)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, e) in params.enumerated() { if let b = buffers.tensors[k] { out[e.path + ".momentum_buffer"] = b } }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        var known = Set<String>()
        var next = SlotState(count: params.count)
        for (k, e) in params.enumerated() {
            let key = e.path + ".momentum_buffer"
            known.insert(key)
            guard let t = state[key] else { continue }
            guard t.shape == e.parameter.shape else { throw OptimizerError.shapeMismatch(key: key, expected: e.parameter.shape, got: t.shape) }
            next.tensors[k] = Tensor(shape: t.shape, scalars: t.scalars)
        }
        try Self.checkKeys(state, known: known)
        buffers = next
    }
}

/// Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) and AdamW
/// (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019), PyTorch's update:
///
///     AdamW: θ = θ·(1 − η·λ)          Adam: g = g + λ·θ
///     m = β₁·m + (1 − β₁)·g,   v = β₂·v + (1 − β₂)·g²,   t = t + 1
///     θ = θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Defaults (PyTorch): β = (0.9, 0.999), ε = 1e-8, λ = 0 for Adam and 1e-2 for AdamW.
public final class Adam: Optimizer {
    public let params: [(path: String, parameter: Parameter)]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Decoupled weight decay (AdamW) instead of L2 added to the gradient.
    public let decoupledWeightDecay: Bool
    var expAvg: SlotState, expAvgSq: SlotState
    var steps: [Int]

    public init(_ params: [(path: String, parameter: Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.params = params; self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
        expAvg = SlotState(count: params.count); expAvgSq = SlotState(count: params.count)
        steps = Array(repeating: 0, count: params.count)
    }

    /// AdamW with PyTorch's default decoupled weight decay 1e-2.
    public static func adamW(_ params: [(path: String, parameter: Parameter)], learningRate: Float = 1e-3, beta1: Float = 0.9,
                             beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 1e-2) -> Adam {
        Adam(params, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() {
        withoutGradients {
            let lr = learningRate, b1 = beta1, b2 = beta2, eps = eps
            let l2: Float = decoupledWeightDecay ? 0 : weightDecay
            let decay: Float = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
            for (k, entry) in params.enumerated() {
                guard let grad = entry.parameter.gradient else { continue }
                let p = entry.parameter
                let n = p.count
                ensure(grad.count == n, "Adam: gradient \(Shape.describe(grad.shape)) does not match parameter \(entry.path) \(Shape.describe(p.shape))")
                if expAvg.tensors[k] == nil {
                    expAvg.tensors[k] = Tensor.zeros(p.shape); expAvgSq.tensors[k] = Tensor.zeros(p.shape)
                }
                steps[k] += 1
                let t = Double(steps[k])
                let bc1 = 1 - Foundation_pow(Double(b1), t), bc2 = 1 - Foundation_pow(Double(b2), t)
                let stepSize = Float(Double(lr) / bc1)
                let invBc2Sqrt = Float(1 / bc2.squareRoot())
                let gp = grad.storage.pointer
                p.value.withUnsafeMutableBufferPointer { pb in
                    expAvg.tensors[k]!.withUnsafeMutableBufferPointer { mb in
                        expAvgSq.tensors[k]!.withUnsafeMutableBufferPointer { vb in
                            let w = pb.baseAddress!, m = mb.baseAddress!, v = vb.baseAddress!
                            // chunks are multiples of 8 so the SIMD8 kernel keeps its blocks
                            parallelChunks((n + 7) / 8, grain: 8_192) { r in
                                let lo = r.lowerBound * 8, hi = Swift.min(r.upperBound * 8, n)
                                AdamKernel.update(w: w + lo, m: m + lo, v: v + lo, g: gp + lo, count: hi - lo,
                                                  beta1: b1, beta2: b2, decay: decay, l2: l2, stepSize: stepSize,
                                                  invBc2Sqrt: invBc2Sqrt, eps: eps)
                            }
                        }
                    }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, e) in params.enumerated() where steps[k] > 0 {
            out[e.path + ".exp_avg"] = expAvg.tensors[k]
            out[e.path + ".exp_avg_sq"] = expAvgSq.tensors[k]
            out[e.path + ".step"] = Tensor(Float(steps[k]))
        }
        return out
    }

    public func loadStateDict(_ state: [String: Tensor]) throws {
        var known = Set<String>()
        var m = SlotState(count: params.count), v = SlotState(count: params.count)
        var s = Array(repeating: 0, count: params.count)
        for (k, e) in params.enumerated() {
            let keys = [e.path + ".exp_avg", e.path + ".exp_avg_sq", e.path + ".step"]
            known.formUnion(keys)
            guard let a = state[keys[0]], let b = state[keys[1]], let st = state[keys[2]] else { continue }
            for (key, t) in [(keys[0], a), (keys[1], b)] where t.shape != e.parameter.shape {
                throw OptimizerError.shapeMismatch(key: key, expected: e.parameter.shape, got: t.shape)
            }
            guard st.count == 1 else { throw OptimizerError.shapeMismatch(key: keys[2], expected: [], got: st.shape) }
            m.tensors[k] = Tensor(shape: a.shape, scalars: a.scalars)
            v.tensors[k] = Tensor(shape: b.shape, scalars: b.scalars)
            s[k] = Int(st.scalars[0])
        }
        try Self.checkKeys(state, known: known)
        expAvg = m; expAvgSq = v; steps = s
    }
}

enum AdamKernel {
    /// The fused Adam/AdamW update over raw buffers. Eight lanes at a time through `SIMD8`:
    /// a scalar `Float.squareRoot()` compiles to `sqrtss` with a libm fallback that blocks
    /// auto-vectorisation (measured 7.7 → 4.6 ms for 2.4 M parameters, release build).
    @inline(__always)
    static func update(w: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                       g gp: UnsafePointer<Float>, count n: Int, beta1 b1: Float, beta2 b2: Float, decay: Float, l2: Float,
                       stepSize: Float, invBc2Sqrt inv: Float, eps: Float) {
        typealias V = SIMD8<Float>
        let rw = UnsafeMutableRawPointer(w), rm = UnsafeMutableRawPointer(m), rv = UnsafeMutableRawPointer(v)
        let rg = UnsafeRawPointer(gp)
        var i = 0
        while i + 8 <= n {
            let o = i &* 4
            let wi = rw.loadUnaligned(fromByteOffset: o, as: V.self) * decay
            let g = rg.loadUnaligned(fromByteOffset: o, as: V.self) + l2 * wi
            let mi = b1 * rm.loadUnaligned(fromByteOffset: o, as: V.self) + (1 - b1) * g
            let vi = b2 * rv.loadUnaligned(fromByteOffset: o, as: V.self) + (1 - b2) * g * g
            rm.storeBytes(of: mi, toByteOffset: o, as: V.self)
            rv.storeBytes(of: vi, toByteOffset: o, as: V.self)
            rw.storeBytes(of: wi - stepSize * mi / (vi.squareRoot() * inv + eps), toByteOffset: o, as: V.self)
            i &+= 8
        }
        while i < n {
            let wi = w[i] * decay
            let g = gp[i] + l2 * wi
            let mi = b1 * m[i] + (1 - b1) * g
            let vi = b2 * v[i] + (1 - b2) * g * g
            m[i] = mi; v[i] = vi
            w[i] = wi - stepSize * mi / (vi.squareRoot() * inv + eps)
            i &+= 1
        }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func Foundation_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#else
import Darwin
@inline(__always) func Foundation_pow(_ a: Double, _ b: Double) -> Double { Darwin.pow(a, b) }
#endif
