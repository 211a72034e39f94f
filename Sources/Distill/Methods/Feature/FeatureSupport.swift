import DistillCore
import DistillNN

/// Helpers shared by the feature-based distillation losses: tap options, shape validation,
/// spatial matching, L2 normalisation and the adapter container.
enum FeatureSupport {
    /// Reads the `student` and `teacher` tap lists and the default `point` (`output` unless set).
    ///
    /// Each list entry is a dotted module path, optionally suffixed `:input` or `:output` to
    /// override `point` for that tap (`fc:input` is the pooled vector a classifier sees).
    /// Both sides must name the same number of taps, at least `minimum`.
    static func taps(_ o: MethodOptions, student ds: [String], teacher dt: [String], minimum: Int = 1,
                     exactly: Int? = nil) throws -> (student: [FeatureTap], teacher: [FeatureTap]) {
        let pointName = o.string("point", default: "output")
        guard let point = FeatureTap.Point(rawValue: pointName) else {
            throw DistillationError.badOption(method: o.method, option: "point", detail: "must be 'input' or 'output', got '\(pointName)'")
        }
        func parse(_ key: String, _ d: [String]) throws -> [FeatureTap] {
            try o.list(key, default: d).map { entry in
                let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count <= 2, !parts[0].isEmpty else {
                    throw DistillationError.badOption(method: o.method, option: key, detail: "has a malformed tap '\(entry)'; expected 'path' or 'path:input|output'")
                }
                if parts.count == 1 { return FeatureTap(path: parts[0], point: point) }
                guard let p = FeatureTap.Point(rawValue: parts[1]) else {
                    throw DistillationError.badOption(method: o.method, option: key, detail: "tap '\(entry)' has point '\(parts[1])'; expected 'input' or 'output'")
                }
                return FeatureTap(path: parts[0], point: p)
            }
        }
        let s = try parse("student", ds), t = try parse("teacher", dt)
        guard s.count == t.count else {
            throw DistillationError.badOption(method: o.method, option: "teacher",
                                              detail: "names \(t.count) taps but 'student' names \(s.count); they are paired in order")
        }
        if let n = exactly, s.count != n {
            throw DistillationError.badOption(method: o.method, option: "student", detail: "must name exactly \(n) tap(s), got \(s.count)")
        }
        guard s.count >= minimum else {
            throw DistillationError.badOption(method: o.method, option: "student", detail: "must name at least \(minimum) tap(s), got \(s.count)")
        }
        return (s, t)
    }

    /// Reads the adapter-initialisation seed (`seed`, default 0).
    static func seed(_ o: MethodOptions) throws -> UInt64 {
        let s = try o.int("seed", default: 0)
        guard s >= 0 else { throw DistillationError.badOption(method: o.method, option: "seed", detail: "must be ≥ 0, got \(s)") }
        return UInt64(s)
    }

    /// The error for pair `i`, naming both taps and both shapes.
    static func incompatible(_ method: String, _ st: [FeatureTap], _ ss: [[Int]], _ tt: [FeatureTap], _ ts: [[Int]],
                             _ i: Int, _ detail: String) -> DistillationError {
        .incompatibleShapes(method: method, studentTap: st[i].description, studentShape: ss[i],
                            teacherTap: tt[i].description, teacherShape: ts[i], detail: detail)
    }

    /// Checks the probe shapes against the taps: one shape per tap, equal batch sizes, and each
    /// feature's rank in `ranks` (e.g. [4] for maps, [2, 4] for vectors or maps).
    static func validate(_ method: String, _ st: [FeatureTap], _ ss: [[Int]], _ tt: [FeatureTap], _ ts: [[Int]],
                         ranks: Set<Int>, what: String) throws {
        guard ss.count == st.count, ts.count == tt.count else {
            throw DistillationError.invalidObjective("method '\(method)' declares \(st.count) student and \(tt.count) teacher taps but got \(ss.count) and \(ts.count) probe shapes")
        }
        for i in 0..<ss.count {
            guard ranks.contains(ss[i].count), ranks.contains(ts[i].count) else {
                throw incompatible(method, st, ss, tt, ts, i, "expected \(what)")
            }
            guard ss[i][0] == ts[i][0] else {
                throw incompatible(method, st, ss, tt, ts, i, "the batch sizes differ (\(ss[i][0]) vs \(ts[i][0]))")
            }
        }
    }

    /// Resolves a spatial mismatch between two [N, C, H, W] maps by adaptive-average-pooling the
    /// larger one to the smaller size (RepDistiller's rule, DESIGN.md); other ranks pass through.
    static func matchSpatial(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
        guard a.rank == 4, b.rank == 4 else { return (a, b) }
        let h = Swift.min(a.shape[2], b.shape[2]), w = Swift.min(a.shape[3], b.shape[3])
        func fit(_ x: Tensor) -> Tensor { x.shape[2] == h && x.shape[3] == w ? x : adaptiveAvgPool2d(x, outputSize: (h, w)) }
        return (fit(a), fit(b))
    }

    /// x / max(‖x‖₂, ε) along `axis` (PyTorch `F.normalize`, ε = 1e-12).
    static func l2Normalized(_ x: Tensor, alongAxis axis: Int, eps: Float = 1e-12) -> Tensor {
        x / (x * x).sum(alongAxis: axis, keepDims: true).sqrt().clamped(min: eps)
    }

    /// The spatial positions of an [N, C, H, W] map as [N, C, H·W] (vectors [N, D] become [N, D, 1]).
    static func positions(_ x: Tensor) -> Tensor {
        x.reshaped([x.shape[0], x.shape[1], x.count / Swift.max(x.shape[0] * x.shape[1], 1)])
    }
}

/// A list of adapter modules, one per tap pair, named "0", "1", … as PyTorch's `nn.ModuleList`,
/// so state-dict keys read `0.weight`, `1.regressor.0.weight`. It has no forward of its own.
public final class AdapterList: Module {
    public private(set) var items: [Module] = []

    public init(_ items: [Module]) {
        super.init()
        for m in items { register(child: m, as: String(self.items.count)); self.items.append(m) }
    }

    public subscript(_ i: Int) -> Module { items[i] }
    public var count: Int { items.count }
}

extension FeatureSupport {
    /// Stops with a message naming `loss` when the batch does not carry one feature per tap.
    static func checkFeatureCounts(_ loss: DistillationLoss, _ batch: DistillationBatch) {
        ensure(batch.studentFeatures.count == loss.studentTaps.count && batch.teacherFeatures.count == loss.teacherTaps.count,
               "\(loss.name): expected \(loss.studentTaps.count) student and teacher features, got \(batch.studentFeatures.count) and \(batch.teacherFeatures.count)")
    }

    /// Σ over the tapped layer pairs i of `term(i, sᵢ, tᵢ)`, after checking the feature counts;
    /// with `matchingSpatialSize` the larger map of each pair is pooled to the smaller first.
    static func sumOverLayers(_ loss: DistillationLoss, _ batch: DistillationBatch, matchingSpatialSize: Bool = true,
                              _ term: (Int, Tensor, Tensor) -> Tensor) -> Tensor {
        checkFeatureCounts(loss, batch)
        var total: Tensor? = nil
        for i in batch.studentFeatures.indices {
            let (s, t) = matchingSpatialSize ? matchSpatial(batch.studentFeatures[i], batch.teacherFeatures[i])
                                             : (batch.studentFeatures[i], batch.teacherFeatures[i])
            let l = term(i, s, t)
            total = total.map { $0 + l } ?? l
        }
        return total ?? Tensor(0)
    }
}
