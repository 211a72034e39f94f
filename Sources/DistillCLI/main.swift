import ArgumentParser
import Distill

/// `distill`: train, distil, evaluate and compare models from the command line.
struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Knowledge distillation in Swift: train teachers, distil students, measure fidelity.",
        version: "distill \(DistillVersion.string)",
        subcommands: [Train.self, Evaluate.self, Predict.self, Export.self, Logits.self, Models.self, Methods.self, Run.self, DistillOnce.self, Compare.self, Condense.self, DataFree.self])
}

WaitPolicy.apply()
Distill.main()
