import DistillCore

/// Errors of `Module.withParameters(_:buffers:_:)`, raised before any parameter is substituted.
public enum FunctionalParameterError: Error, CustomStringConvertible, Equatable {
    /// A substitute for a path that names no parameter; lists the parameter paths.
    case unknownPath(String, valid: [String])
    /// A substitute whose shape differs from the parameter's.
    case shapeMismatch(path: String, expected: [Int], got: [Int])
    /// Two paths that name one (tied) parameter were both given substitutes.
    case aliasedPaths(String, String)

    public var description: String {
        switch self {
        case let .unknownPath(p, valid):
            return "withParameters: unknown parameter path '\(p)'; valid paths: \(valid.joined(separator: ", "))"
        case let .shapeMismatch(p, e, g):
            return "withParameters: parameter '\(p)' has shape \(Shape.describe(e)), its substitute \(Shape.describe(g))"
        case let .aliasedPaths(a, b):
            return "withParameters: '\(a)' and '\(b)' name the same (tied) parameter; substitute only one of them"
        }
    }
}

/// What happens to buffers (BatchNorm running statistics) that a forward pass inside a
/// `withParameters` scope updates.
public enum SubstitutedBufferUpdates: Sendable, Equatable {
    /// The stored buffers are updated as by any training-mode forward (values only, no graph;
    /// what `torch.func.functional_call` does with the module's own buffers).
    case update
    /// Every buffer of the module is restored on leaving the scope: the stored state of the
    /// module is exactly what it was before.
    case restore
}

extension Module {
    /// Runs `body` with some parameters replaced by the given tensors, which stay on the tape.
    ///
    ///     θ₁ = θ₀ − η ∇θ L(x̃, θ₀)                     (tensors, graph kept)
    ///     let logits = try model.withParameters(θ₁) { model(x) }
    ///     // d loss(logits) / d x̃ and / d η flow through θ₁
    ///
    /// Keys are dotted parameter paths (`conv1.weight`, as in `namedParameters()`); parameters not
    /// named keep their stored value. Inside the scope every read of `Parameter.value` (all layers
    /// read their weights that way) returns the substitute unchanged, graph included; stored
    /// weights, their gradients and optimizer state are untouched (an assignment to `value` inside
    /// the scope still writes the stored weights). Scopes nest (an inner substitute wins, the
    /// outer one is back afterwards) and the previous state is restored when `body` throws.
    ///
    /// Buffers: a training-mode BatchNorm normalises with batch statistics (so the result does
    /// not depend on running statistics) and updates the running statistics from values only;
    /// `buffers` chooses whether those updates stay (`.update`, the default, as in PyTorch) or
    /// are undone on exit (`.restore`).
    ///
    /// The substitution lives on the module's own `Parameter` objects: two models run side by
    /// side independently, but one module must not be called from two threads at once.
    ///
    /// - Throws: `FunctionalParameterError` for an unknown path (listing the valid ones), a shape
    ///   mismatch, or two paths of one tied parameter — before anything is substituted.
    @discardableResult
    public func withParameters<R>(_ substitutes: [String: Tensor], buffers: SubstitutedBufferUpdates = .update,
                                  _ body: () throws -> R) throws -> R {
        let named = namedParameters()
        var byPath: [String: Parameter] = [:]
        for (path, p) in named { byPath[path] = p }
        var chosen: [(parameter: Parameter, tensor: Tensor)] = []
        var pathOf: [ObjectIdentifier: String] = [:]
        for path in substitutes.keys.sorted() {
            guard let p = byPath[path] else {
                throw FunctionalParameterError.unknownPath(path, valid: named.map(\.path))
            }
            let t = substitutes[path]!
            guard t.shape == p.shape else {
                throw FunctionalParameterError.shapeMismatch(path: path, expected: p.shape, got: t.shape)
            }
            if let other = pathOf[ObjectIdentifier(p)] { throw FunctionalParameterError.aliasedPaths(other, path) }
            pathOf[ObjectIdentifier(p)] = path
            chosen.append((p, t))
        }
        let previous = chosen.map(\.parameter.substitute)
        // Holding the old tensors keeps their storage: in-place updates copy on write.
        let savedBuffers = buffers == .restore ? namedBuffers().map { ($0.buffer, $0.buffer.value) } : []
        for (p, t) in chosen { p.substitute = t }
        defer {
            for ((p, _), old) in zip(chosen, previous) { p.substitute = old }
            for (b, v) in savedBuffers { b.value = v }
        }
        return try body()
    }

    /// `self(x)` with the given parameters substituted (see `withParameters(_:buffers:_:)`).
    public func callAsFunction(_ x: Tensor, parameters: [String: Tensor],
                               buffers: SubstitutedBufferUpdates = .update) throws -> Tensor {
        try withParameters(parameters, buffers: buffers) { self(x) }
    }

    /// The stored value of every parameter by path, each as a fresh tape leaf (whatever its
    /// `requiresGradient`): the θ₀ an unrolled optimisation starts from. Shares storage with
    /// the stored weights until they are updated (copy on write).
    public func parameterLeaves() -> [(path: String, tensor: Tensor)] {
        namedParameters().map { ($0.path, $0.parameter.storedValue.detached().requiringGradient()) }
    }
}
