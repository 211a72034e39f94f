import DistillCore
import DistillData
import DistillNN
import Foundation

/// The epoch chosen on the validation split, with its test numbers (read once, at the end).
public struct BestEpoch: Codable, Equatable, Sendable {
    /// The epoch, 1-based (`best.safetensors` holds its weights).
    public var epoch: Int
    public var valAccuracy: Double
    public var valNLL: Double
    public var testAccuracy: Double
    public var testNLL: Double
    /// With more than five classes.
    public var testTop5: Double?
}

extension TrainingConfig {
    /// The examples `val_split` holds out of `count` training examples (nil: no split): a
    /// fraction f gives round(f · count), a whole number itself. Throws unless that leaves at
    /// least one example on each side.
    public func validationCount(of count: Int) throws -> Int? {
        guard let v = valSplit else { return nil }
        let n = v < 1 ? Int((v * Double(count)).rounded()) : Int(v)
        guard n >= 1, n < count else {
            throw TrainingError.badValue(field: "val_split", value: "\(v)",
                                         expected: "a split that holds out at least 1 and fewer than all \(count) training examples (it holds out \(n))")
        }
        return n
    }
}

extension TrainingLoop {
    var bestPath: String { runDirectory.appendingPathComponent("best.safetensors").path }

    /// The rows of a dataset of `count` examples that `Dataset.split(heldOut:seed:)` keeps for
    /// training and holds out, each in ascending order (the same permutation of
    /// `SeededGenerator(seed:)`; a test checks the two agree), so the loop can hand schemes
    /// batches whose `indices` are rows of the dataset it was given.
    static func splitRows(count: Int, heldOut: Int, seed: UInt64) -> (train: [Int], validation: [Int]) {
        var g = SeededGenerator(seed: seed)
        let p = g.permutation(count)
        return (p[heldOut...].sorted(), p[..<heldOut].sorted())
    }

    /// The index in `history` of the best epoch: the highest validation accuracy; ties go to the
    /// lower validation NLL, then to the earlier epoch. Nil when no epoch has a validation accuracy.
    public static func bestEpochIndex(in history: [EpochRecord]) -> Int? {
        var best: Int? = nil
        for (i, r) in history.enumerated() {
            guard let a = r.valAccuracy, !a.isNaN else { continue }
            guard let b = best, let ba = history[b].valAccuracy else { best = i; continue }
            let nll = r.valNLL ?? .infinity, bnll = history[b].valNLL ?? .infinity
            if a > ba || (a == ba && nll < bnll) { best = i }
        }
        return best
    }

    /// Accuracy, NLL and top-5 of `module` on `data`.
    func summary(of module: Module, on data: Dataset) throws -> ClassificationSummary {
        ClassificationSummary(logits: try Evaluation.logits(of: module, on: data), labels: data.labels)
    }

    /// The evaluation after an epoch: the evaluated member (and the other exported ones) on the
    /// validation split when there is one, on the test set otherwise; fidelity; the scheme's own
    /// measurements.
    func evaluateEpoch(_ record: inout EpochRecord, checkpoint: String?) throws {
        let evaluated = scheme.member(scheme.evaluated).module
        do {
            let data = evaluates ? validation ?? test : nil
            if let data {
                let m = try summary(of: evaluated, on: data)
                if validation != nil {
                    (record.valAccuracy, record.valNLL, record.valTop5) = (m.accuracy, m.nll, m.top5)
                } else {
                    (record.testAccuracy, record.testNLL, record.testTop5) = (m.accuracy, m.nll, m.top5)
                }
            }
            record.fidelity = try measureEpoch?(evaluated)
            var extra = try scheme.epochMetrics()
            if let data {   // the other exported members too (a cohort, generations)
                let key = validation != nil ? "val_accuracy" : "test_accuracy"
                for m in scheme.members where m.exported && m.name != scheme.evaluated {
                    extra["\(m.name).\(key)"] = try summary(of: m.module, on: data).accuracy
                }
            }
            record.scheme = extra.isEmpty ? nil : extra
        } catch let e as EvaluationError {
            throw TrainingError.nonFiniteOutputs(epoch: record.epoch, detail: "\(e)", checkpoint: checkpoint)
        }
    }

    /// The end of a run with a validation split: reads the test set once for the last epoch
    /// (filled into the last record) and for the best one (`best.safetensors`, loaded into the
    /// evaluated member and then replaced by the last weights again), sets `best`, and logs both.
    /// The checkpoint never holds these test numbers, so a run continued for more epochs reports
    /// what an uninterrupted longer run would.
    func finishWithValidation(logs: RunLogs, log: JSONLLog) throws {
        guard evaluates, validation != nil, let test, let last = history.indices.last,
              let b = TrainingLoop.bestEpochIndex(in: history) else { return }
        let evaluated = scheme.member(scheme.evaluated).module
        let lastTest: ClassificationSummary, bestTest: ClassificationSummary
        do {
            lastTest = try summary(of: evaluated, on: test)
            (history[last].testAccuracy, history[last].testNLL, history[last].testTop5) = (lastTest.accuracy, lastTest.nll, lastTest.top5)
            for m in scheme.members where m.exported && m.name != scheme.evaluated {
                history[last].scheme?["\(m.name).test_accuracy"] = try summary(of: m.module, on: test).accuracy
            }
            if b == last {
                bestTest = lastTest
            } else {
                let file = try SafeTensors.read(from: bestPath)
                guard file.metadata["epoch"] == "\(b + 1)" else {
                    throw TrainingError.runDirectory(path: bestPath, detail: "holds epoch \(file.metadata["epoch"] ?? "(none)"), but the run's history has epoch \(b + 1) as the best on validation; remove the run directory and train again")
                }
                let current = evaluated.stateDict()
                try evaluated.loadStateDict(file.tensors)
                let measured = Result { try summary(of: evaluated, on: test) }
                try evaluated.loadStateDict(current)
                bestTest = try measured.get()
            }
        } catch let e as EvaluationError {
            throw TrainingError.nonFiniteOutputs(epoch: last, detail: "\(e)", checkpoint: checkpointPath)
        }
        let v = history[b]
        best = BestEpoch(epoch: b + 1, valAccuracy: v.valAccuracy ?? .nan, valNLL: v.valNLL ?? .nan,
                         testAccuracy: bestTest.accuracy, testNLL: bestTest.nll, testTop5: bestTest.top5)
        try logs.finish(history: history, best: best!)
        var entry: [String: Any] = ["event": "final", "best_epoch": b + 1, "best_val_accuracy": best!.valAccuracy,
                                    "best_test_accuracy": jsonNumber(best!.testAccuracy), "best_test_nll": jsonNumber(best!.testNLL),
                                    "last_epoch": last + 1, "last_test_accuracy": jsonNumber(lastTest.accuracy), "last_test_nll": jsonNumber(lastTest.nll)]
        if let t = bestTest.top5 { entry["best_test_top5"] = t }
        if let t = lastTest.top5 { entry["last_test_top5"] = t }
        try log.write(entry)
        if showProgress {
            FileHandle.standardError.write(Data(String(format: "best epoch %d of %d on validation (val acc %.4f): test acc %.4f, test NLL %.4f; last epoch: test acc %.4f, test NLL %.4f\n",
                b + 1, last + 1, best!.valAccuracy, best!.testAccuracy, best!.testNLL, lastTest.accuracy, lastTest.nll).utf8))
        }
    }

    private func jsonNumber(_ v: Double) -> Any { v.isNaN ? NSNull() : v }
}
