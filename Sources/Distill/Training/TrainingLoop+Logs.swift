import Foundation

/// The logs people plot, in the run directory:
///
/// - `steps.csv`: one row per optimizer step: `step` (1-based, over the run), `epoch`
///   (1-based), `loss`, each loss term by name, `learning_rate`.
/// - `metrics.csv`: one row per epoch: `epoch`, `step` (steps done when it ended), `train_loss`,
///   `train_TERM` for each term's epoch mean, `train_accuracy`; with a validation split
///   `val_accuracy`, `val_nll` (and `val_top5`); with a test set `test_accuracy`, `test_nll`
///   (and `test_top5`) — empty in every row but the last with a validation split, whose test
///   numbers are filled in at the end; `train_agreement`, `train_kl`, `test_agreement`,
///   `test_kl` where the run tracks fidelity; the scheme's own measurements by their keys;
///   `learning_rate`, `seconds`. Top-5 columns exist with more than five classes. Empty cells
///   are missing values (NaN).
/// - `tb/events.out.tfevents.TIME.HOST`: the same numbers for TensorBoard: `train/COLUMN` for
///   each steps.csv column after `epoch`, `epoch/COLUMN` for each metrics.csv column after
///   `step` but `seconds`, and at the end of a run with a validation split `best/epoch`,
///   `best/val_accuracy`, `best/test_accuracy`, `best/test_nll` (`best/test_top5`). Every
///   scalar's step is the optimizer step (epoch scalars at the step that ended the epoch), so
///   one axis serves both and a resumed run can replace what a killed one logged after its
///   checkpoint.
///
/// Resume keeps both files equal to an uninterrupted run's (but for `seconds`): steps.csv keeps
/// the rows up to the checkpoint's step, metrics.csv is rewritten from the checkpoint's history,
/// and the new event file starts with a `SessionLog` START at the checkpoint's step — TensorBoard
/// then drops what earlier files hold at that step or later — followed by the rows at that step
/// again.
final class RunLogs {
    /// Which of the optional metrics.csv columns this run has.
    struct Columns {
        var validation: Bool
        var test: Bool
        var top5: Bool
    }

    let steps: CSVLog
    let metrics: CSVLog
    let columns: Columns
    let stepsPerEpoch: Int
    private let tensorBoardDirectory: URL?
    private var tensorBoard: TensorBoardWriter?
    /// Resumed at this step: the event file opens with a START there and its rows again.
    private var resumed: (step: Int, rows: [[(tag: String, value: Double)]])?
    /// metrics.csv as the run found it.
    private let metricsAtOpen: Data?

    /// Opens the logs of `directory`: afresh (`resumedAt` nil), or continuing a checkpoint at
    /// step `resumedAt` whose history is `history` (`finished`: of a run with nothing left to
    /// train, whose steps.csv is then left as it is).
    init(directory: URL, columns: Columns, stepsPerEpoch: Int, resumedAt: Int?, finished: Bool, history: [EpochRecord], tensorBoard: Bool) throws {
        self.columns = columns
        self.stepsPerEpoch = stepsPerEpoch
        steps = try CSVLog(url: directory.appendingPathComponent("steps.csv"), fresh: resumedAt == nil,
                           keep: finished ? nil : { row in (row["step"].flatMap { Int($0) } ?? .max) <= (resumedAt ?? 0) })
        metricsAtOpen = try? Data(contentsOf: directory.appendingPathComponent("metrics.csv"))
        metrics = try CSVLog(url: directory.appendingPathComponent("metrics.csv"), fresh: true)
        tensorBoardDirectory = tensorBoard ? directory.appendingPathComponent("tb") : nil
        try metrics.replace(with: history.map { metricsRow($0) })
        if let s = resumedAt, !finished {
            var rows: [[(tag: String, value: Double)]] = []
            if let last = steps.lastRow, last["step"] == "\(s)" {
                rows.append(RunLogs.scalars(try steps.columns.map { ($0, last[$0] ?? "") }, prefix: "train/", skipping: ["step", "epoch"]))
            }
            if let last = history.last, stepAtEnd(of: last) == s {
                rows.append(RunLogs.scalars(metricsRow(last), prefix: "epoch/", skipping: ["epoch", "step", "seconds"]))
            }
            resumed = (s, rows)
        }
    }

    /// The step count when the epoch of `record` ended.
    func stepAtEnd(of record: EpochRecord) -> Int { (record.epoch + 1) * stepsPerEpoch }

