import DistillCore

/// A trainable tensor owned by a module: a leaf of the tape whose gradient `backward()` fills
/// and whose storage optimizers update in place.
///
/// Setting `value` re-attaches it as a fresh leaf (or a constant when frozen), so a loaded
/// checkpoint or a manual assignment never carries someone else's graph.
///
/// Inside `Module.withParameters(_:_:)` a parameter may carry a *substitute*: reads of `value`
/// then return the substitute as given (graph kept, so θ₁ = θ₀ − η∇L stays differentiable),
/// while writes, `gradient` and the optimizer state keep referring to the stored weights.
public final class Parameter {
    private var stored: Tensor
    /// The tensor `value` returns while a `withParameters` scope substitutes this parameter.
    var substitute: Tensor?

    /// The current value: the substitute inside a `withParameters` scope, otherwise the stored
    /// weights (a tape leaf while `requiresGradient`, a constant otherwise). Assignment and
    /// in-place mutation always go to the stored weights.
    public var value: Tensor {
        get { substitute ?? stored }
        set { stored = newValue; normalizeLeaf() }
        _modify {
            yield &stored
            normalizeLeaf()
        }
    }

    /// The stored weights, ignoring any substitute.
    public var storedValue: Tensor { stored }

    /// Whether a `withParameters` scope currently substitutes this parameter.
    public var isSubstituted: Bool { substitute != nil }

    /// Whether `backward()` computes a gradient for this parameter (false: frozen).
    public var requiresGradient: Bool {
        didSet { if requiresGradient != oldValue { normalizeLeaf(force: true) } }
    }

    public init(_ value: Tensor, requiresGradient: Bool = true) {
        self.requiresGradient = requiresGradient
        self.stored = requiresGradient ? value.detached().requiringGradient() : value.detached()
    }

    public var shape: [Int] { stored.shape }
    public var count: Int { stored.count }

    /// The gradient accumulated by the last `backward()` into the stored weights (nil before one,
    /// or when frozen).
    public var gradient: Tensor? { stored.gradient }

    /// Replaces the accumulated gradient (the data-parallel average).
    public func setGradient(_ g: Tensor) { stored.setGradient(g) }

    /// Drops the accumulated gradient.
    public func zeroGradient() { stored.zeroGradient() }

    /// Multiplies the accumulated gradient by `factor` (gradient clipping).
    public func scaleGradient(by factor: Float) { stored.scaleGradient(by: factor) }

    private func normalizeLeaf(force: Bool = false) {
        let isLeaf = stored.node?.isLeaf ?? false
        if requiresGradient && (force || !isLeaf) {
            stored = stored.detached().requiringGradient()
        } else if !requiresGradient && stored.node != nil {
            stored = stored.detached()
        }
    }
}

/// Non-trained state saved in checkpoints (BatchNorm running statistics).
public final class Buffer {
    public var value: Tensor {
        didSet { if value.node != nil { value = value.detached() } }
    }

    public init(_ value: Tensor) { self.value = value.detached() }
    public var shape: [Int] { value.shape }
}
