import DistillCore
import DistillData
import DistillNN
import Foundation

/// Schemes whose participants teach each other (no pre-trained teacher): for every seed, the
/// first participant's model trained alone (the baseline, same initialisation and data order)
/// and the cohort trained together in `DIR/seed-S/cohort`.
extension ExperimentRunner {
    /// What a teacher-less scheme trains on, and what the first participant alone trains on.
    struct CohortData {
        var train: Dataset
        var baseline: Dataset
        /// Epochs of the student alone (mean teacher: as many steps as the scheme takes).
        var baselineEpochs: Int
        /// The labelled pool of a semi-supervised scheme.
        var labelled: Dataset?
        /// The model the student alone is (the first participant's, or for ONE one branch's).
        var baselineModel: String
    }

    func cohortData(_ splits: Splits) throws -> CohortData {
        let train = config.student.train, first = config.scheme.participants[0].model
        switch config.scheme.kind {
        case "mean-teacher":
            let all = splits.transfer
            let n = try config.scheme.int("labels", default: 1000, min: 1)
            guard n < all.count else {
                throw TrainingError.badValue(field: "scheme.labels", value: "\(n)", expected: "fewer than the \(all.count) training examples (the rest are unlabelled)")
            }
            var labels = all.labels.scalars
            for i in n..<all.count { labels[i] = Dataset.unlabelledMarker }
            let semi = Dataset(name: "\(all.name) (first \(n) labelled, \(all.count - n) unlabelled)", images: all.images,
                               labels: IntTensor(labels), classCount: all.classCount)
            let perEpoch = (all.count + train.batchSize - 1) / train.batchSize, labelledPerEpoch = (n + train.batchSize - 1) / train.batchSize
            return CohortData(train: semi, baseline: all.first(n), baselineEpochs: (train.epochs * perEpoch + labelledPerEpoch - 1) / labelledPerEpoch,
                              labelled: all.first(n), baselineModel: first)
        case "one":
            let net = try ModelZoo.make(first, input: DataSpec.modelInput(for: splits.transfer)) as? OneNetwork
            return CohortData(train: splits.transfer, baseline: splits.baselineTrain, baselineEpochs: train.epochs, labelled: nil,
                              baselineModel: net?.branchSpec ?? first)
        default:
            return CohortData(train: splits.transfer, baseline: splits.baselineTrain, baselineEpochs: train.epochs, labelled: nil, baselineModel: first)
        }
    }

    /// The scheme of `config.scheme` over freshly initialised participants for `seed` (the first
    /// one initialised exactly as the student alone; the others from seeds `seed·1000 + k`).
    func makeCohortScheme(seed: UInt64, input: ModelInput, train: TrainingConfig, data: CohortData, trueLabels: [Int]? = nil) throws -> TrainingScheme {
        let spec = config.scheme
        let cohort = try spec.participants.enumerated().map { k, p in
            (name: p.name, module: try ModelZoo.make(p.model, input: input, seed: k == 0 ? seed : seed &* 1000 &+ UInt64(k)), spec: p.model)
        }
        switch spec.kind {
        case "mutual-learning":
            return try MutualLearning(cohort: cohort, config: train, temperature: try spec.float("temperature", default: 1),
                                      update: MutualLearning.Update(rawValue: spec.options["update"] ?? "simultaneous") ?? .simultaneous)
        case "one":
            guard let net = cohort[0].module as? OneNetwork else {
                throw TrainingError.badValue(field: "scheme.participants.0.model", value: cohort[0].spec, expected: "a multi-branch network (one:…)")
            }
            return try OnTheFlyNativeEnsemble(network: net, spec: cohort[0].spec, config: train, temperature: try spec.float("temperature", default: 3))
        case "co-teaching":
            return try CoTeaching(pair: cohort, config: train, options: try spec.coTeachingOptions(noiseRate: config.labelNoise?.rate),
                                  trueLabels: trueLabels)
        case "mean-teacher":
            let p = spec.participants[0]
            return try MeanTeacher(student: cohort[0].module, makeTeacher: { try ModelZoo.make(p.model, input: input, seed: seed) }, spec: p.model,
                                   labelled: data.labelled!, config: train, options: try spec.meanTeacherOptions(seed: seed &+ 7919))
        default:
            throw TrainingError.badValue(field: "scheme.kind", value: spec.kind, expected: "a scheme whose participants teach each other")
        }
    }

