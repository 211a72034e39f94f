/// Graph capture for export (ONNX): while a trace is active, every recorded op also keeps its
/// operands (constants included) and the attributes an exporter needs (stride, axes, epsilon, …),
/// and the module it ran in. Outside a trace nothing is kept: `Tensor.record` pays one flag check
/// and never evaluates its `attributes` argument, so training costs what it did.
///
/// An exporter marks its example input `requiringGradient()`, runs one eval-mode forward inside
/// `Trace.capture`, and walks `GradNode.trace` back from the output (`GradNode.tracedOrder()`).
public enum Trace {
    nonisolated(unsafe) public private(set) static var isActive = false
    nonisolated(unsafe) static var scopeNames: [ObjectIdentifier: String] = [:]
    nonisolated(unsafe) static var scopes: [String] = []

    /// Runs `body` with tracing on (and gradients recorded); `scopeNames` names the objects
    /// (modules) that `within(_:_:)` enters, by identity: the module paths ops are attributed to.
    public static func capture<R>(scopeNames names: [ObjectIdentifier: String] = [:], _ body: () throws -> R) rethrows -> R {
        let saved = (isActive, scopeNames, scopes)
        isActive = true; scopeNames = names; scopes = []
        defer { (isActive, scopeNames, scopes) = saved }
        return try GradMode.with(enabled: true, body)
    }

    /// Runs `body` attributed to the object `id` (a module) when a trace names it.
    public static func within<R>(_ id: ObjectIdentifier, _ body: () throws -> R) rethrows -> R {
        guard isActive, let name = scopeNames[id] else { return try body() }
        scopes.append(name)
        defer { scopes.removeLast() }
        return try body()
    }

    /// The innermost named scope (module path) now running, if any.
    public static var scope: String? { scopes.last }
}

/// A value an op records for export.
public enum TraceAttribute: Sendable {
    case int(Int), ints([Int]), float(Float), bool(Bool), tensor(Tensor)

    public var int: Int? { if case let .int(v) = self { return v }; return nil }
    public var ints: [Int]? { if case let .ints(v) = self { return v }; return nil }
    public var float: Float? { if case let .float(v) = self { return v }; return nil }
    public var bool: Bool? { if case let .bool(v) = self { return v }; return nil }
    public var tensor: Tensor? { if case let .tensor(v) = self { return v }; return nil }
}

/// What a traced op kept: all its operands in order (each with its node, or a constant without
/// one), its attributes, and the module path it ran in.
public struct OpTrace {
    public let operands: [Tensor]
    public let attributes: [String: TraceAttribute]
    public let scope: String?
}

extension GradNode {
    /// Nodes reachable from this one, every node after the nodes it depends on (this one last).
    public func tracedOrder() -> [GradNode] { Autograd.order(from: self).reversed() }
}