    /// Logs optimizer step `step` (1-based) of epoch `epoch` (0-based).
    func step(_ step: Int, epoch: Int, loss: Float, terms: [(name: String, value: Float)], learningRate: Float) throws {
        var row: [(String, String)] = [("step", "\(step)"), ("epoch", "\(epoch + 1)"), ("loss", RunLogs.number(loss))]
        var used: Set<String> = ["step", "epoch", "loss", "learning_rate"]
        for (name, v) in terms {
            let key = used.contains(name) ? "term_" + name : name
            used.insert(key)
            row.append((key, RunLogs.number(v)))
        }
        row.append(("learning_rate", RunLogs.number(learningRate)))
        try steps.append(row)
        try writeScalars(RunLogs.scalars(row, prefix: "train/", skipping: ["step", "epoch"]), step: step)
    }

    /// Logs a finished epoch.
    func epoch(_ record: EpochRecord) throws {
        let row = metricsRow(record)
        try metrics.append(row)
        try writeScalars(RunLogs.scalars(row, prefix: "epoch/", skipping: ["epoch", "step", "seconds"]), step: stepAtEnd(of: record))
    }

    /// Rewrites metrics.csv with the test numbers the end of a run with a validation split
    /// filled in, and logs them and the best epoch's to TensorBoard, unless metrics.csv already
    /// held them (a finished run run again).
    func finish(history: [EpochRecord], best: BestEpoch) throws {
        guard let last = history.last else { return }
        try metrics.replace(with: history.map { metricsRow($0) })
        guard metricsAtOpen != (try? Data(contentsOf: metrics.url)) else { return }
        let test = metricsRow(last).filter { $0.0.hasPrefix("test_") && !$0.0.hasSuffix("_agreement") && !$0.0.hasSuffix("_kl") }
        var values = RunLogs.scalars(test, prefix: "epoch/", skipping: [])
        values += RunLogs.scalars([("epoch", "\(best.epoch)"), ("val_accuracy", RunLogs.number(best.valAccuracy)),
                                   ("test_accuracy", RunLogs.number(best.testAccuracy)), ("test_nll", RunLogs.number(best.testNLL)),
                                   ("test_top5", best.testTop5.map { RunLogs.number($0) } ?? "")], prefix: "best/", skipping: [])
        try writeScalars(values, step: stepAtEnd(of: last))
    }

    /// The metrics.csv row of an epoch, in column order.
    func metricsRow(_ r: EpochRecord) -> [(String, String)] {
        func n(_ v: Double?) -> String { v.map { RunLogs.number($0) } ?? "" }
        var row: [(String, String)] = [("epoch", "\(r.epoch + 1)"), ("step", "\(stepAtEnd(of: r))"), ("train_loss", n(r.trainLoss))]
        var tail: [(String, String)] = [("train_accuracy", n(r.trainAccuracy))]
        if columns.validation {
            tail += [("val_accuracy", n(r.valAccuracy)), ("val_nll", n(r.valNLL))]
            if columns.top5 { tail.append(("val_top5", n(r.valTop5))) }
        }
        if columns.test {
            tail += [("test_accuracy", n(r.testAccuracy)), ("test_nll", n(r.testNLL))]
            if columns.top5 { tail.append(("test_top5", n(r.testTop5))) }
        }
        if let f = r.fidelity {
            tail += [("train_agreement", n(f.trainAgreement)), ("train_kl", n(f.trainKL)),
                     ("test_agreement", n(f.testAgreement)), ("test_kl", n(f.testKL))]
        }
        var used = Set((row + tail).map(\.0)).union(["learning_rate", "seconds"])
        for (name, v) in (r.terms ?? [:]).sorted(by: { $0.key < $1.key }) {
            let key = used.contains("train_" + name) ? "train_term_" + name : "train_" + name
            used.insert(key)
            row.append((key, n(v)))
        }
        row += tail
        for (name, v) in (r.scheme ?? [:]).sorted(by: { $0.key < $1.key }) {
            let key = used.contains(name) ? "scheme_" + name : name
            used.insert(key)
            row.append((key, n(v)))
        }
        return row + [("learning_rate", n(r.learningRate)), ("seconds", n(r.seconds))]
    }

    /// The non-empty cells of a row as TensorBoard scalars `PREFIX + column`.
    static func scalars(_ row: [(String, String)], prefix: String, skipping: Set<String>) -> [(tag: String, value: Double)] {
        row.compactMap { k, v in skipping.contains(k) ? nil : Double(v).map { (prefix + k, $0) } }
    }

    /// A number as a CSV cell: Swift's shortest round-trip form; NaN is an empty cell.
    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ v: F) -> String { v.isNaN ? "" : v.description }

    private func writeScalars(_ values: [(tag: String, value: Double)], step: Int) throws {
        guard let dir = tensorBoardDirectory, !values.isEmpty else { return }
        if tensorBoard == nil {
            let w = try TensorBoardWriter(directory: dir)
            if let r = resumed {
                try w.sessionStart(step: r.step)
                for row in r.rows { try w.scalars(row, step: r.step) }
                resumed = nil
            }
            tensorBoard = w
        }
        try tensorBoard!.scalars(values, step: step)
    }
}
