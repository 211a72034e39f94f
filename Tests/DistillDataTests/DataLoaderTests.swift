import Foundation
import XCTest
import DistillCore
@testable import DistillData

final class DataLoaderTests: XCTestCase {
    func testSeededShufflingIsDeterministicPerEpoch() throws {
        let d = toyDataset(count: 23)
        let a = try DataLoader(dataset: d, batchSize: 5, seed: 7)
        let b = try DataLoader(dataset: d, batchSize: 5, seed: 7)
        XCTAssertEqual(a.order(epoch: 3), b.order(epoch: 3))
        XCTAssertNotEqual(a.order(epoch: 3), a.order(epoch: 4))
        XCTAssertNotEqual(a.order(epoch: 3), try DataLoader(dataset: d, batchSize: 5, seed: 8).order(epoch: 3))
        XCTAssertEqual(a.order(epoch: 3).sorted(), Array(0..<23))
        XCTAssertEqual(try DataLoader(dataset: d, batchSize: 5, shuffle: false).order(epoch: 9), Array(0..<23))

        let batches = Array(a.batches(epoch: 3))
        XCTAssertEqual(batches.map { $0.images.shape[0] }, [5, 5, 5, 5, 3])
        XCTAssertEqual(batches.flatMap(\.indices), a.order(epoch: 3))
        for batch in batches {
            XCTAssertEqual(batch.labels.scalars, batch.indices.map { $0 % 5 })
            for (k, i) in batch.indices.enumerated() { XCTAssertEqual(batch.images[k, 0, 1, 0], Float(i)) }
        }
        let dropLast = try DataLoader(dataset: d, batchSize: 5, seed: 7, dropLast: true)
        XCTAssertEqual(dropLast.batchesPerEpoch, 4)
        XCTAssertEqual(Array(dropLast.batches(epoch: 0)).count, 4)
        XCTAssertThrowsError(try DataLoader(dataset: d, batchSize: 0))
    }

    func testResumingMidEpochReproducesAugmentedBatches() throws {
        let d = toyDataset(count: 12, shape: [1, 4, 4])
        let loader = try DataLoader(dataset: d, batchSize: 4, seed: 3, augmentation: try .parse("jitter:1,flip,mixup:0.4"))
        let full = Array(loader.batches(epoch: 2))
        let resumed = Array(loader.batches(epoch: 2, startingAt: 1))
        XCTAssertEqual(resumed.count, 2)
        for (x, y) in zip(full.dropFirst(), resumed) {
            XCTAssertEqual(x.indices, y.indices)
            XCTAssertEqual(x.images.scalars, y.images.scalars)
            XCTAssertEqual(x.mixing, y.mixing)
        }
    }

    func testAugmentationMustFitImages() throws {
        let d = toyDataset()
        XCTAssertThrowsError(try DataLoader(dataset: d, batchSize: 2, augmentation: .parse("normalize:cifar10"))) { e in
            XCTAssertTrue("\(e)".contains("3 means"), "\(e)")
        }
        XCTAssertThrowsError(try DataLoader(dataset: d, batchSize: 2, augmentation: .randomCrop(padding: 1, size: 5)))
    }

    /// Batch assembly must be memcpy speed: 128 Fashion-MNIST-sized images in microseconds.
    func testBatchCopySpeed() throws {
        let n = 2048
        let d = Dataset(name: "speed", images: Tensor.zeros([n, 1, 28, 28]), labels: IntTensor([Int](repeating: 0, count: n)), classCount: 10)
        let loader = try DataLoader(dataset: d, batchSize: 128, seed: 1)
        let order = loader.order(epoch: 0)
        var best = Double.infinity
        for trial in 0..<20 {
            let rows = Array(order[(trial % 16) * 128 ..< (trial % 16 + 1) * 128])
            let t0 = DispatchTime.now().uptimeNanoseconds
            let b = loader.makeBatch(rows: rows, epoch: 0, index: trial)
            let t1 = DispatchTime.now().uptimeNanoseconds
            XCTAssertEqual(b.images.shape, [128, 1, 28, 28])
            best = min(best, Double(t1 - t0) / 1000)
        }
        print("DataLoader: batch of 128×1×28×28 assembled in \(String(format: "%.1f", best)) µs (best of 20)")
        XCTAssertLessThan(best, 2000, "batch assembly took \(best) µs")
    }
}
