import DistillCore
import DistillNN

/// The running sums of the current epoch (mean loss, accuracy, per-term means), checkpointed so
/// a resumed epoch reports what an uninterrupted one would.
struct RunningSums: Codable, Equatable {
    var lossSum = 0.0, correct = 0, seen = 0
    /// Σ (term value × examples) by term name, and the examples each term was seen on.
    var termSums: [String: Double] = [:]
    var termSeen: [String: Int] = [:]
    /// Labelled examples whose predictions were counted for accuracy (rows labelled −1 are not).
    var counted = 0

    var meanLoss: Double { lossSum / Double(max(seen, 1)) }
    var accuracy: Double { counted == 0 ? .nan : Double(correct) / Double(counted) }
    var termMeans: [String: Double]? {
        termSums.isEmpty ? nil : termSums.reduce(into: [:]) { $0[$1.key] = $1.value / Double(max(termSeen[$1.key] ?? 1, 1)) }
    }

    mutating func add(_ out: StepOutput, labels: IntTensor) {
        let n = labels.count
        lossSum += Double(out.loss) * Double(n)
        seen += n
        for (name, v) in out.terms {
            termSums[name, default: 0] += Double(v) * Double(n)
            termSeen[name, default: 0] += n
        }
        guard let logits = out.logits else { return }
        let predicted = logits.argmax(alongAxis: 1).scalars
        for (p, y) in zip(predicted, labels.scalars) where y >= 0 {
            counted += 1
            if p == y { correct += 1 }
        }
    }

    /// Adds another step's (or process's) sums.
    mutating func merge(_ o: RunningSums) {
        lossSum += o.lossSum; seen += o.seen; correct += o.correct; counted += o.counted
        for (k, v) in o.termSums { termSums[k, default: 0] += v }
        for (k, v) in o.termSeen { termSeen[k, default: 0] += v }
    }

    /// These sums added over every process of `group` (every process has the same term names:
    /// they run the same scheme).
    func summed(over group: CollectiveGroup) throws -> RunningSums {
        let names = termSums.keys.sorted()
        var v = [lossSum, Double(seen), Double(correct), Double(counted)] + names.map { termSums[$0]! } + names.map { Double(termSeen[$0] ?? 0) }
        try v.withUnsafeMutableBufferPointer { try group.allReduceSum($0) }
        var out = RunningSums(lossSum: v[0], correct: Int(v[2]), seen: Int(v[1]))
        out.counted = Int(v[3])
        for (i, k) in names.enumerated() { out.termSums[k] = v[4 + i]; out.termSeen[k] = Int(v[4 + names.count + i]) }
        return out
    }
}
