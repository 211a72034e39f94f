/// Reverse-mode automatic differentiation on a dynamic tape.
///
/// Every differentiable op computes its result with a kernel and, when gradients are recorded
/// and an input needs one, attaches a `GradNode` holding a pullback. Pullbacks are written with
/// differentiable ops, so running them while recording (`createGraph: true`) yields a graph of
/// the gradient itself: gradients of gradients.
public final class GradNode {
    public let op: OpName?
    /// Parent nodes, aligned with the pullback's outputs (nil for inputs that need no gradient).
    var inputs: [GradNode?]
    /// Maps the gradient of the output (and the output itself, when saved) to input gradients.
    var pullback: ((Tensor, Tensor) -> [Tensor?])?
    /// Output storage kept for pullbacks that need the result (exp, sigmoid, ...).
    var savedOutput: TensorStorage?
    let shape: [Int]
    /// Accumulated gradient of a leaf.
    public internal(set) var grad: Tensor?
    /// Operands and attributes of the op, kept only while a `Trace` is active (for export).
    public internal(set) var trace: OpTrace?
    var pending: Tensor?

    public var isLeaf: Bool { op == nil }

    init(leafShape: [Int]) {
        op = nil; inputs = []; pullback = nil; shape = leafShape
    }

    init(op: OpName, shape: [Int], inputs: [GradNode?], pullback: @escaping (Tensor, Tensor) -> [Tensor?]) {
        self.op = op; self.shape = shape; self.inputs = inputs; self.pullback = pullback
    }

    /// Drops what backward needed from an interior node: its pullback (and what it captured),
    /// its saved output and its edges.
    func release() {
        pullback = nil
        inputs = []
        savedOutput = nil
    }

    /// Tears a graph down iteratively: releasing a long chain node by node would recurse once per
    /// node and overflow the stack. Each uniquely held parent is emptied before it is released.
    deinit {
        guard !inputs.isEmpty else { return }
        var work = inputs.compactMap { $0 }
        inputs = []
        pullback = nil
        while var n = work.popLast() {
            if isKnownUniquelyReferenced(&n) {
                work.append(contentsOf: n.inputs.compactMap { $0 })
                n.inputs = []
                n.pullback = nil
            }
        }
    }
}

