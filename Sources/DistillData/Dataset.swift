import DistillCore

/// Which half of a dataset's official split to load.
public enum DatasetSplit: String, Sendable, CaseIterable {
    case train, test
}

/// An in-memory image classification dataset.
///
/// `images` is [N, C, H, W] Float32 in [0, 1] (pixel / 255); `labels` is [N] with values in
/// `0 ..< classCount`, or `Dataset.unlabelledMarker` (-1) for every row of an unlabelled transfer set
/// (see `unlabelled`). Subsets keep the original label values and `classCount`, so a model
/// trained on `dropping(classes: [3])` still has 10 outputs (Hinton et al. 2015, §3's omitted-digit
/// experiment).
public struct Dataset: Sendable {
    /// Label value marking a row without a label (transfer sets for distillation).
    public static let unlabelledMarker = -1
    /// Where Fashion-MNIST's four `.gz` IDX files live on the project machines.
    public static let defaultFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    public var name: String
    public var images: Tensor
    public var labels: IntTensor
    public var classCount: Int
    /// The name of each class (`classCount` of them), or nil where the format gives none. Model
    /// files record them, so a prediction can be printed as a name.
    public var classNames: [String]?

    public init(name: String, images: Tensor, labels: IntTensor, classCount: Int, classNames: [String]? = nil) {
        ensure(images.rank == 4 && labels.shape == [images.shape[0]],
                     "Dataset(\(name)): images \(Shape.describe(images.shape)) must be [N, C, H, W] and labels \(Shape.describe(labels.shape)) [N]")
        ensure(classNames == nil || classNames!.count == classCount,
               "Dataset(\(name)): \(classNames?.count ?? 0) class names for \(classCount) classes")
        self.name = name; self.images = images; self.labels = labels; self.classCount = classCount; self.classNames = classNames
    }

    /// Number of examples N.
    public var count: Int { images.shape[0] }
    /// [C, H, W].
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }
    /// True when no row carries the `unlabelled` marker.
    public var isLabelled: Bool { !labels.scalars.contains(Dataset.unlabelledMarker) }

    /// The same images with every label set to `Dataset.unlabelledMarker` (-1): a transfer set whose
    /// targets come from a teacher. Training code must not read its labels.
    public var unlabelled: Dataset {
        Dataset(name: name + "-unlabelled", images: images,
                labels: IntTensor(shape: labels.shape, scalars: [Int](repeating: Dataset.unlabelledMarker, count: count)),
                classCount: classCount, classNames: classNames)
    }

    /// Examples per class (unlabelled rows are not counted).
    public var classCounts: [Int] {
        var c = [Int](repeating: 0, count: classCount)
        for l in labels.scalars where l >= 0 && l < classCount { c[l] += 1 }
        return c
    }

    /// The rows at `indices`, in that order (rows copied with one memcpy each).
    public func subset(_ indices: [Int], name newName: String? = nil) -> Dataset {
        let per = Shape.count(imageShape), n = count
        let src = images.storage.pointer
        let imgs = Tensor.make([indices.count] + imageShape) { o in
            for (k, i) in indices.enumerated() {
                ensure(i >= 0 && i < n, "Dataset.subset: index \(i) out of range for \(n) examples of \(name)")
                (o + k * per).update(from: src + i * per, count: per)
            }
        }
        let ls = labels.scalars
        return Dataset(name: newName ?? name, images: imgs, labels: IntTensor(indices.map { ls[$0] }), classCount: classCount, classNames: classNames)
    }

    /// Only the examples whose label is in `classes` (labels keep their values).
    public func keeping(classes: some Sequence<Int>) -> Dataset {
        let keep = Set(classes)
        let idx = labels.scalars.indices.filter { keep.contains(labels.scalars[$0]) }
        return subset(idx, name: "\(name)-keep\(keep.sorted().map(String.init).joined(separator: "-"))")
    }

    /// All examples except those whose label is in `classes` (labels keep their values).
    public func dropping(classes: some Sequence<Int>) -> Dataset {
        let drop = Set(classes)
        let idx = labels.scalars.indices.filter { !drop.contains(labels.scalars[$0]) }
        return subset(idx, name: "\(name)-drop\(drop.sorted().map(String.init).joined(separator: "-"))")
    }

    /// The first `min(n, count)` examples.
    public func first(_ n: Int) -> Dataset {
        ensure(n >= 0, "Dataset.first: negative count \(n)")
        return subset(Array(0..<min(n, count)))
    }

    /// A seeded train/validation split: `heldOut` examples chosen by a permutation of
    /// `SeededGenerator(seed:)` go to validation; both halves keep the original row order.
    public func split(heldOut: Int, seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
        guard heldOut >= 0 && heldOut <= count else {
            throw DataError.invalidArgument("Dataset.split: cannot hold out \(heldOut) of the \(count) examples of \(name)")
        }
        var g = SeededGenerator(seed: seed)
        let p = g.permutation(count)
        let validation = p[..<heldOut].sorted(), train = p[heldOut...].sorted()
        return (subset(train, name: name + "-train"), subset(validation, name: name + "-validation"))
    }

    /// Throws unless this training set can be trained on and evaluated on `test`: at least one
    /// image, non-empty images, and the test images of the same shape and class count.
    public func checkTrainable(against test: Dataset?) throws {
        guard count >= 1 else { throw DataError.invalidArgument("the training set \(name) is empty (0 images): nothing to train on") }
        guard Shape.count(imageShape) >= 1 else {
            throw DataError.invalidArgument("the images of \(name) are \(Shape.describe(imageShape)): empty images cannot be trained on")
        }
        guard Shape.count(imageShape) <= Limits.maxImagePixels else {
            throw DataError.invalidArgument("the images of \(name) are \(Shape.describe(imageShape)), more than the \(Limits.maxImagePixels) pixels an image may have")
        }
        guard let test else { return }
        guard test.imageShape == imageShape else {
            throw DataError.invalidArgument("the training images of \(name) are \(Shape.describe(imageShape)) but the test images of \(test.name) are \(Shape.describe(test.imageShape)); both splits must have one shape")
        }
        guard test.classCount == classCount else {
            throw DataError.invalidArgument("\(name) has \(classCount) classes but \(test.name) has \(test.classCount)")
        }
    }

    /// Checks that labels lie in `0 ..< classCount` (or are the unlabelled marker).
    func validated(path: String) throws -> Dataset {
        for (i, l) in labels.scalars.enumerated() where (l < 0 || l >= classCount) && l != Dataset.unlabelledMarker {
            throw DataError.malformed(path: path, field: "label \(i)", detail: "\(l) is outside 0..<\(classCount)")
        }
        return self
    }
}

