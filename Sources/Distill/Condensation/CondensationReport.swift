import Foundation

/// `report.md` and `accuracy.svg` of a condensation run.
public enum CondensationReport {
    static func pct(_ o: CondensationEvaluation.Outcome) -> String { String(format: "%.2f ± %.2f", 100 * o.mean, 100 * o.std) }

    public static func markdown(_ results: [CondensationRun.SizeResult], data: String, evaluation e: CondensationEvaluation, wholeEpochs: Int) -> String {
        var s = "# Dataset condensation on \(data)\n\n"
        if let c = results.first?.config {
            s += "Method **\(c.method.rawValue.uppercased())**, condensed with `\(c.model)`, \(c.iterations) outer iterations, image lr \(c.imageLearningRate) (momentum \(c.imageMomentum)), \(c.realBatch) real images per class per step, init \(c.initialization.rawValue), augmentation \(c.augmentation), seed \(c.seed).\n\n"
        }
        s += "Evaluation: \(e.networks) freshly seeded `\(e.model)` networks trained \(e.epochs)+1 epochs (SGD lr \(e.learningRate), momentum \(e.momentum), weight decay \(e.weightDecay), batch \(e.batch), lr × 0.1 after epoch \(e.epochs / 2 + 1)), test accuracy on \(e.testLimit.map { "the first \($0)" } ?? "all") test images, mean ± std (%). Whole training set: \(wholeEpochs == 0 ? "skipped" : "\(wholeEpochs) epochs, cached").\n\n"
        s += "| images/class | row | model | accuracy (%) | cost (s) |\n|---:|---|---|---:|---:|\n"
        for r in results {
            for row in r.rows {
                s += "| \(row.imagesPerClass) | \(row.name) | `\(row.model)` | \(pct(row.outcome)) | \(String(format: "%.1f", row.seconds)) |\n"
            }
            s += "\nipc \(r.imagesPerClass): condensation \(String(format: "%.1f", r.condenseSeconds)) s, \(String(format: "%.2f", r.iterationSeconds)) s per outer iteration, final loss \(r.finalLoss.map { String(format: "%.4f", $0) } ?? "–"). Images: `ipc-\(r.imagesPerClass)/grid.png`.\n\n![ipc \(r.imagesPerClass)](ipc-\(r.imagesPerClass)/grid.svg)\n\n"
        }
        s += "![accuracy against images per class](accuracy.svg)\n"
        return s
    }

    /// Accuracy against images per class: the synthetic set, with the random subset and the whole
    /// training set as lines.
    public static func chart(_ results: [CondensationRun.SizeResult]) -> String {
        func series(_ name: String, _ pick: (CondensationRun.Row) -> Bool) -> Series? {
            let pts = results.compactMap { r in r.rows.first(where: pick).map { (x: Double(r.imagesPerClass), y: 100 * $0.outcome.mean, e: 100 * $0.outcome.std) } }
            return pts.isEmpty ? nil : Series(name: name, points: pts.map { (x: $0.x, y: $0.y) }, errors: pts.map(\.e))
        }
        let model = results.first?.rows.first?.model ?? ""
        var all = [series("synthetic", { $0.name.hasPrefix("synthetic") && $0.model == model }), series("random real subset", { $0.name == "random real subset" })].compactMap { $0 }
        if let w = results.first?.rows.first(where: { $0.name.hasPrefix("whole") }), let lo = results.first?.imagesPerClass, let hi = results.last?.imagesPerClass {
            all.append(Series(name: w.name, points: [(x: Double(lo), y: 100 * w.outcome.mean), (x: Double(hi), y: 100 * w.outcome.mean)]))
        }
        return SVGPlot.lineChart(title: "Test accuracy against images per class", xLabel: "images per class", yLabel: "test accuracy (%)", series: all, logX: results.count > 1)
    }
}
