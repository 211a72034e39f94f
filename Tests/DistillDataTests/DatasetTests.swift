import Foundation
import XCTest
import DistillCore
@testable import DistillData

/// A tiny dataset: image i is filled with the value i, label i % classes.
func toyDataset(count: Int = 10, classes: Int = 5, shape: [Int] = [1, 2, 2]) -> Dataset {
    let per = Shape.count(shape)
    let images = Tensor(shape: [count] + shape, scalars: (0..<count).flatMap { i in [Float](repeating: Float(i), count: per) })
    return Dataset(name: "toy", images: images, labels: IntTensor((0..<count).map { $0 % classes }), classCount: classes)
}

final class DatasetTests: TempDirTestCase {
    func testFashionMNISTRealFiles() throws {
        let d = Dataset.defaultFashionMNISTDirectory
        guard FileManager.default.fileExists(atPath: d + "/train-images-idx3-ubyte.gz") else { throw XCTSkip("no Fashion-MNIST at \(d)") }
        let start = Date()
        let train = try Dataset.fashionMNIST(split: .train)
        let seconds = Date().timeIntervalSince(start)
        print("Fashion-MNIST train: decoded 60000 images in \(String(format: "%.3f", seconds)) s")
        XCTAssertEqual(train.images.shape, [60000, 1, 28, 28])
        XCTAssertEqual(train.count, 60000)
        XCTAssertEqual(train.classCount, 10)
        XCTAssertEqual(train.classCounts, [Int](repeating: 6000, count: 10))
        // Golden values read with Python's gzip: first labels, and the first image's pixel sum.
        let golden = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4]
        XCTAssertEqual(Array(train.labels.scalars.prefix(20)), golden)
        let firstSum = train.images.scalars.prefix(784).reduce(0, +) * 255
        XCTAssertEqual(firstSum, 76247, accuracy: 0.5)
        XCTAssertEqual(train.images[0, 0, 14, 12], 237 / 255)
        let fromPython = try? runPython("import gzip,sys; print(list(gzip.open(sys.argv[1]).read()[8:28]))", [d + "/train-labels-idx1-ubyte.gz"])
        if let py = fromPython { XCTAssertEqual(py, "\(golden)") }

        let test = try Dataset.fashionMNIST(directory: d, split: .test)
        XCTAssertEqual(test.images.shape, [10000, 1, 28, 28])
        XCTAssertEqual(Array(test.labels.scalars.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    }

    func testMNISTAndKMNISTLoadersOnGeneratedFiles() throws {
        // MNIST-style names without .gz but gzip content, and KMNIST-style .gz names with raw content:
        // the magic bytes decide, not the name.
        let raw = idxHeader(type: 8, dims: [3, 2, 2]) + pattern(12)
        try Data(Zlib.gzip(raw)).write(to: URL(fileURLWithPath: path("t10k-images-idx3-ubyte")))
        try Data(idxHeader(type: 8, dims: [3]) + [2, 9, 0]).write(to: URL(fileURLWithPath: path("t10k-labels-idx1-ubyte.gz")))
        let mnist = try Dataset.mnist(directory: dir, split: .test)
        XCTAssertEqual(mnist.name, "mnist-test")
        XCTAssertEqual(mnist.images.shape, [3, 1, 2, 2])
        XCTAssertEqual(mnist.labels.scalars, [2, 9, 0])
        XCTAssertEqual(try Dataset.kmnist(directory: dir, split: .test).images.scalars, mnist.images.scalars)
        assertDataError([path("train-images-idx3-ubyte.gz"), "no such file"]) { _ = try Dataset.mnist(directory: dir, split: .train) }
    }

    func testLoaderRejectsMismatchedCountsAndLabels() throws {
        try Data(idxHeader(type: 8, dims: [2, 1, 1]) + [1, 2]).write(to: URL(fileURLWithPath: path("train-images-idx3-ubyte")))
        try Data(idxHeader(type: 8, dims: [3]) + [1, 2, 3]).write(to: URL(fileURLWithPath: path("train-labels-idx1-ubyte")))
        assertDataError(["train-labels-idx1-ubyte", "3 labels but", "2 images"]) { _ = try Dataset.mnist(directory: dir, split: .train) }
        try Data(idxHeader(type: 8, dims: [2]) + [1, 12]).write(to: URL(fileURLWithPath: path("train-labels-idx1-ubyte")))
        assertDataError(["label 1", "12 is outside 0..<10"]) { _ = try Dataset.mnist(directory: dir, split: .train) }
    }

    func testSubsets() throws {
        let d = toyDataset()
        let kept = d.keeping(classes: [1, 3])
        XCTAssertEqual(kept.labels.scalars, [1, 3, 1, 3])
        XCTAssertEqual(kept.images[2, 0, 1, 1], 6)
        XCTAssertEqual(kept.classCount, 5)
        let dropped = d.dropping(classes: [0])
        XCTAssertEqual(dropped.count, 8)
        XCTAssertFalse(dropped.labels.scalars.contains(0))
        XCTAssertEqual(d.first(3).labels.scalars, [0, 1, 2])
        XCTAssertEqual(d.first(99).count, 10)
        XCTAssertEqual(d.classCounts, [2, 2, 2, 2, 2])

        let (train, validation) = try d.split(heldOut: 3, seed: 42)
        XCTAssertEqual(train.count, 7)
        XCTAssertEqual(validation.count, 3)
        let rows = (train.images.scalars + validation.images.scalars).enumerated().filter { $0.offset % 4 == 0 }.map { Int($0.element) }
        XCTAssertEqual(Set(rows), Set(0..<10), "the halves are disjoint and cover the dataset")
        XCTAssertEqual(try d.split(heldOut: 3, seed: 42).validation.labels, validation.labels)
        XCTAssertNotEqual(try d.split(heldOut: 3, seed: 43).validation.images.scalars, validation.images.scalars)
        XCTAssertThrowsError(try d.split(heldOut: 11, seed: 0))

        let u = d.unlabelled
        XCTAssertFalse(u.isLabelled)
        XCTAssertTrue(d.isLabelled)
        XCTAssertEqual(u.labels.scalars, [Int](repeating: Dataset.unlabelledMarker, count: 10))
        XCTAssertEqual(u.images.scalars, d.images.scalars)
    }
}
