import ArgumentParser
import DistillCore
import Distill
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a declarative experiment file (YAML): teachers, students, methods, seeds; writes a report.",
        discussion: "Any key can be overridden: --set student.train.epochs=5 --set seeds=[0,1,2]. A run directory that already holds finished sub-runs reuses them and resumes interrupted ones.")

    @Argument(help: "The experiment file.") var file: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. teacher.train.epochs=3 (repeatable).") var overrides: [String] = []
    @Option(name: .customLong("out"), help: "Run directory (default: runs/NAME, or runs/NAME-short with --short).") var out: String?
    @Option(name: .customLong("teachers"), help: "Where shared teachers are trained and found (default: DIR/teachers); studies that name the same teacher share it.") var teachers: String?
    @Flag(help: "Run the file's short version (its 'short:' overrides, then yours).") var short = false
    @Flag(help: "No progress bars.") var quiet = false

    func run() throws {
        try reportingErrors {
            switch try ExperimentKind.of(path: file, overrides: overrides) {
            case .condense: return try runCondense()
            case .datafree: return try runDataFree()
            case .distill: break
            }
            let config = try ExperimentConfig.load(path: file, overrides: overrides, short: short)
            let dir = URL(fileURLWithPath: out ?? "runs/\(config.name)\(short ? "-short" : "")")
            let runner = ExperimentRunner(config: config, directory: dir)
            if let t = teachers { runner.teacherRoot = URL(fileURLWithPath: t) }
            runner.showProgress = !quiet
            try Distributed.attach(runner, threadsGiven: config.threads != nil)
            let writer = runner.parallel?.isWriter ?? true
            if !config.variants.isEmpty {
                let sweep = try runner.runSweep()
                if writer {
                    print(ExperimentReport.markdown(sweep))
                    print("written to \(dir.path)/report.md")
                }
                if !sweep.failures.isEmpty {
                    throw TrainingError.failedVariants(sweep.failures.map(\.name))
                }
                return
            }
            let result = try runner.run()
            guard writer else { return }
            print(ExperimentReport.markdown(result, config: config))
            print("written to \(dir.path)/report.md")
        }
    }

    func directory(_ name: String) -> URL { URL(fileURLWithPath: out ?? "runs/\(name)\(short ? "-short" : "")") }
    func say(_ line: String) { if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) } }

    /// A `kind: condense` file: one condensation per seed, a summary over seeds.
    func runCondense() throws {
        let e = try CondenseExperiment.load(path: file, overrides: overrides, short: short)
        let dir = directory(e.name)
        let runs = try e.run(directory: dir, log: say)
        print(CondenseExperiment.markdown(name: e.name, plan: e.plan, runs))
        print("written to \(dir.path)/report.md")
    }

    /// A `kind: datafree` file: the teacher once, one data-free distillation per seed, a summary.
    func runDataFree() throws {
        let e = try DataFreeExperiment.load(path: file, overrides: overrides, short: short)
        let dir = directory(e.name)
        let runs = try e.run(directory: dir, teacherRoot: teachers.map { URL(fileURLWithPath: $0) }, log: say)
        print(DataFreeExperiment.markdown(name: e.name, runs))
        print("written to \(dir.path)/report.md")
    }
}
