#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The kernel that computes one convolution direction.
enum ConvBackend: Hashable, CustomStringConvertible {
    case im2col
    case dnnl(DNNLConvLayout)
    var description: String {
        switch self {
        case .im2col: return "im2col"
        case .dnnl(let l): return "dnnl-\(l)"
        }
    }
}

/// How convolutions choose their kernel, from the environment variable `DISTILL_CONV`:
/// `rule` (the default: oneDNN's blocked kernels or im2col + GEMM by a fixed rule of the
/// geometry, `ConvDispatch.ruleBackend`), `im2col` (im2col + GEMM everywhere), `dnnl` (oneDNN,
/// plain or blocked layout by measurement), `dnnl-plain` / `dnnl-blocked` (one oneDNN layout), or
/// `auto` (the fastest of all three, measured per geometry). `auto` is opt-in: because it chooses
/// by timing, two runs with one seed may pick different kernels and differ in the last bits,
/// which the house rule (same seed, same numbers) forbids for a default; `rule` never times.
/// `setConvolutionMode` overrides it for the process.
public enum ConvMode: String, CaseIterable, Sendable {
    case im2col, dnnl, auto, rule
    case dnnlPlain = "dnnl-plain"
    case dnnlBlocked = "dnnl-blocked"

    /// Candidates in the order they are tried (the first one that builds wins ties).
    var candidates: [ConvBackend] {
        switch self {
        case .im2col: return [.im2col]
        case .dnnl: return [.dnnl(.blocked), .dnnl(.plain)]
        case .dnnlPlain: return [.dnnl(.plain)]
        case .dnnlBlocked: return [.dnnl(.blocked)]
        case .auto: return [.im2col, .dnnl(.blocked), .dnnl(.plain)]
        case .rule: return [.im2col, .dnnl(.blocked)]   // the rule's range; it never measures
        }
    }
}

/// Per-geometry, per-direction choice of convolution kernel by measurement.
///
/// Rule: the first call of a (geometry, direction) runs every candidate of the mode on the
/// caller's real operands, one warm-up run each and then up to three timed rounds interleaved
/// (so a burst of load on shared cores hits all candidates alike), and keeps the one with the
/// smallest time. Each candidate writes the whole output, so the measuring call's result is
/// correct whichever ran last. Measuring rather than a fixed rule because the winner depends on
/// channel count, spatial size, batch and the CPU: oneDNN's blocked kernels win for wide layers,
/// while for 1–3 input channels or tiny outputs the reorders at the edges cost more than they
/// save. A round stops early once the measurement has spent 0.25 s. Decisions are cached (at
/// most `cacheLimit`, then the cache starts over); `DISTILL_CONV_VERBOSE=1` logs each one.
enum ConvDispatch {
    static let cacheLimit = 1024

    /// The `rule` mode's choice, a function of the geometry alone (so one seed gives one set of
    /// numbers on every run): oneDNN's blocked kernels for convolutions with a spatial kernel and
    /// at least 27 rows in the im2col matrix (3×3 over 3 channels and up) and for 1×1
    /// convolutions whose input and output channels are multiples of 16; im2col + GEMM for other
    /// 1×1 convolutions, grouped ones and single-channel inputs. Drawn from `ConvBench` at batch
    /// 128 on the zoo's ResNet-20 and LeNet-5 layers (docs/convolution.md): blocked wins every 3×3
    /// layer with 16 or more channels by 1.3–1.6× forward + backward and LeNet-5's 6→16 5×5;
    /// im2col wins the 1-channel first layers. In isolation (plain operands) im2col ties the 1×1
    /// stride-2 shortcuts, but inside a network their input arrives in nChw16c from the blocked
    /// layers, where im2col would first make it plain and hand back plain gradients; with 16-
    /// multiple channels oneDNN reads it in place (ResNet-20 training step, docs/convolution.md).
    /// The same choice serves every direction; where oneDNN declines a geometry, `run` falls back
    /// to im2col.
    static func ruleBackend(_ g: ConvGeometry) -> ConvBackend {
        guard g.groups == 1 else { return .im2col }
        if g.kh * g.kw > 1 { return g.ckk >= 27 ? .dnnl(.blocked) : .im2col }
        return Blocked16(shape: g.inputShape) != nil && Blocked16(shape: g.outputShape) != nil ? .dnnl(.blocked) : .im2col
    }

