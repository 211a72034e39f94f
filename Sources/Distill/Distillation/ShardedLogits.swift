import DistillCore
import DistillData

/// A teacher's logits over a whole data set, computed once — by one process, or sharded over the
/// processes of an `mpirun` job and gathered by global example index.
///
/// The batches are those one process would use (`batchSize` rows in data-set order); process r
/// computes batches r, r + N, r + 2N, … into a zero table, and one summing all-reduce gathers
/// them. Each row is computed in the same batch as by one process and added to zeros only, so
/// the table equals the single-process one exactly.
public enum ShardedLogits {
    public static func compute(_ teacher: Teacher, on dataset: Dataset, batchSize: Int = 500, parallel: DataParallel? = nil) throws -> Tensor {
        guard let parallel, parallel.size > 1 else { return try teacher.logits(on: dataset, batchSize: batchSize) }
        let n = dataset.count, c = teacher.classCount
        var table = Tensor.zeros([n, c])
        let batches = (n + batchSize - 1) / batchSize
        for b in stride(from: parallel.rank, to: batches, by: parallel.size) {
            let rows = Array((b * batchSize)..<min((b + 1) * batchSize, n))
            let part = try teacher.logits(on: dataset.subset(rows), batchSize: batchSize)
            ensure(part.shape == [rows.count, c], "ShardedLogits: the teacher gave \(Shape.describe(part.shape)) for \(rows.count) rows of \(c) classes")
            part.withUnsafeBufferPointer { src in
                table.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + rows[0] * c).update(from: src.baseAddress!, count: rows.count * c)
                }
            }
        }
        try table.withUnsafeMutableBufferPointer { try parallel.group.allReduceSum($0) }
        return table
    }
}
