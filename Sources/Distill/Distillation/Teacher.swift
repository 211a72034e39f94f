import DistillCore
import DistillData
import DistillNN

/// A source of teacher predictions for distillation.
///
/// Teachers run in eval mode without gradients. `rows` are the data-set indices of the batch,
/// which precomputed and cached teachers use to look their logits up.
public protocol Teacher: AnyObject {
    var classCount: Int { get }
    /// The module feature taps attach to (nil when the teacher has no single network).
    var module: Module? { get }
    /// The networks behind the predictions (one, an ensemble's members, or none for a table of logits).
    var networks: [Module] { get }
    /// Teacher logits [B, classes] for a batch.
    func logits(images: Tensor, rows: [Int]) throws -> Tensor
}

extension Teacher {
    /// Logits [N, classes] over every example of `dataset`, in order, without augmentation.
    public func logits(on dataset: Dataset, batchSize: Int = 500) throws -> Tensor {
        let loader = try DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false)
        var parts: [Tensor] = []
        for b in loader.batches(epoch: 0) { parts.append(try logits(images: b.images, rows: b.indices)) }
        return parts.count == 1 ? parts[0] : Tensor.concatenated(parts, alongAxis: 0)
    }
}

/// One trained network.
public final class ModelTeacher: Teacher {
    public let model: Module
    public let classCount: Int
    public var module: Module? { model }
    public var networks: [Module] { [model] }

    public init(_ model: Module, classCount: Int) {
        self.model = model
        self.classCount = classCount
        model.eval()
    }

    public func logits(images: Tensor, rows: [Int]) throws -> Tensor {
        withoutGradients { model(images) }
    }
}

/// An ensemble whose target is the mean of the members' probabilities (returned as the log of
/// that mean, so a softmax of the result gives it back) or, optionally, the mean of their logits.
public final class EnsembleTeacher: Teacher {
    public enum Combine: String, Sendable, CaseIterable { case probabilities, logits }
    public let members: [Module]
    public let combine: Combine
    public let classCount: Int
    public var module: Module? { nil }
    public var networks: [Module] { members }

    public init(_ members: [Module], combine: Combine = .probabilities, classCount: Int) {
        ensure(!members.isEmpty, "EnsembleTeacher: an ensemble needs at least one member")
        self.members = members; self.combine = combine; self.classCount = classCount
        for m in members { m.eval() }
    }

    public func logits(images: Tensor, rows: [Int]) throws -> Tensor {
        withoutGradients {
            let outs = members.map { $0(images) }
            return combine == .probabilities ? EnsembleTarget.meanProbabilities(outs) : EnsembleTarget.meanLogits(outs)
        }
    }
}

/// Logits computed once per data-set row: read from a `.npy` file written by any framework
/// (offline distillation), or cached from another teacher on a non-augmented transfer set so
/// they are not recomputed every epoch.
public final class PrecomputedTeacher: Teacher {
    public let table: Tensor          // [N, classes]
    public var classCount: Int { table.shape[1] }
    public var module: Module? { nil }
    public var networks: [Module] { [] }
    public let source: String

    public init(table: Tensor, source: String) throws {
        guard table.rank == 2 else {
            throw TrainingError.badValue(field: "teacher logits", value: source, expected: "a 2-D array [examples, classes], got shape \(Shape.describe(table.shape))")
        }
        self.table = table
        self.source = source
    }

    /// Reads `[N, classes]` float logits from a `.npy` file and checks N against the transfer set.
    public static func load(npy path: String, expectedRows: Int) throws -> PrecomputedTeacher {
        let array = try NumPy.read(path)
        let t = try PrecomputedTeacher(table: array.tensor, source: path)
        guard t.table.shape[0] == expectedRows else {
            throw TrainingError.badValue(field: "teacher logits", value: path,
                                         expected: "one row per transfer example (\(expectedRows)), got \(t.table.shape[0]) rows")
        }
        return t
    }

    /// Runs `teacher` once over every example of `dataset` (no augmentation) and keeps the logits.
    public static func caching(_ teacher: Teacher, over dataset: Dataset, batchSize: Int = 500) throws -> PrecomputedTeacher {
        try PrecomputedTeacher(table: try teacher.logits(on: dataset, batchSize: batchSize), source: "cache")
    }

    public func logits(images: Tensor, rows: [Int]) throws -> Tensor {
        let n = table.shape[0]
        for r in rows where r < 0 || r >= n {
            throw TrainingError.badValue(field: "teacher logits", value: source, expected: "a row for example \(r), but it holds \(n) rows")
        }
        return table.indexSelect(alongAxis: 0, indices: IntTensor(rows))
    }
}