    func runCohort(start: Double) throws -> ExperimentResult {
        let splits = try splits()
        say("\(config.name): \(config.data), scheme \(config.scheme.kind) of \(config.scheme.participants.map { "\($0.name) (\($0.model))" }.joined(separator: ", ")), seeds \(config.seeds)")
        let data = try cohortData(splits)
        var results: [SeedResult] = []
        for (k, seed) in config.seeds.enumerated() {
            say("[seed \(seed), \(k + 1)/\(config.seeds.count)]")
            let input = DataSpec.modelInput(for: splits.transfer)
            var scfg = config.student.train
            scfg.seed = seed
            let first = config.scheme.participants[0]
            var alone: RoleResult? = nil, aloneHistory: [EpochRecord] = []
            if config.student.baseline {
                say("student alone: \(data.baselineModel)")
                let m = try ModelZoo.make(data.baselineModel, input: input, seed: seed)
                var acfg = scfg
                acfg.model = data.baselineModel
                acfg.epochs = data.baselineEpochs
                let dir = baselineRoot.map {
                    $0.appendingPathComponent(ExperimentRunner.runKey(model: data.baselineModel, train: acfg, extra: "\(config.data)|\(config.transfer)\(dataIdentity)"))
                } ?? directory.appendingPathComponent("seed-\(seed)/student-alone")
                aloneHistory = try trainOrReuse(acfg, model: m, train: data.baseline, test: splits.test, dir: dir)
                alone = try role(m, teacherTrain: nil, teacherTest: nil, splits: splits, history: aloneHistory)
            }
            say("cohort (\(config.scheme.kind)): \(config.scheme.participants.map(\.name).joined(separator: ", "))")
            let scheme = try makeCohortScheme(seed: seed, input: input, train: scfg, data: data, trueLabels: splits.trueTransferLabels)
            var ccfg = scfg
            ccfg.model = first.model
            let history = try trainOrReuse(ccfg, scheme: scheme, train: data.train, test: splits.test,
                                           dir: directory.appendingPathComponent("seed-\(seed)/cohort"))
            let lead = scheme.member(scheme.evaluated).module
            let distilled = try role(lead, teacherTrain: nil, teacherTest: nil, splits: splits, history: history)
            let logits = try scheme.members.map { try Evaluation.logits(of: $0.module, on: splits.test) }
            let members = zip(scheme.members, logits).map { m, l in
                CohortResult.Member(name: m.name, model: m.spec ?? "", testErrors: errors(l, splits.test.labels),
                                    testAccuracy: Metrics.accuracy(logits: l, labels: splits.test.labels),
                                    agreementWithFirst: Metrics.agreement(l, logits[0]))
            }
            let ensemble = EnsembleTarget.meanProbabilities(logits)
            var r = SeedResult(seed: seed, teacher: nil, studentAlone: alone, studentDistilled: distilled, biasAdjust: nil,
                               distilledCurve: history.map(\.curveAccuracy), aloneCurve: aloneHistory.map(\.curveAccuracy))
            r.termCurves = ExperimentRunner.termCurves(history)
            r.curveSplit = history.contains { $0.valAccuracy != nil } ? "validation" : nil
            r.cohort = CohortResult(members: members, ensembleErrors: errors(ensemble, splits.test.labels), reference: scheme.members[0].name)
            results.append(r)
        }
        var result = ExperimentResult(name: config.name, seeds: results, summary: ExperimentResult.summarize(results),
                                      seconds: ProgressBar.now() - start)
        result.realisedNoiseRate = splits.realisedNoiseRate
        if isWriter { try ExperimentReport.write(result, config: config, to: directory) }
        return result
    }

    /// Each term's per-epoch mean over a run's history (nil when no epoch logged terms).
    static func termCurves(_ history: [EpochRecord]) -> [String: [Double]]? {
        let names = Set(history.flatMap { $0.terms?.keys.map { $0 } ?? [] })
        guard !names.isEmpty else { return nil }
        return Dictionary(uniqueKeysWithValues: names.map { n in (n, history.map { $0.terms?[n] ?? .nan }) })
    }
}
