/// oneDNN's nChw16c layout of a 4-D activation [N, C, H, W] whose channel count is a multiple of
/// 16: channel blocks of 16 are the outer index after the image, then rows, columns, and the 16
/// channels of the block innermost,
///     blocked[((n·C/16 + c/16)·H·W + h·W + w)·16 + c mod 16] = plain[((n·C + c)·H + h)·W + w].
/// It is the layout oneDNN's AVX-512 convolutions compute in (`format_tag_any`); keeping
/// activations in it between layers saves the reorders at every convolution's edges. Channel
/// counts that are not multiples of 16 would need padding and stay plain.
struct Blocked16: Hashable, CustomStringConvertible {
    static let block = 16
    let n: Int, c: Int, h: Int, w: Int

    /// The layout for a shape, or nil when the shape is not 4-D with C a positive multiple of 16.
    init?(shape: [Int]) {
        guard shape.count == 4, shape[1] > 0, shape[1] % Self.block == 0, shape[0] > 0, shape[2] > 0, shape[3] > 0 else { return nil }
        n = shape[0]; c = shape[1]; h = shape[2]; w = shape[3]
    }

    var shape: [Int] { [n, c, h, w] }
    var count: Int { n * c * h * w }
    var plane: Int { h * w }
    var blocks: Int { c / Self.block }
    var description: String { "nChw16c[\(n), \(c), \(h), \(w)]" }
}

/// Copies between the plain and the nChw16c layout (exact: a permutation). Each (image, block)
/// pair is a transpose of a [16, H·W] panel to [H·W, 16], done in tiles of 16 columns so both
/// sides stay in L1; pairs are split over the kernel threads for large tensors.
enum BlockedReorder {
    /// Elements below which a reorder stays on one thread.
    static let parallelThreshold = 65_536

    private static func forEachPanel(_ l: Blocked16, _ body: (_ plainOffset: Int, _ blockedOffset: Int) -> Void) {
        let panels = l.n * l.blocks, panel = Blocked16.block * l.plane
        Parallel.forRanges(panels, grain: l.count >= parallelThreshold ? 1 : panels) { range in
            for i in range { body(i * panel, i * panel) }   // (n, block) panels sit at the same offset in both layouts
        }
    }

    static func toBlocked(_ plain: UnsafePointer<Float>, _ blocked: UnsafeMutablePointer<Float>, _ l: Blocked16) {
        let s = l.plane
        forEachPanel(l) { po, bo in
            let src = plain + po, dst = blocked + bo
            var p0 = 0
            while p0 < s {
                let p1 = Swift.min(p0 + 16, s)
                for lane in 0..<16 {
                    let row = src + lane * s
                    for p in p0..<p1 { dst[p * 16 + lane] = row[p] }
                }
                p0 = p1
            }
        }
    }

    static func toPlain(_ blocked: UnsafePointer<Float>, _ plain: UnsafeMutablePointer<Float>, _ l: Blocked16) {
        let s = l.plane
        forEachPanel(l) { po, bo in
            let src = blocked + bo, dst = plain + po
            var p0 = 0
            while p0 < s {
                let p1 = Swift.min(p0 + 16, s)
                for lane in 0..<16 {
                    let row = dst + lane * s
                    for p in p0..<p1 { row[p] = src[p * 16 + lane] }
                }
                p0 = p1
            }
        }
    }
}

extension TensorStorage {
    /// The elements in `layout` for reading: the blocked copy when there is one, else a
    /// temporary made from the plain elements (released by `body`'s return; never attached,
    /// so no copy can go stale).
    func withBlocked<R>(_ layout: Blocked16, _ body: (UnsafePointer<Float>) -> R) -> R {
        if let b = blocked(as: layout) { return body(UnsafePointer(b)) }
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        let raw = BufferCache.allocate(byteCount: bytes)
        defer { BufferCache.release(raw, byteCount: bytes) }
        let tmp = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        BlockedReorder.toBlocked(UnsafePointer(pointer), tmp, layout)
        return body(UnsafePointer(tmp))
    }
}
