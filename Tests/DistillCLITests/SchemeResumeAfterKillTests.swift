import XCTest
import Foundation

/// Every scheme resumes exactly: `distill run` killed with SIGKILL mid-epoch and run again ends
/// with the per-epoch history (losses, each term, accuracies) of a run that was never killed,
/// random streams included (dropout masks, jitter, the noisy teacher's noise).
final class SchemeResumeAfterKillTests: XCTestCase {
    func checkpointEvents(_ log: URL) -> [(epoch: Int, batch: Int)] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["event"] as? String == "checkpoint", let e = o["epoch"] as? Int, let b = o["batch"] as? Int else { return nil }
            return (e, b)
        }
    }

    /// The history of a finished sub-run, without wall times.
    func history(_ dir: URL) throws -> [NSDictionary] {
        let data = try Data(contentsOf: dir.appendingPathComponent("metrics.json"))
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let h = try XCTUnwrap(o["history"] as? [[String: Any]])
        return h.map { var e = $0; e["seconds"] = nil; return e as NSDictionary }
    }

    func assertKilledRunResumesExactly(_ yaml: String, subRun: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let tmp = try CLI.temporaryDirectory()
        let experiment = tmp.appendingPathComponent("e.yaml")
        try Data(yaml.utf8).write(to: experiment)
        let reference = tmp.appendingPathComponent("reference"), killed = tmp.appendingPathComponent("killed")
        let r = try CLI.run(["run", experiment.path, "--out", reference.path])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)

        let sink = FileHandle(forWritingAtPath: "/dev/null")!
        let p = try CLI.start(["run", experiment.path, "--out", killed.path], stdout: sink)
        let log = killed.appendingPathComponent(subRun).appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !checkpointEvents(log).contains(where: { $0.epoch == 1 && $0.batch > 0 }) { usleep(2_000) }
        XCTAssertTrue(p.isRunning, "the run finished before it could be killed; make it longer", file: file, line: line)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent(subRun).appendingPathComponent("metrics.json").path))

        let resumed = try CLI.run(["run", experiment.path, "--out", killed.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr, file: file, line: line)
        let a = try history(killed.appendingPathComponent(subRun)), b = try history(reference.appendingPathComponent(subRun))
        XCTAssertEqual(a.count, 3, file: file, line: line)
        XCTAssertEqual(a, b, file: file, line: line)
        XCTAssertNotNil(a.first?["terms"], "each term is logged", file: file, line: line)
        try? FileManager.default.removeItem(at: tmp)
    }

    let training = """
      train: {subset: 3000, epochs: 3, batch_size: 64, checkpoint_every: 10, augmentation: "jitter:1"}
    test_subset: 500
    seeds: [3]
    """

    func testOfflineDistillationWithANoisyTeacherAndDropoutResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: offline-resume
        teacher:
          model: "mlp:32"
          train: {subset: 1000, epochs: 1}
        student:
          model: "mlp:128x64,dropout=0.3"
          baseline: false
        \(training)
        method: ["noisy:alpha=0.5,sigma=0.5", ce]
        """, subRun: "seed-3/student-distilled")
    }

    func testMeanTeacherWithItsSamplerNoiseAndDropoutResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: mt-resume
        scheme:
          kind: mean-teacher
          participants: [{name: s, model: "mlp:128x64,dropout=0.3"}]
          labels: 300
          rampup: 2
        student:
          baseline: false
        \(training)
        """, subRun: "seed-3/cohort")
    }

    func testONEWithDropoutResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: one-resume
        scheme:
          kind: one
          participants: [{name: net, model: "one:128x64,branches=2,trunk=1,dropout=0.3"}]
        student:
          baseline: false
        \(training)
        """, subRun: "seed-3/cohort")
    }

    func testABornAgainGenerationResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: ban-resume
        scheme: {kind: born-again, generations: 2}
        teacher:
          model: "mlp:64,dropout=0.2"
          shared: false
          train: {subset: 1000, epochs: 1}
        student:
          model: "mlp:64,dropout=0.2"
          baseline: false
        \(training)
        method: kd:temperature=1
        """, subRun: "seed-3/chain-generation-2")
    }

    func testMutualLearningWithDropoutResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: dml-resume
        scheme:
          kind: mutual-learning
          participants:
            - {name: a, model: "mlp:128x64,dropout=0.3"}
            - {name: b, model: "mlp:64,dropout=0.2"}
        student:
          baseline: false
        \(training)
        """, subRun: "seed-3/cohort")
    }

    func testCoTeachingOnNoisyLabelsWithDropoutResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: coteach-resume
        label_noise: {kind: pair, rate: 0.3, seed: 4}
        scheme:
          kind: co-teaching
          participants:
            - {name: f, model: "mlp:128x64,dropout=0.3"}
            - {name: g, model: "mlp:64,dropout=0.2"}
          gradual: 2
        student:
          baseline: false
        \(training)
        """, subRun: "seed-3/cohort")
    }

    func testAnEarlyStoppedTeacherResumesExactly() throws {
        try assertKilledRunResumesExactly("""
        name: early-stop-resume
        teacher:
          model: "mlp:64,dropout=0.2"
          stop_epoch: 2
          shared: false
          train: {subset: 3000, epochs: 3, batch_size: 64, checkpoint_every: 10}
        student:
          model: "mlp:32"
          baseline: false
          train: {subset: 1000, epochs: 1}
        test_subset: 500
        seeds: [3]
        method: kd:temperature=2
        """, subRun: "seed-3/teacher-0")
    }
}
