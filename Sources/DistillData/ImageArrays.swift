import DistillCore

/// The order of one image's samples in a NumPy array or a CSV row.
public enum PixelLayout: String, Sendable, CaseIterable {
    /// Channels, then rows, then columns: PyTorch's order (and the CIFAR binary files').
    case nchw
    /// Rows, then columns, then channels: Keras', PIL's and the image files' order.
    case nhwc
}

/// What the array and CSV loaders share: turning rows of samples into the [N, C, H, W] Float32
/// images in [0, 1] that `Dataset` holds, checking labels, and counting classes.
enum ImageArrays {
    /// Images from `raw` ([N, H, W], or [N, C, H, W] / [N, H, W, C] by `layout`, or by the shape
    /// when `layout` is nil: NHWC when the last dimension is 1, 3 or 4 and the second is not,
    /// NCHW in the opposite case, and an error asking for the layout otherwise).
    /// `integers`: the samples are 8-bit pixels (0…255, divided by 255); otherwise they must
    /// already lie in [0, 1].
    static func images(_ raw: Tensor, integers: Bool, layout: PixelLayout?, path: String) throws -> Tensor {
        let s = raw.shape
        let nchw: [Int]
        var resolved = layout ?? .nchw
        switch s.count {
        case 3:
            nchw = [s[0], 1, s[1], s[2]]
        case 4:
            let small: Set<Int> = [1, 3, 4]
            if layout == nil {
                switch (small.contains(s[1]), small.contains(s[3])) {
                case (true, false): resolved = .nchw
                case (false, true): resolved = .nhwc
                default:
                    throw DataError.malformed(path: path, field: "shape", detail: "\(Shape.describe(s)) could be [N, C, H, W] or [N, H, W, C]; say which with ,layout=nchw or ,layout=nhwc")
                }
            }
            nchw = resolved == .nchw ? s : [s[0], s[3], s[1], s[2]]
        default:
            throw DataError.malformed(path: path, field: "shape", detail: "\(Shape.describe(s)) is not images [N, H, W], [N, C, H, W] or [N, H, W, C]")
        }
        let pixels = Shape.count(Array(nchw.dropFirst()))
        guard pixels >= 1, pixels <= Limits.maxImagePixels else {
            throw DataError.malformed(path: path, field: "shape", detail: "images of \(Shape.describe(Array(nchw.dropFirst()))) are empty or hold more than the \(Limits.maxImagePixels) pixels an image may have")
        }
        try checkBytes(count: nchw[0], imageShape: Array(nchw.dropFirst()), path: path)
        try checkRange(raw, integers: integers, path: path)
        var scaled = raw
        if integers { scaled.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] /= 255 } } }
        return resolved == .nhwc && s.count == 4 ? toNCHW(scaled, n: nchw[0], c: nchw[1], h: nchw[2], w: nchw[3]) : Tensor(storage: scaled.storage, shape: nchw)
    }

    /// Throws naming the first sample outside 0…255 (integers) or [0, 1] (floats, NaN included).
    static func checkRange(_ t: Tensor, integers: Bool, path: String) throws {
        let hi: Float = integers ? 255 : 1
        let bad: Int? = t.withUnsafeBufferPointer { p in p.firstIndex { !($0 >= 0 && $0 <= hi) } }
        guard let i = bad else { return }
        let v = t.withUnsafeBufferPointer { $0[i] }
        throw DataError.malformed(path: path, field: "element \(i)", detail: integers
            ? "\(Int(exactly: v).map(String.init) ?? "\(v)") is outside 0…255 (integer images hold 8-bit pixels)"
            : "\(v) is outside [0, 1] (float images are taken as already divided by 255; save uint8 pixels, or normalise with --augment normalize:…)")
    }

    /// Throws unless `count` float32 images of `imageShape` fit `Limits.maxDatasetBytes`.
    static func checkBytes(count: Int, imageShape: [Int], path: String) throws {
        let (bytes, o) = count.multipliedReportingOverflow(by: Shape.count(imageShape) * 4)
        guard !o, bytes <= Limits.maxDatasetBytes else {
            throw DataError.invalidArgument("\(path): \(count) images of \(Shape.describe(imageShape)) need \(o ? "more than Int counts" : Limits.describe(bytes: bytes)) as float32, more than the \(Limits.describe(bytes: Limits.maxDatasetBytes)) a data split may take on this machine (half its memory)")
        }
    }

    /// [N, H, W, C] samples reordered to [N, C, H, W].
    static func toNCHW(_ t: Tensor, n: Int, c: Int, h: Int, w: Int) -> Tensor {
        let plane = h * w, per = c * plane
        return t.withUnsafeBufferPointer { src in
            Tensor.make([n, c, h, w]) { o in
                for i in 0..<n { for p in 0..<plane { for k in 0..<c { o[i * per + k * plane + p] = src[i * per + p * c + k] } } }
            }
        }
    }

    /// Labels of `count` examples from an integer array [N] or [N, 1], each in 0 ..< `Limits.maxDimension`.
    static func labels(_ a: NumPyArray, count: Int, path: String) throws -> [Int] {
        guard !a.dtype.isFloat else {
            throw DataError.unsupportedDType(path: path, dtype: "\(a.dtype.rawValue) for labels (save integer labels: .astype(np.int64))")
        }
        guard a.shape == [count] || a.shape == [count, 1] else {
            throw DataError.malformed(path: path, field: "shape", detail: "labels of \(Shape.describe(a.shape)) for \(count) images (expected [\(count)] or [\(count), 1])")
        }
        let values: [Int]
        switch a.values {
        case .int(let t): values = t.scalars
        case .float(let t): values = t.scalars.map { Int(exactly: $0) ?? -1 }
        }
        for (i, l) in values.enumerated() { try checkLabel(l, path: path, field: "label \(i)") }
        return values
    }

    /// Throws unless `l` is a class index in 0 ..< `Limits.maxDimension`.
    static func checkLabel(_ l: Int, path: String, field: String) throws {
        guard l >= 0 && l < Limits.maxDimension else {
            throw DataError.malformed(path: path, field: field, detail: "\(l) is not a class index in 0…\(Limits.maxDimension - 1)")
        }
    }

    /// The two splits as data sets whose class count is one more than the largest label of either.
    static func pair(name: String, train: (Tensor, [Int]), test: (Tensor, [Int])) -> (train: Dataset, test: Dataset) {
        let classes = (train.1 + test.1).max().map { $0 + 1 } ?? 1
        return (Dataset(name: "\(name)-train", images: train.0, labels: IntTensor(train.1), classCount: classes),
                Dataset(name: "\(name)-test", images: test.0, labels: IntTensor(test.1), classCount: classes))
    }
}

