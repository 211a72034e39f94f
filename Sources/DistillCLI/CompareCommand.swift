import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import Distill
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy, agreement and predictive KL of student checkpoints against a teacher, on the train and test splits side by side.")

    @Option(help: "Teacher checkpoint (repeat for an ensemble, mean of probabilities).") var teacher: [String]
    @Option(help: "Student checkpoint (repeatable).") var student: [String]
    @Option var data = "fashion-mnist"
    @Option(help: "Evaluate on the first N training examples only (faster).") var subset: Int?
    @Flag(help: "Print JSON.") var json = false

    static func load(_ path: String, for dataset: Dataset, data: String) throws -> Module {
        try ModelFile.load(path, for: dataset, data: data) { FileHandle.standardError.write(Data("note: \($0)\n".utf8)) }
    }

    /// Runs `body`, naming `path` in an evaluation error (NaN or infinite outputs).
    static func named<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as EvaluationError {
            throw TrainingError.checkpointMismatch(path: path, detail: "\(e)")
        }
    }

    func run() throws {
        try reportingErrors {
            guard !teacher.isEmpty, !student.isEmpty else {
                throw TrainingError.badValue(field: "teacher/student", value: "", expected: "at least one --teacher and one --student checkpoint")
            }
            let spec = try DataSpec(data)
            let train = try OptionValues.first(subset, of: try spec.load(.train))
            let test = try spec.load(.test)
                        let members = try teacher.map { try Compare.load($0, for: train, data: data) }
            let t: Teacher = members.count == 1 ? ModelTeacher(members[0], classCount: train.classCount) : EnsembleTeacher(members, classCount: train.classCount)
            let teacherPath = teacher.joined(separator: ", ")
            let tTrain = try Compare.named(teacherPath) { try t.logits(on: train) }, tTest = try Compare.named(teacherPath) { try t.logits(on: test) }
            var reports: [(String, FidelityReport, FidelityReport)] = [
                ("teacher", FidelityReport.measure(tTrain, teacher: nil, labels: train.labels, split: "train"),
                 FidelityReport.measure(tTest, teacher: nil, labels: test.labels, split: "test"))]
            for path in student {
                let s = try Compare.load(path, for: train, data: data)
                let sTrain = try Compare.named(path) { try Evaluation.logits(of: s, on: train) }
                let sTest = try Compare.named(path) { try Evaluation.logits(of: s, on: test) }
                reports.append((path, FidelityReport.measure(sTrain, teacher: tTrain, labels: train.labels, split: "train"),
                                FidelityReport.measure(sTest, teacher: tTest, labels: test.labels, split: "test")))
            }
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
                let obj = reports.map { ["model": AnyCodable.string($0.0), "train": .report($0.1), "test": .report($0.2)] }
                print(String(decoding: try enc.encode(obj), as: UTF8.self))
                return
            }
            func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "–" }
            let rows = reports.map { [$0.0, f($0.1.student.accuracy), f($0.2.student.accuracy), f($0.1.agreement), f($0.2.agreement),
                                      f($0.1.predictiveKL), f($0.2.predictiveKL), f($0.2.student.expectedCalibrationError)] }
            print(MarkdownTable.render(header: ["model", "accuracy (train)", "accuracy (test)", "agreement (train)", "agreement (test)",
                                                "KL (train)", "KL (test)", "ECE (test)"], rows: rows))
        }
    }
}

/// Either a string or a fidelity report, for JSON output.
enum AnyCodable: Encodable {
    case string(String), report(FidelityReport)
    func encode(to e: Encoder) throws {
        var c = e.singleValueContainer()
        switch self { case .string(let s): try c.encode(s); case .report(let r): try c.encode(r) }
    }
}
