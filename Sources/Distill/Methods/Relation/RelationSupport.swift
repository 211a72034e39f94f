import DistillCore
import DistillNN

/// A loss that keeps state outside its adapters' parameters (CRD's memory banks), which a
/// checkpoint must save and a resumed run must restore for the same numbers.
public protocol StatefulDistillationLoss: DistillationLoss {
    /// The state by name (detached tensors); empty until the state exists.
    var lossState: [String: Tensor] { get }
    /// Restores what `lossState` returned; throws naming a missing key or a wrong shape.
    func loadLossState(_ state: [String: Tensor]) throws
}

/// A loss that needs the number of training examples (memory banks indexed by dataset row).
/// The trainer calls `setDatasetSize` once, before training, with the training set's size.
public protocol DatasetSizedDistillationLoss: DistillationLoss {
    func setDatasetSize(_ n: Int) throws
}

/// Helpers shared by the relation-based methods.
enum RelationSupport {
    /// Student and teacher embedding heads `embed_s`, `embed_t` (Linear from the flattened
    /// features to `dim`), as CC and CRD build them.
    static func embeddingHeads(student ss: [Int], teacher ts: [Int], dim: Int, using g: inout SeededGenerator) -> Module {
        let m = Module()
        m.register(child: Linear(Shape.count(Array(ss.dropFirst())), dim, using: &g), as: "embed_s")
        m.register(child: Linear(Shape.count(Array(ts.dropFirst())), dim, using: &g), as: "embed_t")
        return m
    }

    /// Feature taps from a required option holding comma-separated module paths, each optionally
    /// suffixed `:input` or `:output` (default output). Absence is refused: the penultimate
    /// features of an arbitrary model cannot be guessed.
    static func taps(_ o: MethodOptions, _ key: String) throws -> [FeatureTap] {
        let items = o.list(key, default: [])
        guard !items.isEmpty else {
            throw DistillationError.badOption(method: o.method, option: key,
                detail: "is required: the comma-separated module paths of the \(key) features this method relates (e.g. 'layer3' or 'fc:input'); the penultimate features of a model are not known generically")
        }
        return try items.map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 1 { return FeatureTap(path: parts[0]) }
            guard parts.count == 2, let p = FeatureTap.Point(rawValue: parts[1]) else {
                throw DistillationError.badOption(method: o.method, option: key, detail: "entry '\(item)' is not 'path', 'path:input' or 'path:output'")
            }
            return FeatureTap(path: parts[0], point: p)
        }
    }

    /// Exactly one tap on each side (methods on the penultimate embedding).
    static func singleTaps(_ o: MethodOptions) throws -> (student: FeatureTap, teacher: FeatureTap) {
        let s = try taps(o, "student"), t = try taps(o, "teacher")
        for (k, v) in [("student", s), ("teacher", t)] where v.count != 1 {
            throw DistillationError.badOption(method: o.method, option: k, detail: "names \(v.count) taps (\(v.map(\.description).joined(separator: ", "))); this method relates exactly one feature per network")
        }
        return (s[0], t[0])
    }

    /// Refuses a probe whose shape lists do not match the taps, or a feature without a batch axis.
    static func checkCounts(_ method: String, studentTaps: [FeatureTap], teacherTaps: [FeatureTap],
                            studentShapes: [[Int]], teacherShapes: [[Int]]) throws {
        guard studentShapes.count == studentTaps.count, teacherShapes.count == teacherTaps.count else {
            throw DistillationError.badOption(method: method, option: "student/teacher",
                detail: "probe gave \(studentShapes.count) student and \(teacherShapes.count) teacher shapes for \(studentTaps.count) student and \(teacherTaps.count) teacher taps")
        }
    }

    /// Refuses a pair whose batch sizes differ or that has no feature axis.
    static func checkBatch(_ method: String, _ st: FeatureTap, _ ss: [Int], _ tt: FeatureTap, _ ts: [Int]) throws {
        guard ss.count >= 2, ts.count >= 2 else {
            throw DistillationError.incompatibleShapes(method: method, studentTap: st.description, studentShape: ss, teacherTap: tt.description, teacherShape: ts,
                                                       detail: "features need a batch axis and at least one feature axis")
        }
        guard ss[0] == ts[0] else {
            throw DistillationError.incompatibleShapes(method: method, studentTap: st.description, studentShape: ss, teacherTap: tt.description, teacherShape: ts,
                                                       detail: "batch sizes \(ss[0]) and \(ts[0]) differ")
        }
    }

    /// [b, ...] → [b, d].
    static func flat(_ x: Tensor) -> Tensor { x.rank == 2 ? x : x.reshaped([x.shape[0], x.count / max(x.shape[0], 1)]) }

    /// PyTorch `F.normalize(x, p: 2, dim: axis, eps: 1e-12)`: x / max(‖x‖₂, ε). Computed as
    /// x / √max(‖x‖², ε²) (the same value), so a zero row has a finite gradient.
    static func l2Normalize(_ x: Tensor, axis: Int, eps: Float = 1e-12) -> Tensor {
        x / (x * x).sum(alongAxis: axis, keepDims: true).clamped(min: eps * eps).sqrt()
    }

    /// PyTorch `F.smooth_l1_loss(a, b)` with β = 1, mean reduction: mean of ½d² where |d| < 1,
    /// |d| − ½ elsewhere, d = a − b. The gradient at d = 0 is exactly 0.
    static func smoothL1(_ a: Tensor, _ b: Tensor) -> Tensor {
        let d = a - b
        let ad = d.abs()
        return Tensor.select(where: ad.detached().less(1), d * d * 0.5, ad - 0.5).mean()
    }

    /// A zero that stays on the tape of `x` (the loss of a batch with no relations).
    static func zero(onTapeOf x: Tensor) -> Tensor { x.sum() * 0 }

    /// A per-channel vector [C] viewed as [1, C, 1, 1] (rank 4) or [1, C], to broadcast against features.
    static func channelView(_ v: Tensor, rank: Int) -> Tensor {
        rank == 4 ? v.reshaped([1, v.count, 1, 1]) : v.reshaped([1, v.count])
    }
}
