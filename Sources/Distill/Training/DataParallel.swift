import DistillCore
import DistillData
import DistillNN

/// The collective operations data-parallel training needs, over every process of a job
/// (`DistillDistributed.MPIGroup` implements them on Open MPI). The loop knows only this.
public protocol CollectiveGroup: AnyObject {
    /// This process's index, 0 ..< `size`; rank 0 writes every file.
    var rank: Int { get }
    var size: Int { get }
    /// Sums `buffer` element-wise over every process, in place (every process gets the sum).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Sums doubles over every process, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Copies rank 0's `buffer` into every process's.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Returns when every process has called it (what rank 0 wrote is then there for all).
    func barrier() throws
}

/// Data-parallel training in the manner of Horovod and DistributedDataParallel: every process
/// holds the whole model, trains on its shard of each global batch (the global batch size and
/// learning rate are one process's, so results depend on the process count only through float
/// rounding), and the gradients are averaged by all-reduce in fused buckets after backward.
///
/// Each process's loss is the mean over its shard of `n_r` rows; the global mean's gradient is
/// Σ_r (n_r / n) g_r, so each process scales its gradients by n_r / n before the summing
/// all-reduce — exact for shards of any size, the short last batch of an epoch included.
public final class DataParallel {
    public let group: CollectiveGroup
    /// Gradients are packed into buckets of at most this many floats (16 MiB), one all-reduce each.
    public let bucketFloats: Int
    /// Bytes all-reduced so far (gradients only), for the benchmark.
    public private(set) var reducedBytes = 0
    public private(set) var reductions = 0

    public init(group: CollectiveGroup, bucketFloats: Int = 4 << 20) {
        self.group = group
        self.bucketFloats = max(bucketFloats, 1)
    }

    public var rank: Int { group.rank }
    public var size: Int { group.size }
    public var isWriter: Bool { group.rank == 0 }

    /// Waits for every process (after rank 0's writes, before anyone reads them).
    public func barrier() throws { try group.barrier() }

    /// Throws unless the global batch can be split over the processes.
    public func check(batchSize: Int) throws {
        guard batchSize % size == 0 else {
            throw TrainingError.badValue(field: "batch-size", value: "\(batchSize)", expected: "a multiple of the \(size) processes of the job (each trains on an equal shard of every global batch)")
        }
    }

    /// The rows of a global batch of `count` rows this process trains on: contiguous, as even
    /// as possible (the first `count % size` processes take one more).
    public func shard(count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// This process's shard of `batch` (mixup's partners are re-indexed within the shard when
    /// they fall inside it; mixup under data parallelism pairs rows within each shard).
    public func shard(_ batch: Batch) -> Batch {
        let r = shard(count: batch.labels.count)
        guard r.count != batch.labels.count else { return batch }
        let per = Shape.count(Array(batch.images.shape.dropFirst()))
        let images = batch.images.withUnsafeBufferPointer { src in
            Tensor.make([r.count] + Array(batch.images.shape.dropFirst())) { o in
                o.update(from: src.baseAddress! + r.lowerBound * per, count: r.count * per)
            }
        }
        var mixing = batch.mixing
        if var m = mixing {   // images were blended over the global batch; each row keeps its partner's label
            m.partners = m.partners[r].enumerated().map { r.contains($0.element) ? $0.element - r.lowerBound : $0.offset }
            m.partnerLabels = IntTensor(Array(m.partnerLabels.scalars[r]))
            mixing = m
        }
        return Batch(images: images, labels: IntTensor(Array(batch.labels.scalars[r])), indices: Array(batch.indices[r]), mixing: mixing)
    }

    /// Makes every process's parameters and buffers rank 0's (at the start, so all begin alike).
    public func broadcast(_ modules: [Module]) throws {
        for m in modules {
            for (_, p) in m.namedParameters() {
                var v = p.value
                try v.withUnsafeMutableBufferPointer { try group.broadcast($0) }
                p.value = v
            }
            for (_, b) in m.namedBuffers() {
                var v = b.value
                try v.withUnsafeMutableBufferPointer { try group.broadcast($0) }
                b.value = v
            }
        }
    }

    /// Averages the gradients of `parameters` over the processes: scaled by `localRows / globalRows`,
    /// packed into buckets, summed by one all-reduce per bucket, unpacked.
    public func averageGradients(_ parameters: [Parameter], localRows: Int, globalRows: Int) throws {
        let scale = Float(localRows) / Float(max(globalRows, 1))
        // every process sees the same parameters in the same order; a missing gradient is zeros
        var start = 0
        while start < parameters.count {
            var end = start, floats = 0
            while end < parameters.count && (end == start || floats + parameters[end].count <= bucketFloats) {
                floats += parameters[end].count; end += 1
            }
            var bucket = [Float](repeating: 0, count: floats)
            var at = 0
            for p in parameters[start..<end] {
                if let g = p.gradient {
                    g.withUnsafeBufferPointer { src in for i in 0..<src.count { bucket[at + i] = src[i] * scale } }
                }
                at += p.count
            }
            try bucket.withUnsafeMutableBufferPointer { try group.allReduceSum($0) }
            at = 0
            for p in parameters[start..<end] {
                let n = p.count
                p.setGradient(Tensor(shape: p.shape, scalars: Array(bucket[at..<(at + n)])))
                at += n
            }
            reducedBytes += floats * 4
            reductions += 1
            start = end
        }
    }
}
