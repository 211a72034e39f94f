import ArgumentParser
import DistillCore
import DistillNN
import Distill
import Foundation

struct DistillOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill",
        abstract: "Distil a student from teacher checkpoint(s) without an experiment file.")

    @Option(help: "Teacher checkpoint (model.safetensors); repeat for an ensemble.") var teacher: [String] = []
    @Option(name: .customLong("teacher-model"), help: "Teacher model spec (default: recorded in the checkpoint).") var teacherModel: String?
    @Option(name: .customLong("teacher-logits"), help: "Precomputed teacher logits [N, classes] (.npy) on the training set, instead of checkpoints.") var teacherLogits: String?
    @Option(help: "ensemble target: probabilities or logits.") var combine = "probabilities"
    @Option(help: "Student model spec.") var student = "mlp:800x800"
    @Option(help: "Method spec, e.g. hinton:temperature=4,alpha=0.9 or kd*0.9:temperature=4 (repeat to sum terms).") var method: [String] = ["hinton"]
    @Option var data = "fashion-mnist"
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Also train the student alone for comparison.") var baseline = false
    @Option(name: .customLong("out")) var out = "runs/distill"
    @Flag var quiet = false

    func run() throws {
        try reportingErrors {
            var c = ExperimentConfig()
            c.name = "distill"
            c.data = data
            // the objective first: a bad --method is refused before any file is read
            c.methods = try method.map { try MethodSpec(parsing: $0) }
            for m in c.methods { _ = try MethodRegistry.make(m.name, options: m.options) }
            if let l = teacherLogits {
                c.teacher.logits = l
            } else {
                guard !teacher.isEmpty else { throw TrainingError.badValue(field: "teacher", value: "", expected: "at least one --teacher checkpoint or --teacher-logits") }
                c.teacher.checkpoints = teacher
                c.teacher.ensemble = teacher.count
                c.teacher.model = try ModelFile.read(teacher[0], model: teacherModel, modelFlag: "--teacher-model").spec
            }
            guard let comb = EnsembleTeacher.Combine(rawValue: combine) else {
                throw TrainingError.badValue(field: "combine", value: combine, expected: "probabilities or logits")
            }
            c.teacher.combine = comb
            c.student.model = student
            c.student.baseline = baseline
            let t = try training.config(model: student, data: data)
            if t.labelSmoothing != nil {
                throw TrainingError.badValue(field: "label-smoothing", value: "\(t.labelSmoothing!)", expected: "no value: the distilled student's objective is --method (ce:label_smoothing=ε)")
            }
            c.seeds = [t.seed]
            c.student.train = t
            let runner = ExperimentRunner(config: c, directory: URL(fileURLWithPath: out))
            runner.showProgress = !quiet
            try Distributed.attach(runner, threadsGiven: training.threads != nil)
            let r = try runner.run()
            if runner.parallel?.isWriter ?? true { print(ExperimentReport.markdown(r, config: c)) }
        }
    }
}
