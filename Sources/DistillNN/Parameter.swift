import DistillCore

/// A trainable tensor owned by a module: a leaf of the tape whose gradient `backward()` fills
/// and whose storage optimizers update in place.
///
/// Setting `value` re-attaches it as a fresh leaf (or a constant when frozen), so a loaded
/// checkpoint or a manual assignment never carries someone else's graph.
public final class Parameter {
    /// The current value; a tape leaf while `requiresGradient`, a constant otherwise.
    public var value: Tensor {
        didSet { normalizeLeaf() }
    }

    /// Whether `backward()` computes a gradient for this parameter (false: frozen).
    public var requiresGradient: Bool {
        didSet { if requiresGradient != oldValue { normalizeLeaf(force: true) } }
    }

    public init(_ value: Tensor, requiresGradient: Bool = true) {
        self.requiresGradient = requiresGradient
        self.value = requiresGradient ? value.detached().requiringGradient() : value.detached()
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    /// The gradient accumulated by the last `backward()` (nil before one, or when frozen).
    public var gradient: Tensor? { value.gradient }

    /// Replaces the accumulated gradient (the data-parallel average).
    public func setGradient(_ g: Tensor) { value.setGradient(g) }

    /// Drops the accumulated gradient.
    public func zeroGradient() { value.zeroGradient() }

    /// Multiplies the accumulated gradient by `factor` (gradient clipping).
    public func scaleGradient(by factor: Float) { value.scaleGradient(by: factor) }

    private func normalizeLeaf(force: Bool = false) {
        let isLeaf = value.node?.isLeaf ?? false
        if requiresGradient && (force || !isLeaf) {
            value = value.detached().requiringGradient()
        } else if !requiresGradient && value.node != nil {
            value = value.detached()
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
