import DistillCore

/// Errors at the boundary of the module system (paths, state dicts).
public enum ModuleError: Error, CustomStringConvertible, Equatable {
    /// A feature-tap or freeze path that names no module or parameter; lists the valid ones.
    case unknownPath(String, valid: [String])
    /// `loadStateDict`: keys the module has but the dict lacks.
    case missingKeys([String])
    /// `loadStateDict`: keys the dict has but the module lacks.
    case unexpectedKeys([String])
    /// `loadStateDict`: a tensor whose shape differs from the module's.
    case shapeMismatch(key: String, expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case let .unknownPath(p, valid):
            return "unknown module path '\(p)'; valid paths: \(valid.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: ", "))"
        case let .missingKeys(k): return "state dict is missing keys: \(k.joined(separator: ", "))"
        case let .unexpectedKeys(k): return "state dict has unexpected keys: \(k.joined(separator: ", "))"
        case let .shapeMismatch(key, e, g):
            return "state dict key '\(key)': module expects shape \(Shape.describe(e)), got \(Shape.describe(g))"
        }
    }
}

/// Base class of every layer and model.
///
/// A subclass creates its parameters, buffers and children in `init`, then registers each under
/// its PyTorch name (`register(parameter:as:)`, `register(buffer:as:)`, `register(child:as:)`);
/// registration order is the traversal order. One traversal (`visit`) then names everything by
/// dotted path — `layer1.0.conv1.weight`, `bn.running_mean` — and that path is shared by
/// checkpoints, optimizer state, freezing and feature taps.
///
/// Train/eval is a flag on each module (`isTraining`), set recursively by `train()` / `eval()`.
open class Module {
    public private(set) var localParameters: [(name: String, parameter: Parameter)] = []
    public private(set) var localBuffers: [(name: String, buffer: Buffer)] = []
    public private(set) var children: [(name: String, module: Module)] = []

    /// Training mode of this module (dropout active, batch statistics used). Default true, as in PyTorch.
    public private(set) var isTraining = true

    /// Non-nil only while feature taps are attached to this module: keeps the cost of unused taps
    /// to one nil check per call.
    var tapSlot: TapSlot?

    /// The input transform this model applies to its images before `forward` (set on the model
    /// itself, not on its layers); saved in and restored from model files. See `InputNormalization`.
    public var inputNormalization: InputNormalization?

    public init() {}

    // MARK: registration

    public func register(parameter: Parameter, as name: String) {
        ensure(!name.contains(".") && !name.isEmpty, "Module.register: invalid parameter name '\(name)'")
        localParameters.append((name, parameter))
    }

    public func register(buffer: Buffer, as name: String) {
        ensure(!name.contains(".") && !name.isEmpty, "Module.register: invalid buffer name '\(name)'")
        localBuffers.append((name, buffer))
    }

    public func register(child: Module, as name: String) {
        ensure(!name.contains(".") && !name.isEmpty, "Module.register: invalid child name '\(name)'")
        children.append((name, child))
    }

    // MARK: forward

    /// The computation of this module. Subclasses override; callers use `callAsFunction`.
    open func forward(_ x: Tensor) -> Tensor {
        failCheck("\(type(of: self)).forward(_:) is not implemented for a single tensor input")
    }

    /// Runs `forward` (on normalised images when the model has an `inputNormalization`),
    /// recording feature taps when any are attached.
    /// While a `Trace` is active, the ops it runs are attributed to this module's path.
    public final func callAsFunction(_ x: Tensor) -> Tensor {
        guard Trace.isActive else { return run(x) }
        return Trace.within(ObjectIdentifier(self)) { run(x) }
    }

    private func run(_ x: Tensor) -> Tensor {
        let x = inputNormalization.map { $0.apply(x) } ?? x
        guard let slot = tapSlot else { return forward(x) }
        slot.record(.input, x)
        let y = forward(x)
        slot.record(.output, y)
        return y
    }

    /// For modules whose forward takes other arguments (masks, indices): records `input` and the
    /// result of `body` under the attached taps.
    public final func tapped(input: Tensor?, _ body: () -> Tensor) -> Tensor {
        if Trace.isActive { return Trace.within(ObjectIdentifier(self)) { tappedBody(input: input, body) } }
        return tappedBody(input: input, body)
    }

    private func tappedBody(input: Tensor?, _ body: () -> Tensor) -> Tensor {
        guard let slot = tapSlot else { return body() }
        if let input { slot.record(.input, input) }
        let y = body()
        slot.record(.output, y)
        return y
    }

    // MARK: traversal

    /// Depth-first visit of this module and its descendants with their dotted paths ("" for self).
    public func visit(_ body: (_ path: String, _ module: Module) -> Void) {
        var stack: [(String, Module)] = [("", self)]
        while let (path, m) = stack.popLast() {
            body(path, m)
            for (name, c) in m.children.reversed() { stack.append((path.isEmpty ? name : path + "." + name, c)) }
        }
    }

    /// Every module by dotted path, self first as "".
    public func namedModules() -> [(path: String, module: Module)] {
        var out: [(String, Module)] = []
        visit { out.append(($0, $1)) }
        return out
    }

    /// Every parameter by dotted path (`layer1.0.conv1.weight`), in registration order.
    public func namedParameters() -> [(path: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        visit { path, m in
            for (n, p) in m.localParameters { out.append((path.isEmpty ? n : path + "." + n, p)) }
        }
        return out
    }

    /// Every buffer by dotted path (`bn.running_mean`).
    public func namedBuffers() -> [(path: String, buffer: Buffer)] {
        var out: [(String, Buffer)] = []
        visit { path, m in
            for (n, b) in m.localBuffers { out.append((path.isEmpty ? n : path + "." + n, b)) }
        }
        return out
    }

    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// The trainable (not frozen) parameters by path: what an optimizer should receive.
    public func trainableParameters() -> [(path: String, parameter: Parameter)] {
        namedParameters().filter { $0.parameter.requiresGradient }
    }

    /// Total number of scalar parameters; `trainableOnly` excludes frozen ones.
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        namedParameters().reduce(0) { $0 + (trainableOnly && !$1.parameter.requiresGradient ? 0 : $1.parameter.count) }
    }

    /// The module at a dotted path ("" is self); throws listing the valid paths.
    public func module(at path: String) throws -> Module {
        let all = namedModules()
        guard let m = all.first(where: { $0.path == path }) else {
            throw ModuleError.unknownPath(path, valid: all.map(\.path))
        }
        return m.module
    }

    // MARK: modes

    /// Switches this module and all descendants to training mode.
    @discardableResult
    public func train(_ on: Bool = true) -> Self {
        visit { _, m in m.isTraining = on }
        return self
    }

    /// Switches this module and all descendants to evaluation mode.
    @discardableResult
    public func eval() -> Self { train(false) }

    /// Freezes (or unfreezes) every parameter under each path. A path may name a module (all its
    /// parameters) or a single parameter; unknown paths throw listing the valid ones.
    public func freeze(paths: [String], _ frozen: Bool = true) throws {
        let params = namedParameters()
        let modules = namedModules()
        for path in paths {
            if let p = params.first(where: { $0.path == path }) {
                p.parameter.requiresGradient = !frozen
            } else if let m = modules.first(where: { $0.path == path }) {
                for p in m.module.namedParameters() { p.parameter.requiresGradient = !frozen }
            } else {
                throw ModuleError.unknownPath(path, valid: modules.map(\.path) + params.map(\.path))
            }
        }
    }

    /// Drops the gradients of every parameter.
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }
}
