import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import Distill
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Accuracy, NLL and calibration error of a model checkpoint on a data split.")

    @Option(help: "A model.safetensors (or a checkpoint written by PyTorch with the same names).") var checkpoint: String
    @Option(help: "Model spec; defaults to the one recorded in the checkpoint.") var model: String?
    @Option var data = "fashion-mnist"
    @Option(help: "train or test.") var split = "test"
    @Option(help: "Evaluate on the first N examples of the split only.") var subset: Int?
    @Option(name: .customLong("batch-size")) var batchSize = 500
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            guard let s = DatasetSplit(rawValue: split) else {
                throw TrainingError.badValue(field: "split", value: split, expected: "train or test")
            }
            let file = try ModelFile.read(checkpoint, model: model)
            let dataset = try OptionValues.first(subset, of: try DataSpec(data).load(s))
            let spec = file.spec
            try file.check(fits: dataset, data: data)
            let (net, note) = try file.module(input: DataSpec.modelInput(for: dataset))
            if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            let logits: Tensor
            do { logits = try Evaluation.logits(of: net, on: dataset, batchSize: batchSize) } catch let e as EvaluationError {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: "\(e)")
            }
            let m = EvaluationReport(logits: logits, labels: dataset.labels)
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try enc.encode(m), as: UTF8.self))
            } else {
                print(String(format: "%@ on %@ %@: accuracy %.4f (%d errors of %d)%@, NLL %.4f, ECE %.4f",
                              spec, data, split, m.accuracy, m.errors, m.count, m.top5.map { String(format: ", top-5 %.4f", $0) } ?? "", m.nll, m.ece))
            }
        }
    }
}
