import DistillCore

/// Where a feature is read: the module at a dotted path (`layer2.1`, "" for the whole model),
/// at its input or its output.
public struct FeatureTap: Hashable, Sendable, CustomStringConvertible {
    public enum Point: String, Hashable, Sendable { case input, output }
    public let path: String
    public let point: Point

    public init(path: String, point: Point = .output) {
        self.path = path
        self.point = point
    }

    public var description: String { "\(path.isEmpty ? "<root>" : path):\(point.rawValue)" }
}

/// The features captured by attached taps during forward passes.
///
/// Taps only observe: a captured tensor is the very tensor the module saw or produced, so a
/// student's features stay on the tape (losses on them train the student) and a teacher run
/// under `withoutGradients` yields constants. A module called several times in one step keeps
/// the last call. Call `clear()` once per step (the trainer does) so no graph outlives its step.
public final class FeatureCapture {
    public let taps: [FeatureTap]
    public private(set) var features: [FeatureTap: Tensor] = [:]
    weak var root: Module?

    init(taps: [FeatureTap], root: Module) {
        self.taps = taps
        self.root = root
    }

    /// The captured feature for `tap`, if its module ran since the last `clear()`.
    public subscript(_ tap: FeatureTap) -> Tensor? { features[tap] }

    /// The captured features in the order the taps were given; traps naming the missing tap.
    public func ordered() -> [Tensor] {
        taps.map { t in
            guard let f = features[t] else { failCheck("FeatureCapture: tap \(t) captured nothing (did the module run?)") }
            return f
        }
    }

    public func clear() { features.removeAll(keepingCapacity: true) }

    func store(_ tap: FeatureTap, _ x: Tensor) { features[tap] = x }

    /// Detaches the taps from the model; later forward passes capture nothing.
    public func detach() {
        root?.visit { _, m in if m.tapSlot?.capture === self { m.tapSlot = nil } }
    }
}

/// Per-module hook installed only while taps are attached.
final class TapSlot {
    unowned let capture: FeatureCapture
    let input: FeatureTap?
    let output: FeatureTap?

    init(capture: FeatureCapture, input: FeatureTap?, output: FeatureTap?) {
        self.capture = capture; self.input = input; self.output = output
    }

    @inline(__always)
    func record(_ point: FeatureTap.Point, _ x: Tensor) {
        if point == .input, let t = input { capture.store(t, x) }
        if point == .output, let t = output { capture.store(t, x) }
    }
}

extension Module {
    /// Attaches feature taps (replacing any attached before) and returns the capture they fill on
    /// each forward pass. Unknown paths throw `ModuleError.unknownPath` listing the valid ones.
    public func attachTaps(_ taps: [FeatureTap]) throws -> FeatureCapture {
        let modules = namedModules()
        var byPath: [String: Module] = [:]
        for (p, m) in modules { byPath[p] = m }
        for t in taps where byPath[t.path] == nil {
            throw ModuleError.unknownPath(t.path, valid: modules.map(\.path))
        }
        detachAllTaps()
        let capture = FeatureCapture(taps: taps, root: self)
        var grouped: [String: (FeatureTap?, FeatureTap?)] = [:]
        for t in taps {
            var e = grouped[t.path] ?? (nil, nil)
            if t.point == .input { e.0 = t } else { e.1 = t }
            grouped[t.path] = e
        }
        for (path, (i, o)) in grouped { byPath[path]!.tapSlot = TapSlot(capture: capture, input: i, output: o) }
        return capture
    }

    /// Removes every tap attached under this module.
    public func detachAllTaps() { visit { _, m in m.tapSlot = nil } }

    /// One-shot: runs `self(x)` with `taps` attached and returns the output and the features in
    /// the order of `taps`; the taps are removed afterwards.
    public func forward(_ x: Tensor, capturing taps: [FeatureTap]) throws -> (output: Tensor, features: [Tensor]) {
        let capture = try attachTaps(taps)
        defer { detachAllTaps() }
        let y = self(x)
        return (y, capture.ordered())
    }
}
