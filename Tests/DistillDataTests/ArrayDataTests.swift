import Foundation
import XCTest
import DistillCore
@testable import DistillData

/// Data sets from NumPy arrays: `.npz` archives (Keras's `mnist.npz` keys) and folders of `.npy`.
final class ArrayDataTests: TempDirTestCase {
    func uint8(_ shape: [Int], seed: Int) -> NumPyArray {
        NumPyArray(IntTensor(shape: shape, scalars: (0..<Shape.count(shape)).map { ($0 * 37 + seed) % 256 }), dtype: .uint8)
    }

    func testKerasKeysInAnNPZ() throws {
        let p = path("mnist.npz")
        try NumPy.writeArchive([("x_train", uint8([3, 2, 4], seed: 1)), ("y_train", NumPyArray(IntTensor([0, 2, 1]), dtype: .uint8)),
                                ("x_test", uint8([2, 2, 4], seed: 5)), ("y_test", NumPyArray(IntTensor([4, 0])))], to: p)
        let (train, test) = try Dataset.numpy(p)
        XCTAssertEqual(train.images.shape, [3, 1, 2, 4])
        XCTAssertEqual(train.images.scalars, (0..<24).map { Float(($0 * 37 + 1) % 256) / 255 })
        XCTAssertEqual(train.labels.scalars, [0, 2, 1])
        XCTAssertEqual(test.labels.scalars, [4, 0])
        XCTAssertEqual(train.classCount, 5, "one more than the largest label of either split")
        XCTAssertEqual(test.classCount, 5)
        XCTAssertNil(train.classNames)
        XCTAssertEqual(train.name, "mnist-train")
        XCTAssertNoThrow(try train.checkTrainable(against: test))
    }

    func testFolderOfNPYWithNHWCFloatImagesAndColumnLabels() throws {
        // float32 [N, H, W, 3]: NHWC by the shape rule; labels [N, 1] as Keras's CIFAR arrays
        let hwc = Tensor(shape: [2, 2, 5, 3], scalars: (0..<60).map { Float($0) / 64 })
        try NumPy.write(NumPyArray(hwc), to: path("train_images.npy"))
        try NumPy.write(NumPyArray(IntTensor(shape: [2, 1], scalars: [1, 0])), to: path("train_labels.npy"))
        try NumPy.write(NumPyArray(hwc, dtype: .float64), to: path("test_images.npy"))
        try NumPy.write(NumPyArray(IntTensor([0, 1]), dtype: .int32), to: path("test_labels.npy"))
        let (train, test) = try Dataset.numpy(dir)
        XCTAssertEqual(train.images.shape, [2, 3, 2, 5])
        for n in 0..<2 { for c in 0..<3 { for y in 0..<2 { for x in 0..<5 {
            XCTAssertEqual(train.images[n, c, y, x], hwc[n, y, x, c])
        } } } }
        XCTAssertEqual(test.images.scalars, train.images.scalars)
        XCTAssertEqual(train.labels.scalars, [1, 0])
        XCTAssertEqual(train.classCount, 2)
    }

    func testLayoutRuleAndExplicitLayout() throws {
        func write(_ shape: [Int]) throws {
            try NumPy.writeArchive([("train_images", uint8(shape, seed: 2)), ("train_labels", NumPyArray(IntTensor([Int](repeating: 0, count: shape[0])))),
                                    ("test_images", uint8(shape, seed: 3)), ("test_labels", NumPyArray(IntTensor([Int](repeating: 1, count: shape[0]))))], to: path("a.npz"))
        }
        try write([2, 3, 6, 6])
        XCTAssertEqual(try Dataset.numpy(path("a.npz")).train.imageShape, [3, 6, 6], "NCHW: dim 1 is 3, the last is not 1, 3 or 4")
        try write([2, 3, 6, 3])
        assertDataError([path("a.npz[train_images]"), "[2, 3, 6, 3]", "layout=nchw or ,layout=nhwc"]) { _ = try Dataset.numpy(path("a.npz")) }
        XCTAssertEqual(try Dataset.numpy(path("a.npz"), layout: .nhwc).train.imageShape, [3, 3, 6])
        XCTAssertEqual(try Dataset.numpy(path("a.npz"), layout: .nchw).train.imageShape, [3, 6, 3])
        try write([2, 5, 6, 7])
        assertDataError(["[2, 5, 6, 7]", "layout="]) { _ = try Dataset.numpy(path("a.npz")) }
    }

