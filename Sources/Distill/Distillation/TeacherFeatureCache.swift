import DistillCore
import Foundation

/// The teacher's logits and tapped features for every row of a non-augmented transfer set, kept
/// the first time a row is seen, so later epochs copy them out instead of running the teacher.
///
/// One float32 table per output, [rows, …] (the logits first, then the taps in the session's
/// order), allocated at once but touched only as rows fill. A batch whose rows are all filled is
/// served by copying its rows out (one `memcpy` per row and output, no tape); any other batch
/// runs the teacher, and its rows not yet filled are copied in.
///
/// Filled lazily from the training batches rather than in one eager pass over the set, because
/// then (1) every row holds exactly what the teacher gave in the first training batch that held
/// it, so the first epoch is the uncached run bit for bit, and later epochs are as long as the
/// teacher's output for a row does not depend on the rest of its batch (eval mode, per-example
/// kernels; `TeacherFeatureCacheTests` checks it); (2) no extra pass, and no pass of a larger
/// batch's activations, is paid before training, nor at all when a finished run is reused; (3) a
/// data-parallel process fills only the rows of its shards.
///
/// Valid only when a row's images are the same every epoch (no augmentation; a batch with mixup
/// is never looked up nor stored) and the teacher is a fixed function of its input (eval mode,
/// without gradients, as every `Teacher` runs). The losses only read the teacher's outputs — the
/// noisy teacher perturbs a copy in its loss — so storing the clean outputs changes nothing.
public final class TeacherFeatureCache {
    /// Rows the tables hold (data-set rows 0 ..< rows; a batch with another row is not cached).
    public let rows: Int
    /// The shape of one row of each output: the logits' [classes], then each tap's.
    public let rowShapes: [[Int]]
    let rowCounts: [Int]
    let tables: [TensorStorage]
    var filled: [Bool]
    /// Rows filled so far.
    public private(set) var filledCount = 0
    /// Batches served from the tables, and batches that ran the teacher.
    public private(set) var hits = 0, misses = 0

    /// Bytes the tables of `rows` rows of `rowShapes` take (a Double, so no count overflows).
    public static func bytes(rows: Int, rowShapes: [[Int]]) -> Double {
        Double(rows) * Double(rowShapes.reduce(0) { $0 + Shape.count($1) }) * Double(MemoryLayout<Float>.stride)
    }

    /// The cache for `rows` rows of outputs shaped `rowShapes` — nil when its tables would take
    /// more than `budgetBytes` — and the bytes they take.
    public static func make(rows: Int, rowShapes: [[Int]], budgetBytes: Int) -> (cache: TeacherFeatureCache?, bytes: Double) {
        let need = bytes(rows: rows, rowShapes: rowShapes)
        guard rows > 0, need <= Double(budgetBytes) else { return (nil, need) }
        return (TeacherFeatureCache(rows: rows, rowShapes: rowShapes), need)
    }

    init(rows: Int, rowShapes: [[Int]]) {
        self.rows = rows
        self.rowShapes = rowShapes
        rowCounts = rowShapes.map(Shape.count)
        tables = rowCounts.map { TensorStorage(uninitializedCount: rows * $0) }
        filled = [Bool](repeating: false, count: rows)
    }

    /// Whether every row of `indices` is filled (false for a row outside 0 ..< rows).
    func holds(_ indices: [Int]) -> Bool {
        indices.allSatisfy { $0 >= 0 && $0 < rows && filled[$0] }
    }

    /// The outputs of `indices` ([B, …] each, logits first), or nil unless every row is filled.
    func lookup(_ indices: [Int]) -> [Tensor]? {
        guard !indices.isEmpty, holds(indices) else { misses += 1; return nil }
        hits += 1
        return zip(tables, zip(rowShapes, rowCounts)).map { table, shape in
            let (rowShape, per) = shape
            return Tensor.make([indices.count] + rowShape) { out in
                for (k, r) in indices.enumerated() { (out + k * per).update(from: table.pointer + r * per, count: per) }
            }
        }
    }

    /// Copies the rows of `indices` not yet filled out of `outputs` ([B, …] each, logits first,
    /// as the teacher gave them for this batch).
    func store(_ indices: [Int], outputs: [Tensor]) {
        ensure(outputs.count == tables.count, "TeacherFeatureCache: \(outputs.count) outputs for \(tables.count) tables")
        for (o, shape) in zip(outputs, rowShapes) {
            ensure(o.shape == [indices.count] + shape,
                   "TeacherFeatureCache: teacher output \(Shape.describe(o.shape)) for a batch of \(indices.count), expected \(Shape.describe([indices.count] + shape))")
        }
        for (k, r) in indices.enumerated() where r >= 0 && r < rows && !filled[r] {
            for (o, (table, per)) in zip(outputs, zip(tables, rowCounts)) {
                o.withUnsafeBufferPointer { src in (table.pointer + r * per).update(from: src.baseAddress! + k * per, count: per) }
            }
            filled[r] = true
            filledCount += 1
        }
    }
}
