import DistillCore
import DistillNN

/// Token sequences [N, T, D] (a transformer's layer outputs) as the channel-first maps the
/// feature losses bridge, so a transformer student can face a convolutional teacher, a vector
/// layer or another transformer:
///
/// - facing a map [N, C, H, W]: the tokens of a square patch grid become that grid,
///   [N, D, h, h] (row-major, as a ViT's `patch_embed` lays them out), with T = h², or T = 1 + h²
///   after dropping the first (class) token; any other T becomes [N, D, T, 1];
/// - facing a vector [N, C] or another sequence: [N, D, T, 1], which the losses' usual rules then
///   global-average-pool (against a vector: the mean over tokens) or pool along T (two sequences
///   of different lengths).
///
/// Maps and vectors pass through unchanged. The conversion is a reshape and a transpose on the
/// tape (the class token's drop a slice), so gradients reach the tokens.
enum TokenBridge {
    enum Layout: Equatable {
        case unchanged
        /// [N, T, D] → [N, D, h, w], dropping token 0 first when `dropFirst`.
        case grid(h: Int, w: Int, dropFirst: Bool)
        /// [N, T, D] → [N, D, T, 1].
        case sequence
    }

    /// How a feature of `shape` is converted when it faces a feature of shape `other`.
    static func layout(_ shape: [Int], facing other: [Int]) -> Layout {
        guard shape.count == 3 else { return .unchanged }
        let t = shape[1]
        if other.count == 4 {
            if let h = squareRoot(t) { return .grid(h: h, w: h, dropFirst: false) }
            if t > 1, let h = squareRoot(t - 1) { return .grid(h: h, w: h, dropFirst: true) }
        }
        return .sequence
    }

    /// The shape after conversion.
    static func shape(_ shape: [Int], _ layout: Layout) -> [Int] {
        switch layout {
        case .unchanged: return shape
        case let .grid(h, w, _): return [shape[0], shape[2], h, w]
        case .sequence: return [shape[0], shape[2], shape[1], 1]
        }
    }

    /// Converts `x` by `layout`.
    static func apply(_ x: Tensor, _ layout: Layout) -> Tensor {
        switch layout {
        case .unchanged: return x
        case let .grid(h, w, dropFirst):
            let tokens = dropFirst ? x.slice(axis: 1, start: 1, length: x.shape[1] - 1) : x
            return tokens.transposed(1, 2).reshaped([x.shape[0], x.shape[2], h, w])
        case .sequence:
            return x.transposed(1, 2).reshaped([x.shape[0], x.shape[2], x.shape[1], 1])
        }
    }

    /// The layouts of a (student, teacher) pair and their converted shapes.
    static func pair(student s: [Int], teacher t: [Int]) -> (student: Layout, teacher: Layout, shapes: ([Int], [Int])) {
        let ls = layout(s, facing: t), lt = layout(t, facing: s)
        return (ls, lt, (shape(s, ls), shape(t, lt)))
    }

    static func squareRoot(_ n: Int) -> Int? {
        guard n > 0 else { return nil }
        let r = Int(Double(n).squareRoot().rounded())
        return r * r == n ? r : nil
    }
}
