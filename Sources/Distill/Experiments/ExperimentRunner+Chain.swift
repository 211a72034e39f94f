import DistillCore
import DistillData
import DistillNN
import Foundation

/// Schemes that distil in chains, each link an offline distillation run by the same loop from the
/// network of the link before, with the experiment's objective:
/// - born-again networks (Furlanello, Lipton, Tschannen, Itti & Anandkumar, ICML 2018): the
///   teacher is generation 0, the distilled student generation 1, and each later generation, a
///   fresh network of the same architecture, learns from the one before; the ensemble of the
///   student generations (mean of probabilities) is the final model of the paper's BANE;
/// - teacher-assistant chains (Mirzadeh, Farajtabar, Li, Levine, Matsukawa & Ghasemzadeh,
///   AAAI 2020): teacher → assistant(s) → student, against the student distilled directly.
/// Each link lives in `DIR/seed-S/chain-NAME` and is a fresh object (a born-again student that is
/// its own teacher would reset both at once: a defect of a peer library, tested against).
extension ExperimentRunner {
    /// One link after the directly distilled student: its name, model and initialisation seed.
    struct ChainLink {
        var name: String
        var model: String
        var seed: UInt64
    }

    func chainLinks(seed: UInt64) -> [ChainLink] {
        switch config.scheme.kind {
        case "born-again":
            let k = config.scheme.generations ?? 3
            return k < 2 ? [] : (2...k).map { g in
                ChainLink(name: "generation-\(g)", model: config.student.model, seed: seed &* 1000 &+ UInt64(g))
            }
        case "teacher-assistant":
            let assistants = config.scheme.participants.enumerated().map { i, p in
                ChainLink(name: p.name, model: p.model, seed: seed &* 1000 &+ UInt64(i + 1))
            }
            // the student at the end of the chain starts where the direct student and the student alone start
            return assistants + [ChainLink(name: "student-via-assistants", model: config.student.model, seed: seed)]
        default:
            return []
        }
    }

    /// Runs the links after the directly distilled student `first` and measures every network of
    /// the chain on the test split; nil for schemes without a chain.
    func continueChain(seed: UInt64, input: ModelInput, splits: Splits, config scfg: TrainingConfig, first: Module,
                       teacher: Teacher, teacherTest: Tensor?) throws -> CohortResult? {
        guard ["born-again", "teacher-assistant"].contains(config.scheme.kind) else { return nil }
        let bornAgain = config.scheme.kind == "born-again"
        var networks: [(name: String, model: String, module: Module)] = bornAgain ? [("generation-1", config.student.model, first)] : []
        var previous: Teacher = bornAgain ? ModelTeacher(first, classCount: splits.test.classCount) : teacher
        var previousName = bornAgain ? "generation-1" : "teacher"
        for link in chainLinks(seed: seed) {
            say("chain link \(link.name) (\(link.model)), distilled from \(previousName)")
            let module = try ModelZoo.make(link.model, input: input, seed: link.seed)
            var cfg = scfg
            cfg.model = link.model
            _ = try distil(module, spec: link.model, from: previous, teacherTrain: try previous.logits(on: splits.transfer), splits: splits,
                           config: cfg, dir: directory.appendingPathComponent("seed-\(seed)/chain-\(link.name)"),
                           identity: distillationIdentity() + " chain \(config.scheme.kind) link \(link.name) from \(previousName)")
            networks.append((link.name, link.model, module))
            previous = ModelTeacher(module, classCount: splits.test.classCount)
            previousName = link.name
        }
        let logits = try networks.map { try Evaluation.logits(of: $0.module, on: splits.test) }
        let reference = teacherTest ?? logits[0]
        let members = zip(networks, logits).map { n, l in
            CohortResult.Member(name: n.name, model: n.model, testErrors: errors(l, splits.test.labels),
                                testAccuracy: Metrics.accuracy(logits: l, labels: splits.test.labels),
                                agreementWithFirst: Metrics.agreement(l, reference))
        }
        return CohortResult(members: members, ensembleErrors: errors(EnsembleTarget.meanProbabilities(logits), splits.test.labels),
                            reference: teacherTest == nil ? networks[0].name : "teacher")
    }
}
