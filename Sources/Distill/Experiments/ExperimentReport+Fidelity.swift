import DistillCore
import Foundation

/// The fidelity parts of reports (Stanton et al. 2021): agreement and KL per epoch, against a
/// sweep's numeric axis, and the loss landscape.
extension ExperimentReport {
    /// Mean ± std over seeds of per-epoch values, epoch 0 being the student before training.
    static func curve(_ name: String, _ seeds: [SeedResult], _ pick: (FidelityPoint) -> Double?) -> Series? {
        let curves: [[Double]] = seeds.compactMap { s in
            guard let c = s.fidelityCurve, let i = s.initialFidelity else { return nil }
            return ([i] + c).map { pick($0) ?? .nan }
        }
        return meanCurve(name, curves, firstEpoch: 0)
    }

    /// Agreement and KL per epoch of one experiment (nil when fidelity was not tracked).
    static func fidelityCurves(_ r: ExperimentResult) -> (agreement: String, kl: String)? {
        let agr = [curve("distillation data", r.seeds, { $0.trainAgreement }), curve("test", r.seeds, { $0.testAgreement })].compactMap { $0 }
        let kl = [curve("distillation data", r.seeds, { $0.trainKL }), curve("test", r.seeds, { $0.testKL })].compactMap { $0 }
        guard !agr.isEmpty else { return nil }
        return (SVGPlot.lineChart(title: "\(r.name): teacher–student agreement per epoch", xLabel: "epoch (0: initialisation)",
                                  yLabel: "top-1 agreement", series: agr),
                SVGPlot.lineChart(title: "\(r.name): predictive KL(teacher ‖ student) per epoch", xLabel: "epoch (0: initialisation)",
                                  yLabel: "KL (nats)", series: kl))
    }

    /// Writes the fidelity curves and returns the Markdown that shows them and the landscape.
    static func fidelitySection(_ r: ExperimentResult, to dir: URL) throws -> String {
        var out = ""
        if let c = fidelityCurves(r) {
            try Data(c.agreement.utf8).write(to: dir.appendingPathComponent("agreement_curves.svg"), options: .atomic)
            try Data(c.kl.utf8).write(to: dir.appendingPathComponent("kl_curves.svg"), options: .atomic)
            let initial = r.seeds.compactMap(\.initialFidelity)
            out += "\n## Fidelity during training\n\n"
            out += "Before training the distilled student agreed with its teacher on "
            out += MarkdownTable.meanStd(initial.map(\.trainAgreement)) + " of the distillation data and "
            out += MarkdownTable.meanStd(initial.compactMap(\.testAgreement)) + " of the test split.\n\n"
            out += "![agreement per epoch](agreement_curves.svg)\n\n![KL per epoch](kl_curves.svg)\n"
        }
        let scapes = r.seeds.compactMap(\.landscape)
        if !scapes.isEmpty {
            out += "\n## Loss landscape\n\n"
            out += "The distillation loss (T²·KL at T = \(Landscape.format(scapes[0].temperature)), \(scapes[0].examples) transfer examples, eval mode) on the plane through the student's initialisation, the trained student and the teacher, and on the line from the student to the teacher.\n\n"
            out += MarkdownTable.render(header: ["seed", "loss at init", "loss at student", "loss at teacher", "highest loss on the line", "agreement halfway"],
                                        rows: scapes.map { l in
                func at(_ a: Double) -> Double { l.lineLoss[nearest(l.line, a)] }
                let half = l.lineAgreement[nearest(l.line, 0.5)]
                let inside = zip(l.line, l.lineLoss).filter { (0...1).contains($0.0) }.map(\.1)
                return ["\(l.seed)", SVGPlot.fixed(planeLoss(l, "init"), 4), SVGPlot.fixed(at(0), 4), SVGPlot.fixed(at(1), 4),
                        SVGPlot.fixed(inside.max() ?? .nan, 4), SVGPlot.fixed(half, 4)]
            })
            out += "\n"
            for l in scapes {
                out += "\n![landscape, seed \(l.seed)](landscape_plane_seed-\(l.seed).svg)\n\n![line, seed \(l.seed)](landscape_line_seed-\(l.seed).svg)\n"
            }
        }
        return out
    }

