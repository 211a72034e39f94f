import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import Distill
import Foundation

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A teacher's logits on a data split as .npy [examples, classes] (offline distillation with --teacher-logits); under mpirun each process computes its share of the batches and rank 0 writes the gathered table.")

    @Option(help: "Teacher model file (repeat for an ensemble, mean of probabilities).") var teacher: [String]
    @Option(help: "Model spec when the file records none.") var model: String?
    @Option var data = "fashion-mnist"
    @Option(help: "train or test.") var split = "train"
    @Option(help: "The first N examples only.") var subset: Int?
    @Option(name: .customLong("batch-size")) var batchSize = 500
    @Option(help: "Where to write the .npy file.") var out: String
    @Option(help: "Threads for the kernels.") var threads: Int?

    func run() throws {
        try reportingErrors {
            let parallel = try Distributed.start(threadsGiven: threads != nil)
            try OptionValues.setThreads(threads)
            guard !teacher.isEmpty else { throw TrainingError.badValue(field: "teacher", value: "", expected: "at least one --teacher model file") }
            guard let s = DatasetSplit(rawValue: split) else { throw TrainingError.badValue(field: "split", value: split, expected: "train or test") }
            guard (1...Limits.maxBatchSize).contains(batchSize) else { throw TrainingError.badValue(field: "batch-size", value: "\(batchSize)", expected: "an integer in 1…\(Limits.maxBatchSize)") }
            let dataset = try OptionValues.first(subset, of: try DataSpec(data).load(s))
            let members = try teacher.map { try ModelFile.load($0, for: dataset, data: data, model: model) }
            let t: Teacher = members.count == 1 ? ModelTeacher(members[0], classCount: dataset.classCount) : EnsembleTeacher(members, classCount: dataset.classCount)
            let table = try ShardedLogits.compute(t, on: dataset, batchSize: batchSize, parallel: parallel)
            guard parallel?.isWriter ?? true else { return }
            try NumPy.write(NumPyArray(table), to: out)
            FileHandle.standardError.write(Data("wrote \(out): logits [\(table.shape[0]), \(table.shape[1])] of \(teacher.joined(separator: ", ")) on \(data) \(split)\(parallel.map { ", computed by \($0.size) processes" } ?? "")\n".utf8))
        }
    }
}