    struct Key: Hashable {
        let geometry: ConvGeometry
        let direction: ConvDirection
        let mode: ConvMode
    }

    /// The mode from `DISTILL_CONV` (read once); unset is `rule`, an unknown value warns and means `rule`.
    static let environmentMode: ConvMode = {
        guard let v = ProcessInfo.processInfo.environment["DISTILL_CONV"], !v.isEmpty else { return .rule }
        if let m = ConvMode(rawValue: v.lowercased()) { return m }
        FileHandle.standardError.write(Data(
            "warning: DISTILL_CONV=\(v) is not one of \(ConvMode.allCases.map(\.rawValue).joined(separator: ", ")); using rule\n".utf8))
        return .rule
    }()
    static let verbose = ProcessInfo.processInfo.environment["DISTILL_CONV_VERBOSE"].map { $0 != "" && $0 != "0" } ?? false

    nonisolated(unsafe) private static var lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()
    nonisolated(unsafe) private static var overrideMode: ConvMode? = nil
    nonisolated(unsafe) private static var decisions: [Key: ConvBackend] = [:]

    /// The mode in force: set by `setMode` (tests, benchmarks) or from the environment.
    static var mode: ConvMode {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        return overrideMode ?? environmentMode
    }

    /// Forces a mode (nil: back to `DISTILL_CONV`); decisions are kept per mode.
    static func setMode(_ m: ConvMode?) {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        overrideMode = m
    }

    /// The decision recorded for a geometry and direction under a mode (default: the current one).
    static func decision(_ g: ConvGeometry, _ d: ConvDirection, mode m: ConvMode? = nil) -> ConvBackend? {
        let m = m ?? mode
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        return decisions[Key(geometry: g, direction: d, mode: m)]
    }

    /// Forgets every decision (the next call of each geometry measures again).
    static func forgetDecisions() {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        decisions.removeAll()
    }

    private static func record(_ key: Key, _ b: ConvBackend) {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        if decisions.count >= cacheLimit { decisions.removeAll() }
        decisions[key] = b
    }

    @inline(__always) static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Computes one direction with the chosen kernel. `body(backend)` computes the whole output
    /// with that backend and returns false when it cannot (oneDNN declined the geometry).
    static func run(_ g: ConvGeometry, _ direction: ConvDirection, _ body: (ConvBackend) -> Bool) {
        let m = mode
        if m == .im2col { _ = body(.im2col); return }   // no lookup, no measurement
        if m == .rule {                                   // fixed by the geometry, no measurement
            let b = ruleBackend(g)
            if b == .im2col || !body(b) { _ = body(.im2col) }   // body is false where oneDNN declines
            return
        }
        let key = Key(geometry: g, direction: direction, mode: m)
        if let b = decision(g, direction, mode: m) {
            if body(b) { return }
            record(key, .im2col)
            _ = body(.im2col)
            return
        }
        let candidates = m.candidates.filter { b in
            if case .dnnl(let l) = b { return DNNLConv.supports(g, direction, l) }
            return true
        }
        guard candidates.count > 1 else {
            let b = candidates.first ?? .im2col
            if !body(b) { _ = body(.im2col); record(key, .im2col) } else { record(key, b) }
            return
        }
        var best = [Double](repeating: .infinity, count: candidates.count)
        var usable = [Bool](repeating: true, count: candidates.count)
        let start = now()
        for i in candidates.indices { usable[i] = body(candidates[i]) }   // warm-up (first touch of buffers)
        for _ in 0..<3 {
            for i in candidates.indices where usable[i] {
                let t0 = now()
                _ = body(candidates[i])
                best[i] = Swift.min(best[i], now() - t0)
            }
            if now() - start > 0.25 { break }
        }
        if !usable.contains(true) { _ = body(.im2col) }   // nothing usable: the output still comes from im2col
        let winner = best.indices.min { best[$0] < best[$1] }.flatMap { best[$0].isFinite ? candidates[$0] : nil } ?? .im2col
        record(key, winner)
        if verbose {
            let times = candidates.indices.map { "\(candidates[$0]) \(String(format: "%.3f", best[$0] * 1e3)) ms" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("conv \(direction) \(g): \(times) → \(winner)\n".utf8))
        }
    }
}

