import DistillCore
import DistillNN

/// A validated weighted sum of named loss terms: L = Σₖ wₖ · Lₖ.
///
/// The per-term values of the last evaluation are kept (as plain numbers) for logging.
public final class Objective {
    public struct Term {
        public let name: String
        public let weight: Float
        public let loss: DistillationLoss
    }

    public let terms: [Term]
    public private(set) var lastValues: [(name: String, value: Float)] = []

    /// Refuses empty objectives, duplicate names, and weights that are negative or not finite.
    public init(_ terms: [(name: String, weight: Float, loss: DistillationLoss)]) throws {
        guard !terms.isEmpty else { throw DistillationError.invalidObjective("it has no terms") }
        var seen = Set<String>()
        for t in terms {
            guard seen.insert(t.name).inserted else { throw DistillationError.invalidObjective("term '\(t.name)' appears twice") }
            guard t.weight.isFinite, t.weight >= 0 else {
                throw DistillationError.invalidObjective("term '\(t.name)' has weight \(t.weight); weights must be finite and ≥ 0")
            }
        }
        self.terms = terms.map { Term(name: $0.name, weight: $0.weight, loss: $0.loss) }
    }

    /// Σ wₖ Lₖ for one batch; terms with weight 0 are skipped.
    public func callAsFunction(_ batch: DistillationBatch) -> Tensor { evaluate { _ in batch } }

    /// Σ wₖ Lₖ where term k sees `batchFor(k)` (each term gets the features of its own taps).
    public func evaluate(_ batchFor: (Int) -> DistillationBatch) -> Tensor {
        var total: Tensor? = nil
        var values: [(String, Float)] = []
        for (k, t) in terms.enumerated() where t.weight > 0 {
            let l = t.loss.loss(batchFor(k))
            values.append((t.name, l.item))
            let w = t.weight == 1 ? l : l * t.weight
            total = total.map { $0 + w } ?? w
        }
        lastValues = values
        return total ?? Tensor(0)
    }

    /// The objective in two parts: the weighted task terms (`TaskLossTerm`, the `ce` term) and
    /// the weighted distillation terms, each nil when it has no term of weight > 0. DOT takes
    /// the gradient of each part separately.
    public func evaluateParts(_ batchFor: (Int) -> DistillationBatch) -> (task: Tensor?, distillation: Tensor?) {
        var task: Tensor? = nil, kd: Tensor? = nil
        var values: [(String, Float)] = []
        for (k, t) in terms.enumerated() where t.weight > 0 {
            let l = t.loss.loss(batchFor(k))
            values.append((t.name, l.item))
            let w = t.weight == 1 ? l : l * t.weight
            if t.loss is TaskLossTerm { task = task.map { $0 + w } ?? w } else { kd = kd.map { $0 + w } ?? w }
        }
        lastValues = values
        return (task, kd)
    }

    /// Every adapter of every term (trained with the student, not exported).
    public var adapters: [Module] { terms.compactMap { $0.loss.adapters } }
}