/// Whether differentiable ops record onto the tape (per thread of control; training loops run on one).
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` with recording switched on or off, restoring the previous state afterwards.
    @discardableResult
    public static func with<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let saved = isEnabled
        isEnabled = enabled
        defer { isEnabled = saved }
        return try body()
    }
}

/// Runs `body` without recording any op (teachers, evaluation, optimizer updates).
@discardableResult
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: false, body)
}

extension Tensor {
    /// Whether this tensor is on the tape.
    public var requiresGradient: Bool { node != nil }

    /// This value as a new leaf of the tape: `backward()` accumulates into its `gradient`.
    public func requiringGradient() -> Tensor {
        Tensor(storage: storage, shape: shape, node: GradNode(leafShape: shape))
    }

    /// The same values, cut from the tape.
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape) }

    /// The accumulated gradient of a leaf (nil before any backward pass reaches it).
    public var gradient: Tensor? { node?.grad }

    /// Clears the accumulated gradient of a leaf.
    public func zeroGradient() { node?.grad = nil }

    /// Replaces the accumulated gradient of a leaf (a data-parallel all-reduce writes the average
    /// back); no graph. Does nothing for a constant.
    public func setGradient(_ g: Tensor) {
        ensure(g.shape == shape, "setGradient: gradient \(Shape.describe(g.shape)) for a tensor \(Shape.describe(shape))")
        node?.grad = g.detached()
    }

    /// Multiplies the accumulated gradient of a leaf by `factor` (gradient clipping); no graph.
    public func scaleGradient(by factor: Float) {
        guard let g = node?.grad else { return }
        node?.grad = withoutGradients { g.detached() * factor }
    }

    /// Records an op. `inputs` are the op's differentiable operands; the pullback receives the
    /// gradient of the result and the result itself (with its node, so second-order graphs can
    /// flow through it; its values are only valid when `savesOutput`), and returns one gradient
    /// (or nil) per input, each of that input's shape. `attributes` (stride, axes, …) is evaluated
    /// only while a `Trace` is active, and kept with the operands for export.
    public static func record(_ op: OpName, result: Tensor, inputs: [Tensor], savesOutput: Bool = false,
                              attributes: @autoclosure () -> [String: TraceAttribute] = [:],
                              pullback: @escaping (_ grad: Tensor, _ output: Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.node != nil }) else { return result }
        let node = GradNode(op: op, shape: result.shape, inputs: inputs.map { $0.node }, pullback: pullback)
        if Trace.isActive { node.trace = OpTrace(operands: inputs, attributes: attributes(), scope: Trace.scope) }
        if savesOutput { node.savedOutput = result.storage }
        return Tensor(storage: result.storage, shape: result.shape, node: node)
    }

    /// Back-propagates from this tensor, accumulating into every leaf it depends on.
    ///
    /// - Parameters:
    ///   - seed: gradient of the final objective with respect to this tensor; defaults to ones
    ///     (so a scalar loss gets d loss / d loss = 1).
    ///   - createGraph: record the backward computation, so leaf gradients can be differentiated.
    ///   - retainGraph: keep the graph for another backward pass (implied by `createGraph`).
    public func backward(seed: Tensor? = nil, createGraph: Bool = false, retainGraph: Bool? = nil) {
        ensure(node != nil, "backward: tensor of shape \(Shape.describe(shape)) is not on the tape (no input requires a gradient)")
        _ = Autograd.run(root: self, seed: seed, targets: nil, createGraph: createGraph,
                         retainGraph: retainGraph ?? createGraph)
    }
}

/// Gradients of `output` with respect to `inputs`, returned instead of accumulated (like
/// `torch.autograd.grad`). An input the output does not depend on gets zeros.
public func gradients(of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false, retainGraph: Bool? = nil) -> [Tensor] {
    ensure(output.node != nil, "gradients(of:wrt:): output of shape \(Shape.describe(output.shape)) is not on the tape")
    let targets = inputs.map { t -> GradNode in
        ensure(t.node != nil, "gradients(of:wrt:): an input of shape \(Shape.describe(t.shape)) is not on the tape")
        return t.node!
    }
    let found = Autograd.run(root: output, seed: seed, targets: targets, createGraph: createGraph,
                             retainGraph: retainGraph ?? createGraph)
    return zip(found, inputs).map { g, x in g ?? Tensor.zeros(x.shape) }
}

enum Autograd {
    /// Nodes reachable from `root`, parents after children (reverse topological order), found
    /// with an explicit stack so deep graphs cannot overflow the call stack.
    static func order(from root: GradNode) -> [GradNode] {
        var visited = Set<ObjectIdentifier>()
        var post: [GradNode] = []
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while !stack.isEmpty {
            let (n, i) = stack[stack.count - 1]
            if i < n.inputs.count {
                stack[stack.count - 1].1 = i + 1
                if let child = n.inputs[i], !visited.contains(ObjectIdentifier(child)) {
                    visited.insert(ObjectIdentifier(child))
                    stack.append((child, 0))
                }
            } else {
                post.append(n)
                stack.removeLast()
            }
        }
        return post.reversed()
    }

    /// The nodes of `nodes` (root first) that are targets or from which a target is reachable:
    /// only the pullbacks of nodes with such an input can contribute to `gradients(of:wrt:)`. Pruning the rest matters for unrolled
    /// optimisation, where ∇θₖ L(θₖ) would otherwise run (and, with `createGraph`, record) the
    /// pullbacks of every earlier step that produced θₖ.
    static func leadingTo(_ targets: Set<ObjectIdentifier>, _ nodes: [GradNode]) -> Set<ObjectIdentifier> {
        var reach = Set<ObjectIdentifier>()
        for n in nodes.reversed() {
            let id = ObjectIdentifier(n)
            if targets.contains(id) || n.inputs.contains(where: { $0.map { reach.contains(ObjectIdentifier($0)) } ?? false }) {
                reach.insert(id)
            }
        }
        return reach
    }

    static func accumulate(_ g: Tensor, into existing: Tensor?) -> Tensor {
        guard let e = existing else { return g }
        return e + g
    }

    static func run(root: Tensor, seed: Tensor?, targets: [GradNode]?, createGraph: Bool, retainGraph: Bool) -> [Tensor?] {
        let rootNode = root.node!
        let start = seed ?? Tensor.ones(root.shape)
        ensure(start.shape == root.shape,
                     "backward: seed shape \(Shape.describe(start.shape)) does not match output shape \(Shape.describe(root.shape))")
        let nodes = order(from: rootNode)
        let targetIDs = Set((targets ?? []).map { ObjectIdentifier($0) })
        let needed = targets == nil ? nil : leadingTo(targetIDs, nodes)
        var found: [ObjectIdentifier: Tensor] = [:]
        GradMode.with(enabled: createGraph) {
            rootNode.pending = createGraph ? start : start.detached()
            for n in nodes {
                guard let g = n.pending else { continue }
                n.pending = nil
                let id = ObjectIdentifier(n)
                if targets != nil {
                    if targetIDs.contains(id) { found[id] = g }
                } else if n.isLeaf {
                    n.grad = accumulate(g, into: n.grad)
                }
                guard let pb = n.pullback else { continue }
                if let needed, !n.inputs.contains(where: { $0.map { needed.contains(ObjectIdentifier($0)) } ?? false }) { continue }
                let out = Tensor(storage: n.savedOutput ?? TensorStorage(uninitializedCount: Shape.count(n.shape)),
                                 shape: n.shape, node: n)
                let grads = pb(g, out)
                ensure(grads.count == n.inputs.count, "backward: \(n.op!.rawValue) returned \(grads.count) gradients for \(n.inputs.count) inputs")
                for (parent, pg) in zip(n.inputs, grads) {
                    guard let parent, let pg else { continue }
                    ensure(pg.shape == parent.shape,
                                 "backward: \(n.op!.rawValue) produced a gradient of shape \(Shape.describe(pg.shape)) for an input of shape \(Shape.describe(parent.shape))")
                    parent.pending = accumulate(pg, into: parent.pending)
                }
                // Done with this node: free what its pullback captured (activations, saved
                // outputs) now, so their buffers are reused, still warm, by the rest of the pass.
                if !retainGraph { n.release() }
            }
        }
        if !retainGraph {
            for n in nodes where !n.isLeaf { n.release() }
        }
        return (targets ?? []).map { found[ObjectIdentifier($0)] }
    }
}