/// Chooses the convolution kernels of this process (nil: back to `DISTILL_CONV`):
/// `.im2col`, `.rule` (a fixed rule of the geometry), `.dnnl` (oneDNN, layout by measurement),
/// `.dnnlPlain`, `.dnnlBlocked`, or `.auto` (per geometry and direction the fastest, timed once).
/// Results agree within rounding.
public func setConvolutionMode(_ mode: ConvMode?) { ConvDispatch.setMode(mode) }

/// The convolution mode in force.
public var convolutionMode: ConvMode { ConvDispatch.mode }

extension ConvKernels {
    // The kernels `ConvOps` calls, over storage: oneDNN's blocked kernels read activations that are
    // already blocked in place and return blocked outputs, so a network of convolutions, batch
    // norms and elementwise ops reorders only where something reads the plain elements.

    /// y = conv(x, W) (+ bias) as new storage, with the kernel `ConvDispatch` chooses.
    static func forward(x: TensorStorage, weight: TensorStorage, bias: TensorStorage?, _ g: ConvGeometry) -> TensorStorage {
        var out: TensorStorage? = nil
        ConvDispatch.run(g, .forward) { b in
            switch b {
            case .im2col:
                let y = TensorStorage(uninitializedCount: Shape.count(g.outputShape))
                forwardIm2col(x: x.pointer, weight: weight.pointer, bias: bias.map { UnsafePointer($0.pointer) }, y: y.pointer, g)
                out = y
                return true
            case .dnnl(let l):
                guard let y = DNNLConv.forward(x: x, weight: weight, bias: bias, g, layout: l) else { return false }
                out = y
                return true
            }
        }
        return out!
    }

    /// dx = Wᵀ ⋆ dy as new storage, with the kernel `ConvDispatch` chooses.
    static func backwardData(dy: TensorStorage, weight: TensorStorage, _ g: ConvGeometry) -> TensorStorage {
        var out: TensorStorage? = nil
        ConvDispatch.run(g, .backwardData) { b in
            switch b {
            case .im2col:
                let dx = TensorStorage(uninitializedCount: Shape.count(g.inputShape))
                backwardDataIm2col(dy: dy.pointer, weight: weight.pointer, dx: dx.pointer, g)
                out = dx
                return true
            case .dnnl(let l):
                guard let dx = DNNLConv.backwardData(dy: dy, weight: weight, g, layout: l) else { return false }
                out = dx
                return true
            }
        }
        return out!
    }

    /// dW = Σₙ dy[n] ⊗ x[n] (plain), with the kernel `ConvDispatch` chooses.
    static func backwardWeight(x: TensorStorage, dy: TensorStorage, _ g: ConvGeometry) -> TensorStorage {
        let dw = TensorStorage(uninitializedCount: Shape.count(g.weightShape))
        ConvDispatch.run(g, .backwardWeight) { b in
            switch b {
            case .im2col: backwardWeightIm2col(x: x.pointer, dy: dy.pointer, dw: dw.pointer, g); return true
            case .dnnl(let l): return DNNLConv.backwardWeight(x: x, dy: dy, dw: dw.pointer, g, layout: l)
            }
        }
        return dw
    }
}