/// The member (or file) names of the arrays of a data set, in the order train images, train
/// labels, test images, test labels: Keras's `mnist.npz` keys, or descriptive names.
let arrayNamings = [["x_train", "y_train", "x_test", "y_test"], ["train_images", "train_labels", "test_images", "test_labels"]]

extension Dataset {
    /// Images and labels from NumPy arrays: an `.npz` file with members `x_train, y_train,
    /// x_test, y_test` (Keras's `mnist.npz`) or `train_images, train_labels, test_images,
    /// test_labels`; or a folder holding those names as `.npy` files.
    ///
    /// Images: [N, H, W] (one channel), [N, C, H, W] or [N, H, W, C] (see `PixelLayout`; the shape
    /// decides when `layout` is nil and it is unambiguous). Integer images (uint8, or any integer
    /// dtype holding 0…255) are divided by 255; float32/float64 images are taken as already in
    /// [0, 1] (a value outside, or NaN, is an error naming its index). Labels: integers [N] (or
    /// [N, 1], as Keras's CIFAR arrays), class count one more than the largest label of both splits.
    public static func numpy(_ path: String, layout: PixelLayout? = nil) throws -> (train: Dataset, test: Dataset) {
        var arrays: [NumPyArray] = [], where_: [String] = []
        if FileIO.isDirectory(path) {
            guard let names = arrayNamings.first(where: { FileIO.exists(FileIO.join(path, $0[0] + ".npy")) }) else {
                throw DataError.missingFile(path: FileIO.join(path, "train_images.npy") + " (or x_train.npy: a folder of arrays holds \(arrayNamings.map { $0.map { $0 + ".npy" }.joined(separator: ", ") }.joined(separator: " or ")))")
            }
            for (k, n) in names.enumerated() {
                let p = FileIO.join(path, n + ".npy"), b = try FileIO.read(p)
                arrays.append(try NumPy.decode(b, start: 0, end: b.count, path: p, integersAsFloats: k % 2 == 0))
                where_.append(p)
            }
        } else {
            let all = try NumPy.archive(from: try FileIO.read(path), path: path, integersAsFloats: true)
            guard let names = arrayNamings.first(where: { $0.allSatisfy { all[$0] != nil } }) else {
                throw DataError.malformed(path: path, field: "arrays", detail: "holds \(all.keys.sorted().joined(separator: ", ")); expected \(arrayNamings.map { $0.joined(separator: ", ") }.joined(separator: " or "))")
            }
            arrays = names.compactMap { all[$0] }
            where_ = names.map { "\(path)[\($0)]" }
        }
        func split(_ k: Int) throws -> (Tensor, [Int]) {
            let images = try ImageArrays.images(arrays[k].tensor, integers: !arrays[k].dtype.isFloat, layout: layout, path: where_[k])
            return (images, try ImageArrays.labels(arrays[k + 1], count: images.shape[0], path: where_[k + 1]))
        }
        let name = FileIO.baseName(path).split(separator: ".").first.map(String.init) ?? "arrays"
        return ImageArrays.pair(name: name, train: try split(0), test: try split(2))
    }
}
