import DistillCore
import DistillData
import DistillNN
import Foundation

/// A data set named on the command line or in an experiment file.
///
/// Built-in sets: `fashion-mnist` (the Debian package's files), `fashion-mnist:DIR`, `mnist:DIR`,
/// `kmnist:DIR`, `cifar10:DIR`, `cifar100:DIR` (fine labels) or `cifar100-coarse:DIR`.
/// Your own data (README, "Your own data"): `folder:DIR` (torchvision's `ImageFolder` layout,
/// `DIR/train/CLASS/*.png|jpg` and `DIR/test/CLASS/…`), `npz:FILE.npz` (`x_train, y_train,
/// x_test, y_test`), `npy:DIR` (`train_images.npy, train_labels.npy, test_images.npy,
/// test_labels.npy`), `csv:DIR` (`train.csv`, `test.csv`) or `csv:TRAIN.csv,TEST.csv`. Options
/// follow the path after commas: `,layout=nchw|nhwc` (npz, npy, csv) and `,shape=CxHxW` or
/// `,shape=HxW` (csv). Both splits of your own data are loaded together, so they share one label
/// mapping, class count and channel count.
public struct DataSpec: Equatable, Sendable, CustomStringConvertible {
    public let family: String
    /// The path after the colon (a folder, or the file of `npz:`; `TRAIN,TEST` for two CSV files).
    public let directory: String?
    /// `key=value` options after the path (your own data only).
    public let options: [String: String]

    public static let builtInFamilies = ["fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100", "cifar100-coarse"]
    /// Your own data, with the options each family takes.
    public static let ownFamilies: [String: [String]] = ["folder": [], "npz": ["layout"], "npy": ["layout"], "csv": ["shape", "layout"]]
    public static let families = builtInFamilies + ["folder", "npz", "npy", "csv"]
    static let forms = "fashion-mnist[:DIR], mnist:DIR, kmnist:DIR, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR, or your own data: folder:DIR, npz:FILE.npz, npy:DIR, csv:DIR or csv:TRAIN.csv,TEST.csv"

    /// The model input of a built-in set (shape and classes are fixed by its format); nil for
    /// your own data, whose shape is known only once read.
    public var knownInput: ModelInput? {
        switch family {
        case "fashion-mnist", "mnist", "kmnist": return .fashionMNIST
        case "cifar10": return .cifar10
        case "cifar100": return ModelInput(channels: 3, height: 32, width: 32, classes: 100)
        case "cifar100-coarse": return ModelInput(channels: 3, height: 32, width: 32, classes: 20)
        default: return nil
        }
    }

