import DistillCore

/// Seeded corruption of training labels, the two noise models of Han et al. (“Co-teaching:
/// Robust training of deep neural networks with extremely noisy labels”, NeurIPS 2018, §4.1) and
/// of the code they published (`noisify_multiclass_symmetric`, `noisify_pairflip`):
///
/// - `symmetric`: a label is kept with probability 1 − ε and otherwise replaced by one of the
///   other C − 1 classes, uniformly: T[i][i] = 1 − ε, T[i][j] = ε / (C − 1) for j ≠ i;
/// - `pair` (pair flip): a label is kept with probability 1 − ε and otherwise becomes the next
///   class: T[i][i] = 1 − ε, T[i][(i + 1) mod C] = ε.
///
/// Each labelled row draws one uniform number (and, for symmetric noise, one class) from its own
/// stream of the seed, so the corruption of a row does not depend on the others. The first
/// `clean` rows keep their labels: the small trusted set of Li et al. (“Learning from Noisy
/// Labels with Distillation”, ICCV 2017). Unlabelled rows (−1) stay unlabelled.
public struct LabelNoise: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable { case symmetric, pair }

    public var kind: Kind
    /// ε, the probability that a label is corrupted, in [0, 1).
    public var rate: Double
    public var seed: UInt64
    /// Rows at the start of the set whose labels are kept (the clean subset).
    public var clean: Int

    public init(kind: Kind, rate: Double, seed: UInt64 = 0, clean: Int = 0) throws {
        guard rate >= 0, rate < 1 else {
            throw DataError.invalidArgument("label_noise.rate: expected a probability in [0, 1), got \(rate)")
        }
        guard clean >= 0 else {
            throw DataError.invalidArgument("label_noise.clean: expected a number of rows ≥ 0, got \(clean)")
        }
        self.kind = kind; self.rate = rate; self.seed = seed; self.clean = clean
    }

    public var description: String {
        "\(kind.rawValue) label noise at rate \(rate) (seed \(seed)\(clean > 0 ? ", first \(clean) rows clean" : ""))"
    }

    /// T[i][j] = P(noisy label j | true label i).
    public func transitionMatrix(classes c: Int) -> [[Double]] {
        (0..<c).map { i in
            (0..<c).map { j in
                if i == j { return c > 1 ? 1 - rate : 1 }
                switch kind {
                case .symmetric: return rate / Double(c - 1)
                case .pair: return j == (i + 1) % c ? rate : 0
                }
            }
        }
    }

    /// The noisy version of `labels` (values in 0..<classes, or −1).
    public func corrupt(_ labels: [Int], classes c: Int) -> [Int] {
        guard c > 1, rate > 0 else { return labels }
        return labels.enumerated().map { i, y in
            guard y >= 0, i >= clean else { return y }
            var g = SeededGenerator(seed: LabelNoise.rowSeed(seed, i))
            let u = Double(g.next() >> 11) * 0x1p-53
            guard u < rate else { return y }
            switch kind {
            case .symmetric:
                let k = g.nextInt(below: c - 1)   // one of the other classes, uniformly
                return k < y ? k : k + 1
            case .pair:
                return (y + 1) % c
            }
        }
    }

    static func rowSeed(_ seed: UInt64, _ row: Int) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(row + 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Dataset {
    /// The same images with labels corrupted by `noise`; `flipped` counts the labels changed.
    public func withLabelNoise(_ noise: LabelNoise) -> (dataset: Dataset, flipped: Int) {
        let old = labels.scalars
        let new = noise.corrupt(old, classes: classCount)
        let flipped = zip(old, new).filter { $0 != $1 }.count
        return (Dataset(name: "\(name) (\(noise))", images: images, labels: IntTensor(new), classCount: classCount, classNames: classNames), flipped)
    }
}
