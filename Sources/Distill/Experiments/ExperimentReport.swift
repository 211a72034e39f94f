import DistillCore
import Foundation

/// Writes an experiment's `metrics.json`, `report.md` and SVG plots.
public enum ExperimentReport {
    /// The configuration as it was resolved (defaults and overrides applied), in YAML.
    public static func resolvedConfig(_ c: ExperimentConfig) -> String {
        func train(_ t: TrainingConfig, indent: String) -> String {
            let keys = ["epochs: \(t.epochs)", "batch_size: \(t.batchSize)", "optimizer: \(t.optimizer)", "learning_rate: \(t.learningRate)",
             "momentum: \(t.momentum)", "nesterov: \(t.nesterov)", "weight_decay: \(t.weightDecay)", "schedule: \(quote(t.schedule))",
             "warmup_epochs: \(t.warmupEpochs)", "augmentation: \(quote(t.augmentation))", "checkpoint_every: \(t.checkpointEvery)"]
            let all = keys + (t.subset.map { ["subset: \($0)"] } ?? []) + (t.gradClip.map { ["grad_clip: \($0)"] } ?? [])
                + (t.labelSmoothing.map { ["label_smoothing: \($0)"] } ?? []) + (t.valSplit.map { ["val_split: \($0)"] } ?? [])
                + (t.valSeed.map { ["val_seed: \($0)"] } ?? [])
            return all.map { indent + $0 }.joined(separator: "\n")
        }
        var lines = ["name: \(quote(c.name))", "data: \(quote(c.data))", "seeds: [\(c.seeds.map(String.init).joined(separator: ", "))]"]
        if let t = c.threads { lines.append("threads: \(t)") }
        switch c.transfer {
        case .train: lines.append("transfer: {kind: train}")
        case .subset(let n): lines.append("transfer: {kind: subset, count: \(n)}")
        case .dropClasses(let cls): lines.append("transfer: {kind: drop-classes, classes: [\(cls.map(String.init).joined(separator: ", "))]}")
        case .unlabelled(let n): lines.append("transfer: {kind: unlabelled, count: \(n)}")
        case .withUnlabelled(let n): lines.append("transfer: {kind: train+unlabelled, count: \(n)}")
        }
        if let n = c.labelNoise {
            lines.append("label_noise: {kind: \(n.kind.rawValue), rate: \(n.rate), seed: \(n.seed), clean: \(n.clean)}")
        }
        let usesTeacher = (try? SchemeRegistry.kind(c.scheme.kind))?.usesTeacher ?? true
        if usesTeacher {
            lines.append("teacher:")
            lines.append("  model: \(quote(c.teacher.model))")
            if !c.teacher.checkpoints.isEmpty { lines.append("  checkpoint: [\(c.teacher.checkpoints.map(quote).joined(separator: ", "))]") }
            lines.append("  ensemble: \(c.teacher.ensemble)")
            lines.append("  combine: \(c.teacher.combine.rawValue)")
            if let l = c.teacher.logits { lines.append("  logits: \(quote(l))") }
            if let l = c.teacher.testLogits { lines.append("  test_logits: \(quote(l))") }
            lines.append("  shared: \(c.teacher.shared)")
            if let e = c.teacher.stopEpoch { lines.append("  stop_epoch: \(e)") }
            lines.append("  train:")
            lines.append(train(c.teacher.train, indent: "    "))
        }
        lines.append("student:")
        lines.append("  model: \(quote(c.student.model))")
        lines.append("  baseline: \(c.student.baseline)")
        if let l = c.student.initFromTeacher { lines.append("  init_from_teacher: \(l)") }
        lines.append("  train:")
        lines.append(train(c.student.train, indent: "    "))
        if usesTeacher {
            lines.append("method:")
            for m in c.methods {
                lines.append("  - name: \(m.name)")
                lines.append("    weight: \(m.weight)")
                for (k, v) in m.options.sorted(by: { $0.key < $1.key }) { lines.append("    \(k): \(quote(v))") }
            }
        }
        if c.scheme.kind != "offline" {
            lines.append("scheme:")
            lines.append("  kind: \(c.scheme.kind)")
            if let g = c.scheme.generations { lines.append("  generations: \(g)") }
            if !c.scheme.participants.isEmpty { lines.append("  participants:") }
            for p in c.scheme.participants { lines.append("    - {name: \(p.name), model: \(quote(p.model)), role: \(p.role)}") }
            for (k, v) in c.scheme.options.sorted(by: { $0.key < $1.key }) { lines.append("  \(k): \(quote(v))") }
        }
        if let n = c.testSubset { lines.append("test_subset: \(n)") }
        if c.trackFidelity { lines.append("track_fidelity: true"); lines.append("fidelity_examples: \(c.fidelityExamples)") }
        if let l = c.landscape {
            lines.append("landscape: {grid: \(l.grid), line_points: \(l.linePoints), examples: \(l.examples), margin: \(l.margin), seeds: \(l.seeds)}")
        }
        if let b = c.biasAdjust {
            lines.append("bias_adjust: {class: \(b.classIndex), held_out: \(b.heldOut), candidates: [\(b.candidates.map { "\($0)" }.joined(separator: ", "))]}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    public static func write(_ r: ExperimentResult, config: ExperimentConfig, to dir: URL) throws {
        try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(r).write(to: dir.appendingPathComponent("metrics.json"), options: .atomic)
        let curves = learningCurves(r)
        try Data(curves.utf8).write(to: dir.appendingPathComponent("learning_curves.svg"), options: .atomic)
        let fidelity = fidelityChart(r)
        try Data(fidelity.utf8).write(to: dir.appendingPathComponent("accuracy_agreement.svg"), options: .atomic)
        var extra = try fidelitySection(r, to: dir)
        if let terms = termCurvesChart(r) {
            try Data(terms.utf8).write(to: dir.appendingPathComponent("loss_terms.svg"), options: .atomic)
            extra += "\n## Loss terms\n\nEach term of the objective, its mean over every training step of an epoch (mean over seeds):\n\n![loss terms](loss_terms.svg)\n"
        }
        extra += cohortSection(r) + epochsSection(r)
        try Data(markdown(r, config: config, extra: extra).utf8).write(to: dir.appendingPathComponent("report.md"), options: .atomic)
    }

    /// The comparison of a sweep's variants: one row per variant (its distilled student), plus the
    /// teacher and the student alone from the first variant that measured them.
    public static func write(_ sweep: SweepResult, to dir: URL) throws {
        try ResultJSON.encoder([.sortedKeys, .prettyPrinted]).encode(sweep).write(to: dir.appendingPathComponent("metrics.json"), options: .atomic)
        let extra = try sweepFidelityPlots(sweep, axis: sweep.axis, xs: sweep.variants.map(\.x), to: dir)
        try Data((markdown(sweep) + extra).utf8).write(to: dir.appendingPathComponent("report.md"), options: .atomic)
        let names = sweep.variants.map(\.name)
        func stat(_ f: (SeedResult) -> Double?) -> (values: [Double], errors: [Double]?) {
            let xs = sweep.variants.map { ($0.result?.seeds ?? []).compactMap(f).filter(\.isFinite) }
            return (xs.map { $0.isEmpty ? .nan : Statistics.mean($0) }, xs.contains { $0.count > 1 } ? xs.map { Statistics.sampleStd($0) } : nil)
        }
        let acc = stat { $0.studentDistilled.test.student.accuracy }, agr = stat { $0.studentDistilled.test.agreement }
        let teacher = sweep.variants.compactMap(\.result).flatMap(\.seeds).compactMap { $0.teacher?.test.student.accuracy }.filter(\.isFinite)
        let refs = teacher.isEmpty ? [] : [(name: String(format: "teacher accuracy %.4f", Statistics.mean(teacher)), value: Statistics.mean(teacher))]
        let svg = SVGPlot.barChart(title: "\(sweep.name): distilled students", yLabel: "fraction (axis zoomed)", categories: names,
                                   series: [("test accuracy", acc.values, acc.errors), ("agreement (test)", agr.values, agr.errors)],
                                   yRange: SVGPlot.zoomedRange(acc.values + agr.values, references: refs.map(\.value)),
                                   valueLabels: { String(format: "%.4f", $0) }, references: refs)
        try Data(svg.utf8).write(to: dir.appendingPathComponent("variants.svg"), options: .atomic)
    }

    public static func markdown(_ sweep: SweepResult) -> String {
        var out = "# \(sweep.name)\n\n"
        out += String(format: "%d variants; mean ± sample std over seeds. Total time %.0f s.\n\n", sweep.variants.count, sweep.seconds)
        func ms(_ seeds: [SeedResult], _ f: (SeedResult) -> Double?, digits: Int = 4) -> String {
            let xs = seeds.compactMap(f).filter(\.isFinite)
            return xs.isEmpty ? "–" : MarkdownTable.meanStd(xs, digits: digits)
        }
        let tracked = sweep.variants.contains { ($0.result?.seeds ?? []).contains { $0.initialFidelity != nil } }
        let validated = sweep.variants.contains { ($0.result?.seeds ?? []).contains { $0.distilledBest != nil } }
        var rows: [[String]] = []
        for v in sweep.variants {
            guard let s = v.result?.seeds else {
                rows.append([v.name, v.overrides.joined(separator: " "), "failed", "–", "–", "–", "–", "–", "–", "–", "–"]
                            + (validated ? ["–", "–", "–"] : []) + (tracked ? ["–"] : []))
                continue
            }
            rows.append([v.name, (v.x.map { "x = " + Landscape.format($0) + ": " } ?? "") + v.overrides.joined(separator: " "),
                         ms(s, { $0.teacher.map { Double($0.testErrors) } }, digits: 1),
                         ms(s, { $0.studentAlone.map { Double($0.testErrors) } }, digits: 1),
                         ms(s, { Double($0.studentDistilled.testErrors) }, digits: 1),
                         ms(s, { $0.studentDistilled.train.student.accuracy }), ms(s, { $0.studentDistilled.test.student.accuracy }),
                         ms(s, { $0.studentDistilled.train.agreement }), ms(s, { $0.studentDistilled.test.agreement }),
                         ms(s, { $0.studentDistilled.train.predictiveKL }), ms(s, { $0.studentDistilled.test.predictiveKL })]
                        + (validated ? [ms(s, { $0.distilledBest?.valAccuracy }), ms(s, { $0.distilledBest?.testAccuracy }),
                                        ms(s, { $0.distilledBest.map { Double($0.epoch) } }, digits: 1)] : [])
                        + (tracked ? [ms(s, { $0.initialFidelity?.trainAgreement })] : []))
        }
        out += MarkdownTable.render(header: ["variant", "settings", "teacher test errors", "student alone test errors",
                                             "distilled test errors", "distilled train accuracy", "distilled test accuracy", "agreement (train)", "agreement (test)",
                                             "KL (train)", "KL (test)"]
                                    + (validated ? ["best epoch: validation accuracy", "best epoch: test accuracy", "best epoch"] : [])
                                    + (tracked ? ["initial agreement (train)"] : []), rows: rows)
        out += "\n\nAgreement and KL are the distilled student's, against its teacher; \"train\" is its transfer set. The student alone trains on the same labelled data with cross-entropy, from the same initialisation.\n"
        if validated {
            out += "\nColumns up to KL are the last epoch's. The best epoch is the one of the highest accuracy on the held-out validation split (`val_split`); its test accuracy was read once, at the end. Choose variants (weights, temperatures) on the validation column, never on a test column.\n"
        }
        out += "\n![variants](variants.svg)\n\nEach variant's own report is in `variant-NAME/report.md`.\n"
        for f in sweep.failures { out += "\nVariant `\(f.name)` failed: \(f.error ?? "unknown error")\n" }
        return out
    }

    static func values(_ r: ExperimentResult, _ pick: (SeedResult) -> Double?) -> [Double] {
        r.seeds.compactMap(pick).filter { $0.isFinite }
    }

    /// The Markdown report: what was run, then one row per model with accuracy, errors and fidelity.
    public static func markdown(_ r: ExperimentResult, config c: ExperimentConfig, extra: String = "") -> String {
        var out = "# \(r.name)\n\n"
        if (try? SchemeRegistry.kind(c.scheme.kind))?.usesTeacher ?? true {
            if let logits = c.teacher.logits {   // no network behind them: name the file, not a model
                out += "Data \(c.data); transfer set: \(c.transfer); teacher: the precomputed logits \(logits)"
                    + (c.teacher.testLogits.map { " (test logits \($0))" } ?? "")
            } else {
                out += "Data \(c.data); transfer set: \(c.transfer); teacher \(c.teacher.model)"
                out += c.teacher.checkpoints.isEmpty ? "" : " from " + c.teacher.checkpoints.joined(separator: ", ")
                out += c.teacher.ensemble > 1 ? " (ensemble of \(c.teacher.ensemble), mean \(c.teacher.combine.rawValue))" : ""
            }
            out += "; student \(c.student.model); objective " + c.methods.map { m in
                "\(m.weight == 1 ? "" : "\(m.weight)·")\(m.name)" + (m.options.isEmpty ? "" : "(" + m.options.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")")
            }.joined(separator: " + ")
            if c.scheme.kind == "born-again" {
                out += "; scheme born-again with \(c.scheme.generations ?? 3) generations: \"student distilled\" is generation 1, distilled from the teacher (generation 0), and each later generation from the one before"
            } else if c.scheme.kind == "teacher-assistant" {
                out += "; scheme teacher-assistant: \"student distilled\" is the student distilled directly from the teacher, \"student-via-assistants\" the same student at the end of the chain teacher → " + c.scheme.participants.map(\.name).joined(separator: " → ") + " → student"
            }
        } else {
            out += "Data \(c.data); scheme \(c.scheme.kind) of " + c.scheme.participants.map { "\($0.name) (\($0.model))" }.joined(separator: ", ")
            out += c.scheme.options.isEmpty ? "" : " with " + c.scheme.options.sorted(by: { $0.key < $1.key }).map { "\($0.key) = \($0.value)" }.joined(separator: ", ")
            out += "; \"student distilled\" is the first participant, \"student alone\" the same network from the same initialisation trained with cross-entropy alone"
        }
        if let noise = c.labelNoise {
            out += "; training labels corrupted by \(noise)" + (r.realisedNoiseRate.map { String(format: ", %.2f %% of them changed", 100 * $0) } ?? "")
                + " (test labels are clean)"
        }
        out += ". Seeds \(c.seeds.map(String.init).joined(separator: ", ")); mean ± sample std over seeds. "
        out += String(format: "Total time %.0f s.\n\n", r.seconds)
        let roles: [(String, (SeedResult) -> RoleResult?)] = [("teacher", { $0.teacher }), ("student alone", { $0.studentAlone }),
                                                             ("student distilled", { $0.studentDistilled })]
        var rows: [[String]] = []
        for (name, pick) in roles {
            let rs = r.seeds.compactMap(pick)
            guard !rs.isEmpty else { continue }
            func ms(_ f: (RoleResult) -> Double?, digits: Int = 4) -> String {
                let xs = rs.compactMap(f).filter { $0.isFinite }
                return xs.isEmpty ? "–" : MarkdownTable.meanStd(xs, digits: digits)
            }
            rows.append([name, ms({ $0.train.student.accuracy }), ms({ $0.test.student.accuracy }), ms({ Double($0.testErrors) }, digits: 1),
                         ms({ $0.test.student.negativeLogLikelihood }), ms({ $0.test.student.expectedCalibrationError }),
                         name == "teacher" ? "–" : ms({ $0.train.agreement }), name == "teacher" ? "–" : ms({ $0.test.agreement }),
                         name == "teacher" ? "–" : ms({ $0.train.predictiveKL }), name == "teacher" ? "–" : ms({ $0.test.predictiveKL })])
        }
        out += MarkdownTable.render(header: ["model", "train accuracy", "test accuracy", "test errors", "test NLL", "test ECE",
                                             "agreement (train)", "agreement (test)", "KL (train)", "KL (test)"], rows: rows)
        out += "\n\nAgreement is the fraction of inputs where student and teacher predict the same class; KL is the mean KL(teacher ‖ student) of the predictive distributions (Stanton et al., NeurIPS 2021). \"train\" is the transfer set the student was distilled on.\n"
        let biases = r.seeds.compactMap(\.biasAdjust)
        if let first = biases.first {
            out += "\n## Omitted class \(first.classIndex)\n\n"
            out += MarkdownTable.render(header: ["seed", "bias added", "test errors before", "after", "class \(first.classIndex) errors before", "after"],
                                        rows: zip(r.seeds, r.seeds.map(\.biasAdjust)).compactMap { s, b in
                guard let b else { return nil }
                return ["\(s.seed)", String(format: "%.1f", b.chosenBias), "\(b.testErrorsBefore)", "\(b.testErrorsAfter)",
                        "\(b.classTestErrorsBefore) of \(b.classTestCount)", "\(b.classTestErrorsAfter) of \(b.classTestCount)"]
            })
            out += "\n\nThe bias of the omitted class is raised by the value that maximises accuracy on held-out training examples that were not in the transfer set (Hinton et al. 2015 raised the bias of the 3s by 3.5).\n"
        }
        out += "\n![learning curves](learning_curves.svg)\n\n![accuracy and agreement](accuracy_agreement.svg)\n"
        for (k, m) in c.methods.enumerated() where m.name == "mi" {
            for s in r.seeds {
                out += "\n![λ graph, seed \(s.seed)](lambda_graph_seed-\(s.seed)_term-\(k).svg)\n"
            }
        }
        out += extra
        out += "\nPer-seed numbers are in `metrics.json`; every sub-run directory holds its own log, checkpoint and `metrics.json`.\n"
        return out
    }

    /// Each loss term's per-epoch mean (mean over seeds), one line per term; nil without terms.
    static func termCurvesChart(_ r: ExperimentResult) -> String? {
        let names = Set(r.seeds.flatMap { $0.termCurves?.keys.map { $0 } ?? [] }).sorted()
        let series = names.compactMap { n in meanCurve(n, r.seeds.compactMap { $0.termCurves?[n] }, firstEpoch: 1) }
        guard !series.isEmpty else { return nil }
        return SVGPlot.lineChart(title: "\(r.name): loss terms per epoch (mean over seeds)", xLabel: "epoch", yLabel: "term value", series: series)
    }

    /// With a validation split: the last epoch's test accuracy beside the epoch chosen on
    /// validation, its validation and its test accuracy (mean ± std over seeds).
    static func validatedEpochsSection(_ r: ExperimentResult) -> String {
        var rows: [[String]] = []
        for (name, last, best) in [("student alone", { (s: SeedResult) in s.studentAlone?.test.student.accuracy }, { (s: SeedResult) in s.aloneBest }),
                                   ("student distilled", { (s: SeedResult) in s.studentDistilled.test.student.accuracy }, { (s: SeedResult) in s.distilledBest })] {
            let bests = r.seeds.compactMap(best)
            guard !bests.isEmpty else { continue }
            let lasts = r.seeds.compactMap(last).filter(\.isFinite)
            rows.append([name, lasts.isEmpty ? "–" : MarkdownTable.meanStd(lasts, digits: 4), MarkdownTable.meanStd(bests.map { Double($0.epoch) }, digits: 1),
                         MarkdownTable.meanStd(bests.map(\.valAccuracy), digits: 4), MarkdownTable.meanStd(bests.map(\.testAccuracy), digits: 4)])
        }
        return "\n## Last and best epoch\n\n" + MarkdownTable.render(header: ["model", "test accuracy, last epoch", "best epoch (on validation)", "its validation accuracy", "its test accuracy"], rows: rows)
            + "\n\nThe best epoch is the one of the highest accuracy on the held-out validation split (`val_split`); the test set was read once, at the end, for it and for the last epoch. The learning curves above are validation accuracies.\n"
    }

    /// Test accuracy after the last epoch and at the best epoch of each run (mean ± std over seeds).
    static func epochsSection(_ r: ExperimentResult) -> String {
        if r.seeds.contains(where: { $0.distilledBest != nil || $0.aloneBest != nil }) { return validatedEpochsSection(r) }
        var rows: [[String]] = []
        for (name, curve) in [("student alone", { (s: SeedResult) in s.aloneCurve }), ("student distilled", { (s: SeedResult) in s.distilledCurve })] {
            let curves = r.seeds.map(curve).filter { !$0.isEmpty && $0.allSatisfy(\.isFinite) }
            guard !curves.isEmpty else { continue }
            let best = curves.map { $0.max()! }, at = curves.map { Double($0.firstIndex(of: $0.max()!)! + 1) }
            rows.append([name, MarkdownTable.meanStd(curves.map { $0.last! }, digits: 4), MarkdownTable.meanStd(best, digits: 4),
                         MarkdownTable.meanStd(at, digits: 1)])
        }
        guard !rows.isEmpty else { return "" }
        return "\n## Last and best epoch\n\n" + MarkdownTable.render(header: ["model", "test accuracy, last epoch", "best epoch", "epoch of the best"], rows: rows)
            + "\n\nEvery result above is the last epoch's. The best epoch is found on the test split and shown only to compare with papers that report it; nothing here is selected on it.\n"
    }

    /// The table of a cohort's participants and their ensemble (empty without a cohort).
    static func cohortSection(_ r: ExperimentResult) -> String {
        let cohorts = r.seeds.compactMap(\.cohort)
        guard let first = cohorts.first else { return "" }
        var rows: [[String]] = []
        for (i, m) in first.members.enumerated() {
            let ms = cohorts.map { $0.members[i] }
            rows.append([m.name, m.model, MarkdownTable.meanStd(ms.map { Double($0.testErrors) }, digits: 1),
                         MarkdownTable.meanStd(ms.map(\.testAccuracy), digits: 4), MarkdownTable.meanStd(ms.map(\.agreementWithFirst), digits: 4)])
        }
        rows.append(["ensemble of the rows above", "mean of probabilities", MarkdownTable.meanStd(cohorts.map { Double($0.ensembleErrors) }, digits: 1), "–", "–"])
        return "\n## Every network of the scheme\n\n" + MarkdownTable.render(header: ["participant", "model", "test errors", "test accuracy", "test agreement with \(first.reference)"], rows: rows)
            + "\n\nEvery participant after the last epoch (no epoch is chosen on the test split).\n"
    }

    static func learningCurves(_ r: ExperimentResult) -> String {
        func series(_ name: String, _ pick: (SeedResult) -> [Double]) -> Series? {
            meanCurve(name, r.seeds.map(pick).filter { !$0.isEmpty }, firstEpoch: 1)
        }
        let s = [series("student alone", { $0.aloneCurve }), series("student distilled", { $0.distilledCurve })].compactMap { $0 }
        let split = r.seeds.contains { $0.curveSplit == "validation" } ? "validation" : "test"
        return SVGPlot.lineChart(title: "\(r.name): \(split) accuracy per epoch (mean over seeds)", xLabel: "epoch", yLabel: "\(split) accuracy", series: s)
    }

    /// Mean ± sample std over seeds of per-epoch curves (one per seed), over the epochs every
    /// curve has, the first numbered `firstEpoch`; nil when there is none.
    static func meanCurve(_ name: String, _ curves: [[Double]], firstEpoch: Int) -> Series? {
        guard let n = curves.map(\.count).min(), n > 0 else { return nil }
        let pts = (0..<n).map { e in (x: Double(e + firstEpoch), y: Statistics.mean(curves.map { $0[e] })) }
        let errs = curves.count > 1 ? (0..<n).map { e in Statistics.sampleStd(curves.map { $0[e] }) } : nil
        return Series(name: name, points: pts, errors: errs)
    }

    static func fidelityChart(_ r: ExperimentResult) -> String {
        let roles: [(String, (SeedResult) -> RoleResult?)] = [("alone", { $0.studentAlone }), ("distilled", { $0.studentDistilled })]
        let present = roles.filter { role in r.seeds.contains { role.1($0) != nil } }
        func bars(_ f: (RoleResult) -> Double?) -> (values: [Double], errors: [Double]?) {
            let xs = present.map { role in r.seeds.compactMap(role.1).compactMap(f).filter(\.isFinite) }
            return (xs.map { $0.isEmpty ? .nan : Statistics.mean($0) }, r.seeds.count > 1 ? xs.map { Statistics.sampleStd($0) } : nil)
        }
        let acc = bars { $0.test.student.accuracy }, agr = bars { $0.test.agreement }
        let teacher = r.seeds.compactMap { $0.teacher?.test.student.accuracy }.filter(\.isFinite)
        let refs = teacher.isEmpty ? [] : [(name: String(format: "teacher accuracy %.4f", Statistics.mean(teacher)), value: Statistics.mean(teacher))]
        var spread: [Double] = []
        for (v, e) in [acc, agr] {
            for (i, x) in v.enumerated() {
                let err: Double = e.map { i < $0.count && $0[i].isFinite ? $0[i] : 0 } ?? 0
                spread += [x - err, x + err]
            }
        }
        return SVGPlot.barChart(title: "\(r.name): test accuracy and teacher agreement", yLabel: "fraction (axis zoomed)",
                                categories: present.map { "student \($0.0)" },
                                series: [("test accuracy", acc.values, acc.errors), ("agreement (test)", agr.values, agr.errors)],
                                yRange: SVGPlot.zoomedRange(spread, references: refs.map(\.value)),
                                valueLabels: { String(format: "%.4f", $0) }, references: refs)
    }
}