    func testNumpyWrittenKerasArchive() throws {
        let script = """
        import sys, numpy as np
        rng = np.random.default_rng(0)
        np.savez_compressed(sys.argv[1] + '/k.npz', x_train=rng.integers(0, 256, (4, 3, 3), dtype=np.uint8), y_train=np.array([0, 1, 2, 1]),
                            x_test=np.arange(9, dtype=np.uint8).reshape(1, 3, 3), y_test=np.array([2]))
        print('ok')
        """
        XCTAssertEqual(try runPython(script, [dir]), "ok")
        let (train, test) = try Dataset.numpy(path("k.npz"))
        XCTAssertEqual(train.images.shape, [4, 1, 3, 3])
        XCTAssertEqual(test.images.scalars, (0..<9).map { Float($0) / 255 })
        XCTAssertEqual(train.classCount, 3)
    }

    func testBadArraysAreErrorsNamingTheArray() throws {
        let p = path("bad.npz")
        func archive(_ xTrain: NumPyArray, _ yTrain: NumPyArray) throws {
            try NumPy.writeArchive([("x_train", xTrain), ("y_train", yTrain), ("x_test", uint8([1, 2, 2], seed: 0)), ("y_test", NumPyArray(IntTensor([0])))], to: p)
        }
        try archive(uint8([2, 2, 2], seed: 0), NumPyArray(IntTensor([0, -1])))
        assertDataError(["\(p)[y_train]", "label 1", "-1 is not a class index"]) { _ = try Dataset.numpy(p) }
        try archive(uint8([2, 2, 2], seed: 0), NumPyArray(IntTensor([0, Limits.maxDimension])))
        assertDataError(["\(p)[y_train]", "label 1"]) { _ = try Dataset.numpy(p) }
        try archive(uint8([2, 2, 2], seed: 0), NumPyArray(Tensor([0, 1])))
        assertDataError(["\(p)[y_train]", "<f4", "integer labels"]) { _ = try Dataset.numpy(p) }
        try archive(uint8([2, 2, 2], seed: 0), NumPyArray(IntTensor([0, 1, 1])))
        assertDataError(["\(p)[y_train]", "[3]", "for 2 images"]) { _ = try Dataset.numpy(p) }
        try archive(NumPyArray(Tensor(shape: [1, 2, 2], scalars: [0, 0.5, 2, 1])), NumPyArray(IntTensor([0])))
        assertDataError(["\(p)[x_train]", "element 2", "outside [0, 1]"]) { _ = try Dataset.numpy(p) }
        try archive(NumPyArray(Tensor(shape: [1, 2, 2], scalars: [0, .nan, 1, 1])), NumPyArray(IntTensor([0])))
        assertDataError(["\(p)[x_train]", "element 1", "nan"]) { _ = try Dataset.numpy(p) }
        try archive(NumPyArray(IntTensor(shape: [1, 2, 2], scalars: [0, 256, 1, 1])), NumPyArray(IntTensor([0])))
        assertDataError(["\(p)[x_train]", "element 1", "256 is outside 0…255"]) { _ = try Dataset.numpy(p) }
        try archive(uint8([4], seed: 0), NumPyArray(IntTensor([0, 0, 0, 0])))
        assertDataError(["\(p)[x_train]", "[4]", "is not images"]) { _ = try Dataset.numpy(p) }

        try NumPy.writeArchive([("images", uint8([1, 2, 2], seed: 0)), ("labels", NumPyArray(IntTensor([0])))], to: p)
        assertDataError([p, "holds images, labels", "x_train, y_train, x_test, y_test"]) { _ = try Dataset.numpy(p) }
        assertDataError([path("train_images.npy"), "x_train.npy"]) { _ = try Dataset.numpy(dir) }
        try NumPy.write(uint8([1, 2, 2], seed: 0), to: path("train_images.npy"))
        assertDataError([path("train_labels.npy"), "no such file"]) { _ = try Dataset.numpy(dir) }
    }
}