    public init(_ spec: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let fam = parts.first?.lowercased() ?? ""
        guard DataSpec.families.contains(fam) else {
            throw TrainingError.badValue(field: "data", value: spec, expected: "one of \(DataSpec.forms)")
        }
        family = fam
        guard let allowed = DataSpec.ownFamilies[fam] else {
            directory = parts.count > 1 ? parts[1] : nil
            options = [:]
            if directory == nil && fam != "fashion-mnist" {
                throw TrainingError.badValue(field: "data", value: spec, expected: "\(fam):DIRECTORY (the files cannot be downloaded here; give their folder)")
            }
            return
        }
        var pieces = (parts.count > 1 ? parts[1] : "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var opts: [String: String] = [:]
        while pieces.count > 1, let last = pieces.last, let eq = last.firstIndex(of: "=") {
            let key = String(last[..<eq]).lowercased(), value = String(last[last.index(after: eq)...])
            guard allowed.contains(key) else {
                throw TrainingError.badValue(field: "data", value: spec, expected: allowed.isEmpty ? "\(fam):PATH without options" : "options \(allowed.map { "\($0)=…" }.joined(separator: ", ")) after \(fam):PATH, not '\(key)'")
            }
            opts[key] = value
            pieces.removeLast()
        }
        let path = pieces.joined(separator: ",")
        guard !path.isEmpty else {
            throw TrainingError.badValue(field: "data", value: spec, expected: fam == "npz" ? "npz:FILE.npz" : fam == "csv" ? "csv:DIR or csv:TRAIN.csv,TEST.csv" : "\(fam):DIRECTORY")
        }
        if fam == "csv" && pieces.count > 2 {
            throw TrainingError.badValue(field: "data", value: spec, expected: "csv:DIR or csv:TRAIN.csv,TEST.csv (two files)")
        }
        directory = path
        options = opts
        _ = try layout()
        _ = try shape()
    }

    public var description: String {
        let opts = options.keys.sorted().map { ",\($0)=\(options[$0] ?? "")" }.joined()
        return directory.map { "\(family):\($0)\(opts)" } ?? family
    }

    /// The `layout=` option.
    func layout() throws -> PixelLayout? {
        guard let v = options["layout"] else { return nil }
        guard let l = PixelLayout(rawValue: v.lowercased()) else {
            throw TrainingError.badValue(field: "data", value: description, expected: "layout=nchw or layout=nhwc")
        }
        return l
    }

    /// The `shape=CxHxW` (or `HxW`) option.
    func shape() throws -> [Int]? {
        guard let v = options["shape"] else { return nil }
        let dims = v.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(dims.count), dims.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= Limits.maxDimension }) else {
            throw TrainingError.badValue(field: "data", value: description, expected: "shape=CxHxW or shape=HxW with dimensions in 1…\(Limits.maxDimension)")
        }
        return dims.compactMap { $0 }
    }

    /// Loads one split. A split is read and decoded once per process and then shared (tensors
    /// are copy-on-write): a sweep of many variants reads its files once. Your own data is read
    /// for both splits at once.
    public func load(_ split: DatasetSplit) throws -> Dataset {
        let key = "\(description)|\(split)"
        DataSpec.lock.lock()
        defer { DataSpec.lock.unlock() }
        if let d = DataSpec.loaded[key] { return d }
        if DataSpec.ownFamilies[family] != nil {
            let pair = try readOwn()
            DataSpec.loaded["\(description)|\(DatasetSplit.train)"] = pair.train
            DataSpec.loaded["\(description)|\(DatasetSplit.test)"] = pair.test
            return split == .train ? pair.train : pair.test
        }
        let d = try read(split)
        DataSpec.loaded[key] = d
        return d
    }

    nonisolated(unsafe) private static var loaded: [String: Dataset] = [:]
    private static let lock = NSLock()

    private func read(_ split: DatasetSplit) throws -> Dataset {
        let dir = directory ?? Dataset.defaultFashionMNISTDirectory
        switch family {
        case "fashion-mnist": return try Dataset.fashionMNIST(directory: dir, split: split)
        case "mnist": return try Dataset.mnist(directory: dir, split: split)
        case "kmnist": return try Dataset.kmnist(directory: dir, split: split)
        case "cifar10": return try Dataset.cifar10(directory: dir, split: split)
        case "cifar100": return try Dataset.cifar100(directory: dir, split: split, fine: true)
        default: return try Dataset.cifar100(directory: dir, split: split, fine: false)
        }
    }

    private func readOwn() throws -> (train: Dataset, test: Dataset) {
        let path = directory ?? ""
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        switch family {
        case "folder":
            return try Dataset.imageFolder(directory: path)
        case "npz":
            if exists && isDir.boolValue { throw DataError.invalidArgument("\(path): is a folder; npz: takes an .npz file (npy:DIR reads a folder of .npy files)") }
            return try Dataset.numpy(path, layout: try layout())
        case "npy":
            guard exists && isDir.boolValue else { throw DataError.invalidArgument("\(path): no such folder (npy:DIR reads train_images.npy, train_labels.npy, test_images.npy, test_labels.npy; npz:FILE reads an archive)") }
            return try Dataset.numpy(path, layout: try layout())
        default:
            let files = path.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if files.count == 2 { return try Dataset.csv(train: files[0], test: files[1], shape: try shape(), layout: try layout() ?? .nchw) }
            guard exists && isDir.boolValue else { throw DataError.invalidArgument("\(path): no such folder (csv:DIR reads DIR/train.csv and DIR/test.csv; csv:TRAIN.csv,TEST.csv names two files)") }
            return try Dataset.csv(directory: path, shape: try shape(), layout: try layout() ?? .nchw)
        }
    }

    /// The model input this data set implies.
    public static func modelInput(for d: Dataset) -> ModelInput {
        let s = d.imageShape
        return ModelInput(channels: s[0], height: s.count > 1 ? s[1] : 1, width: s.count > 2 ? s[2] : 1, classes: d.classCount)
    }
}
