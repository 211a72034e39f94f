import XCTest
import DistillCore
@testable import DistillData

final class CIFARTests: TempDirTestCase {
    func testCIFAR10TrainAndTest() throws {
        for k in 1...5 {
            try CIFAR.write(labels: [[UInt8(k), UInt8(k + 4)]], pixels: pattern(2 * 3072, seed: k), to: path("data_batch_\(k).bin"))
        }
        try CIFAR.write(labels: [[9]], pixels: pattern(3072, seed: 99), to: path("test_batch.bin"))
        let train = try Dataset.cifar10(directory: dir, split: .train)
        XCTAssertEqual(train.images.shape, [10, 3, 32, 32])
        XCTAssertEqual(train.labels.scalars, [1, 5, 2, 6, 3, 7, 4, 8, 5, 9])
        XCTAssertEqual(train.classCount, 10)
        // Record 3 is the second record of data_batch_2: channel-major bytes → [c, y, x].
        let bytes = pattern(2 * 3072, seed: 2)
        for (c, y, x) in [(0, 0, 0), (1, 5, 7), (2, 31, 31)] {
            XCTAssertEqual(train.images[3, c, y, x], Float(bytes[3072 + c * 1024 + y * 32 + x]) / 255)
        }
        let test = try Dataset.cifar10(directory: dir, split: .test)
        XCTAssertEqual(test.count, 1)
        XCTAssertEqual(test.labels.scalars, [9])
    }

    func testCIFAR100FineAndCoarseInSubdirectory() throws {
        let sub = path("cifar-100-binary")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try CIFAR.write(labels: [[19, 0, 4], [99, 3, 42]], pixels: pattern(3 * 3072), to: sub + "/test.bin")
        let fine = try Dataset.cifar100(directory: dir, split: .test)
        XCTAssertEqual(fine.labels.scalars, [99, 3, 42])
        XCTAssertEqual(fine.classCount, 100)
        let coarse = try Dataset.cifar100(directory: dir, split: .test, fine: false)
        XCTAssertEqual(coarse.labels.scalars, [19, 0, 4])
        XCTAssertEqual(coarse.classCount, 20)
        XCTAssertEqual(fine.images.scalars, coarse.images.scalars)
    }

    func testTruncatedRecordNamesFileAndIndex() throws {
        let p = try writeBytes(pattern(2 * 3073 + 100), "test_batch.bin")
        assertDataError([p, "record 2 is truncated", "100 of 3073 bytes"]) { _ = try Dataset.cifar10(directory: dir, split: .test) }
        let q = try writeBytes(pattern(3074 + 5), "test.bin")
        assertDataError([q, "record 1 is truncated"]) { _ = try Dataset.cifar100(directory: dir, split: .test) }
        let empty = try writeBytes([], "train.bin")
        assertDataError([empty, "no 3074-byte records"]) { _ = try Dataset.cifar100(directory: dir, split: .train) }
    }

    func testLabelOutOfRangeAndMissingFiles() throws {
        try CIFAR.write(labels: [[1, 10]], pixels: pattern(2 * 3072), to: path("test_batch.bin"))
        assertDataError([path("test_batch.bin"), "label byte 0 of record 1", "10 is not below 10"]) {
            _ = try Dataset.cifar10(directory: dir, split: .test)
        }
        assertDataError([path("data_batch_1.bin"), "no such file"]) { _ = try Dataset.cifar10(directory: dir, split: .train) }
    }
}
