import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// The arithmetic of data parallelism, without MPI: shards cover each global batch once, and the
/// gradient average weights each shard by its rows (the mpirun tests are DataParallelCLITests).
final class DataParallelTests: XCTestCase {
    /// A process of a simulated job whose all-reduce adds the other ranks' fixed contributions.
    final class FakeGroup: CollectiveGroup {
        let rank: Int, size: Int
        /// What the other ranks add to each successive all-reduce (none: zeros).
        var others: [[Float]] = []
        init(rank: Int, size: Int) { self.rank = rank; self.size = size }
        func allReduceSum(_ b: UnsafeMutableBufferPointer<Float>) throws {
            let add = others.isEmpty ? [] : others.removeFirst()
            for i in b.indices where i < add.count { b[i] += add[i] }
        }
        func allReduceSum(_ b: UnsafeMutableBufferPointer<Double>) throws {}
        func broadcast(_ b: UnsafeMutableBufferPointer<Float>) throws {}
        func barrier() throws {}
    }

    func testShardsCoverEveryRowOnceAndAreAsEvenAsPossible() {
        for size in 1...5 {
            for count in [1, 7, 98, 128] where count >= size {
                let shards = (0..<size).map { DataParallel(group: FakeGroup(rank: $0, size: size)).shard(count: count) }
                XCTAssertEqual(shards.flatMap { Array($0) }, Array(0..<count))
                XCTAssertLessThanOrEqual(shards.map(\.count).max()! - shards.map(\.count).min()!, 1)
            }
        }
        XCTAssertThrowsError(try DataParallel(group: FakeGroup(rank: 0, size: 3)).check(batchSize: 128)) { e in
            XCTAssertTrue("\(e)".contains("a multiple of the 3 processes"), "\(e)")
        }
    }

    func testGradientsAreWeightedByShardRowsAndPackedIntoBuckets() throws {
        // rank 0 holds 3 of 4 rows with gradient g0; rank 1's contribution (1 row, g1) arrives as its scaled part
        let p = Parameter(Tensor([0, 0, 0])), q = Parameter(Tensor([0, 0]))
        let loss = (p.value * Tensor([1, 2, 3])).sum() + (q.value * Tensor([4, 5])).sum()
        loss.backward()
        let g = FakeGroup(rank: 0, size: 2)
        g.others = [[2.5, 5, 7.5]]   // rank 1's 1/4 · [10, 20, 30] in the first bucket (p only: 3 floats); none in q's
        let dp = DataParallel(group: g, bucketFloats: 3)
        try dp.averageGradients([p, q], localRows: 3, globalRows: 4)
        let expectedP: [Float] = [3.25, 6.5, 9.75], expectedQ: [Float] = [3, 3.75]   // 0.75 · g0 + rank 1's part
        XCTAssertEqual(p.gradient?.scalars, expectedP)
        XCTAssertEqual(q.gradient?.scalars, expectedQ)
        XCTAssertEqual(dp.reductions, 2)
        XCTAssertEqual(dp.reducedBytes, 5 * 4)
    }
}
