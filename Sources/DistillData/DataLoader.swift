import DistillCore

/// One minibatch: images [B, C, H, W], labels [B], and the dataset rows they came from.
public struct Batch {
    public var images: Tensor
    public var labels: IntTensor
    /// Dataset row of each batch position.
    public var indices: [Int]
    /// Set by the mixup augmentation: how images were blended, so the loss can blend targets.
    public var mixing: Mixing?

    public init(images: Tensor, labels: IntTensor, indices: [Int], mixing: Mixing? = nil) {
        self.images = images; self.labels = labels; self.indices = indices; self.mixing = mixing
    }
}

/// Mixup's pairing (Zhang, Cisse, Dauphin & Lopez-Paz, "mixup: Beyond Empirical Risk
/// Minimization", ICLR 2018): image i became `lambda · x_i + (1 − lambda) · x_partner[i]`, so the
/// loss is `lambda · CE(y_i) + (1 − lambda) · CE(partnerLabels[i])`.
public struct Mixing: Equatable, Sendable {
    /// The blending weight, one per batch, λ ~ Beta(α, α).
    public var lambda: Float
    /// Batch position blended into each position.
    public var partners: [Int]
    /// `labels[partners[i]]` before mixing.
    public var partnerLabels: IntTensor
}

/// Seeded minibatches over a dataset.
///
/// Epoch `e` with seed `s` always visits rows in the same order, and the augmentation of batch
/// `b` of that epoch always draws the same random numbers, whatever ran before: resumed training
/// (`batches(epoch:startingAt:)`) reproduces an uninterrupted run exactly.
public struct DataLoader: Sendable {
    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    /// Drop a final batch smaller than `batchSize`.
    public let dropLast: Bool
    public let augmentation: Augmentation?

    /// Throws when `batchSize` < 1 or the augmentation does not fit the dataset's image shape.
    public init(dataset: Dataset, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0,
                dropLast: Bool = false, augmentation: Augmentation? = nil) throws {
        guard batchSize >= 1 else { throw DataError.invalidArgument("DataLoader: batch size must be at least 1, got \(batchSize)") }
        let pixels = Shape.count(dataset.imageShape)
        let (bytes, o) = (min(batchSize, max(dataset.count, 1)) * 4).multipliedReportingOverflow(by: pixels)
        guard !o, bytes <= Limits.maxBatchBytes else {
            throw DataError.invalidArgument("a batch of \(min(batchSize, dataset.count)) images of \(Shape.describe(dataset.imageShape)) needs \(o ? "more than Int counts" : Limits.describe(bytes: bytes)), more than the \(Limits.describe(bytes: Limits.maxBatchBytes)) a batch may take on this machine; lower the batch size")
        }
        if let a = augmentation, case let out = try a.validate(imageShape: dataset.imageShape), out != dataset.imageShape {
            // the model is built for the data's images and evaluated on them uncropped
            throw DataError.invalidArgument("augmentation \(a): gives images of \(Shape.describe(out)) from \(Shape.describe(dataset.imageShape)); the model is built for and tested on \(Shape.describe(dataset.imageShape)), so a crop must keep that size")
        }
        self.dataset = dataset; self.batchSize = batchSize; self.shuffle = shuffle; self.seed = seed
        self.dropLast = dropLast; self.augmentation = augmentation
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The row order of `epoch`: a permutation from `SeededGenerator(seed: mix(seed, epoch))`,
    /// or 0 ..< N without shuffling.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        var g = SeededGenerator(seed: mixSeed(seed, UInt64(bitPattern: Int64(epoch)), 0x6f72_6465_72))
        return g.permutation(dataset.count)
    }

    /// Iterates the batches of `epoch`, starting at batch `start` (to resume mid-epoch).
    public func batches(epoch: Int, startingAt start: Int = 0) -> BatchIterator {
        BatchIterator(loader: self, epoch: epoch, order: order(epoch: epoch), next: start)
    }

    /// Batch `index` of `epoch` for the given rows: gathered, then augmented with a generator
    /// seeded from (seed, epoch, index).
    public func makeBatch(rows: [Int], epoch: Int, index: Int) -> Batch {
        var b = Batch(images: gather(rows), labels: IntTensor(rows.map { dataset.labels.scalars[$0] }), indices: rows)
        if let a = augmentation {
            var g = SeededGenerator(seed: mixSeed(seed, UInt64(bitPattern: Int64(epoch)), UInt64(index) &+ 0x6175_6700_0000))
            a.apply(to: &b, using: &g)
        }
        return b
    }

    /// Copies rows into a fresh [B, C, H, W] tensor, one memcpy per image.
    func gather(_ rows: [Int]) -> Tensor {
        let per = Shape.count(dataset.imageShape)
        let src = dataset.images.storage.pointer
        return Tensor.make([rows.count] + dataset.imageShape) { o in
            rows.withUnsafeBufferPointer { r in
                for k in 0..<r.count { (o + k * per).update(from: src + r[k] * per, count: per) }
            }
        }
    }
}

/// Iterator over one epoch's batches of a `DataLoader`.
public struct BatchIterator: IteratorProtocol, Sequence {
    let loader: DataLoader
    /// The epoch being iterated.
    public let epoch: Int
    let order: [Int]
    /// Index of the batch `next()` returns.
    public private(set) var position: Int

    init(loader: DataLoader, epoch: Int, order: [Int], next: Int) {
        self.loader = loader; self.epoch = epoch; self.order = order; self.position = next
    }

    public mutating func next() -> Batch? {
        guard position < loader.batchesPerEpoch else { return nil }
        let lo = position * loader.batchSize, hi = Swift.min(lo + loader.batchSize, order.count)
        defer { position += 1 }
        return loader.makeBatch(rows: Array(order[lo..<hi]), epoch: epoch, index: position)
    }
}

/// Combines words into one seed (SplitMix64 finaliser over a running sum), so nearby
/// (seed, epoch, batch) triples give unrelated streams.
func mixSeed(_ words: UInt64...) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for w in words {
        h = (h ^ w) &+ 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
    }
    return h
}
