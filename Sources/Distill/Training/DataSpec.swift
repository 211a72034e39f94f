import DistillCore
import DistillData
import DistillNN
import Foundation

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

    /// Loads one split. A split is read and decoded once per process and then shared (tensors
    /// are copy-on-write): a sweep of many variants reads its files once.
    public func load(_ split: DatasetSplit) throws -> Dataset {
        let key = "\(description)|\(split)"
        DataSpec.lock.lock()
        defer { DataSpec.lock.unlock() }
        if let d = DataSpec.loaded[key] { return d }
        let d = try read(split)
        DataSpec.loaded[key] = d
        return d
    }

    nonisolated(unsafe) private static var loaded: [String: Dataset] = [:]
    private static let lock = NSLock()

    private func read(_ split: DatasetSplit) throws -> Dataset {
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