    /// The loss at the grid point nearest to one of the marked points.
    static func planeLoss(_ l: LandscapeResult, _ point: String) -> Double {
        guard let p = l.points[point], !l.x.isEmpty, !l.y.isEmpty else { return .nan }
        return l.loss[nearest(l.y, p[1])][nearest(l.x, p[0])]
    }

    /// Index of the value of `xs` (non-empty) closest to `v`.
    static func nearest(_ xs: [Double], _ v: Double) -> Int {
        xs.indices.min { abs(xs[$0] - v) < abs(xs[$1] - v) }!
    }

    /// Plots of a sweep along its numeric axis and, when tracked, of every variant's agreement
    /// per epoch; returns the Markdown that shows them.
    static func sweepFidelityPlots(_ sweep: SweepResult, axis: SweepAxis?, xs: [Double?], to dir: URL) throws -> String {
        var out = ""
        if let axis, xs.allSatisfy({ $0 != nil }) {
            let order = sweep.variants.indices.sorted { xs[$0]! < xs[$1]! }
            func series(_ name: String, _ pick: (SeedResult) -> Double?) -> Series? {
                var pts: [(x: Double, y: Double)] = [], errs: [Double] = []
                for i in order {
                    let v = (sweep.variants[i].result?.seeds ?? []).compactMap(pick).filter(\.isFinite)
                    guard !v.isEmpty else { continue }
                    pts.append((xs[i]!, Statistics.mean(v)))
                    errs.append(v.count > 1 ? Statistics.sampleStd(v) : 0)
                }
                return pts.isEmpty ? nil : Series(name: name, points: pts, errors: errs)
            }
            let charts: [(file: String, title: String, y: String, series: [Series?])] = [
                ("sweep_accuracy.svg", "test accuracy", "test accuracy", [
                    series("teacher", { $0.teacher?.test.student.accuracy }),
                    series("student alone", { $0.studentAlone?.test.student.accuracy }),
                    series("student distilled", { $0.studentDistilled.test.student.accuracy })]),
                ("sweep_agreement.svg", "teacher–student agreement", "top-1 agreement", [
                    series("distillation data", { $0.studentDistilled.train.agreement }),
                    series("test", { $0.studentDistilled.test.agreement })]),
                ("sweep_kl.svg", "predictive KL(teacher ‖ student)", "KL (nats)", [
                    series("distillation data", { $0.studentDistilled.train.predictiveKL }),
                    series("test", { $0.studentDistilled.test.predictiveKL })]),
            ]
            out += "\n## Against \(axis.label)\n\n"
            for c in charts {
                let svg = SVGPlot.lineChart(title: "\(sweep.name): \(c.title)", xLabel: axis.label, yLabel: c.y,
                                            series: c.series.compactMap { $0 }, logX: axis.log)
                try Data(svg.utf8).write(to: dir.appendingPathComponent(c.file), options: .atomic)
                out += "![\(c.title)](\(c.file))\n\n"
            }
        }
        let tracked = sweep.variants.filter { ($0.result?.seeds ?? []).contains { $0.fidelityCurve != nil } }
        if !tracked.isEmpty {
            for (file, split, pick) in [("sweep_agreement_curves.svg", "distillation data", { (p: FidelityPoint) -> Double? in p.trainAgreement }),
                                        ("sweep_test_agreement_curves.svg", "test", { (p: FidelityPoint) -> Double? in p.testAgreement })] {
                let s = tracked.compactMap { v in curve(v.name, v.result!.seeds, pick) }
                let svg = SVGPlot.lineChart(title: "\(sweep.name): agreement on the \(split) per epoch", xLabel: "epoch (0: initialisation)",
                                            yLabel: "top-1 agreement", series: s)
                try Data(svg.utf8).write(to: dir.appendingPathComponent(file), options: .atomic)
                out += "![agreement on the \(split) per epoch](\(file))\n\n"
            }
        }
        return out
    }
}
