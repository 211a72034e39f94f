import DistillCore
import DistillData
import DistillNN

/// A data set named on the command line or in an experiment file:
/// `fashion-mnist` (the Debian package's files), `fashion-mnist:DIR`, `mnist:DIR`, `kmnist:DIR`,
/// `cifar10:DIR`, `cifar100:DIR` (fine labels) or `cifar100-coarse:DIR`.
public struct DataSpec: Equatable, Sendable, CustomStringConvertible {
    public let family: String
    public let directory: String?

    public static let families = ["fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100", "cifar100-coarse"]

    public init(_ spec: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let fam = parts.first?.lowercased() ?? ""
        guard DataSpec.families.contains(fam) else {
            throw TrainingError.badValue(field: "data", value: spec, expected: "one of \(DataSpec.families.joined(separator: ", ")), optionally followed by :DIRECTORY")
        }
        family = fam
        directory = parts.count > 1 ? parts[1] : nil
        if directory == nil && fam != "fashion-mnist" {
            throw TrainingError.badValue(field: "data", value: spec, expected: "\(fam):DIRECTORY (the files cannot be downloaded here; give their folder)")
        }
    }

    public var description: String { directory.map { "\(family):\($0)" } ?? family }

    /// Loads one split.
    public func load(_ split: DatasetSplit) throws -> Dataset {
        switch family {
        case "fashion-mnist": return try Dataset.fashionMNIST(directory: directory ?? Dataset.defaultFashionMNISTDirectory, split: split)
        case "mnist": return try Dataset.mnist(directory: directory!, split: split)
        case "kmnist": return try Dataset.kmnist(directory: directory!, split: split)
        case "cifar10": return try Dataset.cifar10(directory: directory!, split: split)
        case "cifar100": return try Dataset.cifar100(directory: directory!, split: split, fine: true)
        default: return try Dataset.cifar100(directory: directory!, split: split, fine: false)
        }
    }

    /// The model input this data set implies.
    public static func modelInput(for d: Dataset) -> ModelInput {
        let s = d.imageShape
        return ModelInput(channels: s[0], height: s.count > 1 ? s[1] : 1, width: s.count > 2 ? s[2] : 1, classes: d.classCount)
    }
}