// MARK: - Loaders

extension Dataset {
    /// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60,000 train / 10,000 test 1×28×28 images,
    /// 10 classes, in MNIST's IDX format.
    public static func fashionMNIST(directory: String = defaultFashionMNISTDirectory, split: DatasetSplit) throws -> Dataset {
        try idxDataset(name: "fashion-mnist", directory: directory, split: split)
    }

    /// MNIST (LeCun et al., 1998): the same IDX layout and file names as Fashion-MNIST.
    public static func mnist(directory: String, split: DatasetSplit) throws -> Dataset {
        try idxDataset(name: "mnist", directory: directory, split: split)
    }

    /// Kuzushiji-MNIST (Clanuwat et al., 2018): the same IDX layout and file names as MNIST.
    public static func kmnist(directory: String, split: DatasetSplit) throws -> Dataset {
        try idxDataset(name: "kmnist", directory: directory, split: split)
    }

    /// Loads `{train,t10k}-{images-idx3,labels-idx1}-ubyte` (with or without `.gz`; the
    /// content, not the name, decides whether it is inflated).
    static func idxDataset(name: String, directory: String, split: DatasetSplit, classCount: Int = 10) throws -> Dataset {
        let names: [String]? = switch name {
        case "fashion-mnist": ClassNames.fashionMNIST
        case "mnist": (0..<10).map(String.init)
        case "kmnist": ClassNames.kmnist
        default: nil
        }
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = try locate(directory, ["\(prefix)-images-idx3-ubyte.gz", "\(prefix)-images-idx3-ubyte", "\(prefix)-images.idx3-ubyte"])
        let labelsPath = try locate(directory, ["\(prefix)-labels-idx1-ubyte.gz", "\(prefix)-labels-idx1-ubyte", "\(prefix)-labels.idx1-ubyte"])
        let images = try IDX.readImages(imagesPath)
        let labels = try IDX.readLabels(labelsPath)
        guard images.shape[0] == labels.count else {
            throw DataError.malformed(path: labelsPath, field: "label count", detail: "\(labels.count) labels but \(imagesPath) holds \(images.shape[0]) images")
        }
        return try Dataset(name: "\(name)-\(split.rawValue)", images: images, labels: labels, classCount: classCount, classNames: names).validated(path: labelsPath)
    }

    /// CIFAR-10 binary version: `data_batch_1.bin` … `data_batch_5.bin` (train) or
    /// `test_batch.bin`, in `directory` or its `cifar-10-batches-bin` subdirectory.
    public static func cifar10(directory: String, split: DatasetSplit) throws -> Dataset {
        let dir = subdirectory(directory, "cifar-10-batches-bin", marker: "test_batch.bin")
        let files = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        let r = try CIFAR.read(files.map { FileIO.join(dir, $0) }, labelBytes: 1, labelLimits: [10])
        return Dataset(name: "cifar10-\(split.rawValue)", images: r.images, labels: IntTensor(r.labels[0]), classCount: 10, classNames: ClassNames.cifar10)
    }

    /// CIFAR-100 binary version: `train.bin` / `test.bin` (records: coarse label, fine label,
    /// pixels), in `directory` or its `cifar-100-binary` subdirectory. `fine` picks the 100 fine
    /// classes (default) or the 20 coarse superclasses.
    public static func cifar100(directory: String, split: DatasetSplit, fine: Bool = true) throws -> Dataset {
        let dir = subdirectory(directory, "cifar-100-binary", marker: "test.bin")
        let r = try CIFAR.read([FileIO.join(dir, split == .train ? "train.bin" : "test.bin")], labelBytes: 2, labelLimits: [20, 100])
        return Dataset(name: "cifar100\(fine ? "" : "-coarse")-\(split.rawValue)", images: r.images,
                       labels: IntTensor(r.labels[fine ? 1 : 0]), classCount: fine ? 100 : 20)
    }

    static func locate(_ directory: String, _ names: [String]) throws -> String {
        for n in names where FileIO.exists(FileIO.join(directory, n)) { return FileIO.join(directory, n) }
        throw DataError.missingFile(path: FileIO.join(directory, names[0]) + " (also tried \(names.dropFirst().joined(separator: ", ")))")
    }

    static func subdirectory(_ directory: String, _ sub: String, marker: String) -> String {
        let nested = FileIO.join(directory, sub)
        return !FileIO.exists(FileIO.join(directory, marker)) && FileIO.isDirectory(nested) ? nested : directory
    }
}
