import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// config.json as one JSON object, refusals that name only the keys that differ, and runs
/// continued for more epochs.
final class RunSettingsTests: XCTestCase {
    func testARunContinuedForMoreEpochsOfAConstantScheduleEqualsAnUninterruptedLongerRun() throws {
        let a = try ToyRun.directory(), b = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let long = try ToyRun.loop(ToyRun.config(epochs: 5, schedule: "constant"), dir: a)
        try long.run()
        try ToyRun.loop(ToyRun.config(epochs: 2, schedule: "constant"), dir: b).run()
        let more = try ToyRun.loop(ToyRun.config(epochs: 5, schedule: "constant"), dir: b)
        more.allowsMoreEpochs = true
        try more.run(resume: true)
        XCTAssertEqual(try ToyRun.timeless(more.history), try ToyRun.timeless(long.history))
        XCTAssertEqual(more.best, long.best)
        for f in ["metrics.csv", "steps.csv"] {
            XCTAssertEqual(try ToyRun.timeless(csv: b.appendingPathComponent(f)), try ToyRun.timeless(csv: a.appendingPathComponent(f)), f)
        }
        XCTAssertTrue(try String(contentsOf: b.appendingPathComponent("config.json"), encoding: .utf8).contains("\"epochs\":5"))
        // fewer epochs than done: refused
        let fewer = try ToyRun.loop(ToyRun.config(epochs: 4, schedule: "constant"), dir: b)
        fewer.allowsMoreEpochs = true
        XCTAssertThrowsError(try fewer.run(resume: true)) { XCTAssertTrue("\($0)".contains("at least the 5 epochs"), "\($0)") }
        // without allowsMoreEpochs (experiments), another epoch count is another configuration
        XCTAssertThrowsError(try ToyRun.loop(ToyRun.config(epochs: 6, schedule: "constant"), dir: b).run(resume: true)) {
            XCTAssertTrue("\($0)".contains("epochs: 5 → 6"), "\($0)")
        }
    }

    func testACosineRunContinuedFollowsTheLongerScheduleFromTheResumedStep() throws {
        let a = try ToyRun.directory(), b = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let short = try ToyRun.loop(ToyRun.config(epochs: 2), dir: b)
        try short.run()
        let long = try ToyRun.loop(ToyRun.config(epochs: 4), dir: a)
        try long.run()
        let more = try ToyRun.loop(ToyRun.config(epochs: 4), dir: b)
        more.allowsMoreEpochs = true
        try more.run(resume: true)
        XCTAssertEqual(try ToyRun.timeless(Array(more.history.prefix(2))), try ToyRun.timeless(short.history.map { var r = $0; r.testAccuracy = .nan; r.testNLL = .nan; r.testTop5 = nil; return r }),
                       "the first epochs are the short run's (its last test numbers were never checkpointed)")
        // from the resumed step on, the learning rate is the 4-epoch cosine's: the same as the long run's at the same steps
        let steps = try CSVLog.read(b.appendingPathComponent("steps.csv")).rows, longSteps = try CSVLog.read(a.appendingPathComponent("steps.csv")).rows
        XCTAssertEqual(steps.count, 16)
        XCTAssertEqual(steps[8...].map { $0["learning_rate"] }, longSteps[8...].map { $0["learning_rate"] })
        XCTAssertNotEqual(steps[..<8].map { $0["learning_rate"] }, longSteps[..<8].map { $0["learning_rate"] })
        XCTAssertNotEqual(try ToyRun.timeless(more.history), try ToyRun.timeless(long.history), "equals neither run")
    }

    func testARefusalNamesOnlyTheKeysThatDiffer() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ToyRun.loop(ToyRun.config(epochs: 1), dir: dir).run()
        var c = ToyRun.config(epochs: 1)
        c.learningRate = 0.5; c.valSeed = 3
        XCTAssertThrowsError(try ToyRun.loop(c, dir: dir).run(resume: true)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("learning_rate: 0.3 → 0.5") && text.contains("val_seed: (absent) → 3"), text)
            XCTAssertFalse(text.contains("momentum") || text.contains("batch_size"), text)
        }
        let l = try ToyRun.loop(ToyRun.config(epochs: 1), dir: dir)
        l.dataIdentity = "label noise 0.2"
        XCTAssertThrowsError(try l.checkExistingRun()) { XCTAssertTrue("\($0)".contains("data_identity: \"\" → \"label noise 0.2\""), "\($0)") }
    }

    func testConfigJSONIsOneObjectAndTheFormerFormatIsStillRead() throws {
        var c = TrainingConfig()
        c.labelSmoothing = 0.2
        let s = try RunSettings(config: c, scheme: "methods [\"kd\"] teacher mlp:64", data: "")
        let text = try s.json()
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(Set(o.keys), ["config", "scheme", "data"])
        XCTAssertTrue(text.contains("\"label_smoothing\":0.2"), text)
        XCTAssertEqual(RunSettings.parse(text, scheme: "", data: "")?.differences(from: s), [])
        // the former format: the config's JSON, then " SCHEME", then " data DATA"
        let config = String(decoding: try { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return try e.encode(c) }(), as: UTF8.self)
        for (scheme, data) in [("", ""), ("link b from a {\"x\": 1}", ""), ("", "symmetric 0.2"), ("methods [\"kd\"]", "pair 0.4")] {
            let former = config + (scheme.isEmpty ? "" : " " + scheme) + (data.isEmpty ? "" : " data " + data)
            let now = try RunSettings(config: c, scheme: scheme, data: data)
            XCTAssertEqual(RunSettings.parse(former, scheme: scheme, data: data).map { now.differences(from: $0) }, [], former)
            let other = try RunSettings(config: c, scheme: scheme + "!", data: data)
            XCTAssertEqual(RunSettings.parse(former, scheme: other.scheme, data: data).map { other.differences(from: $0).map(\.key) }, ["scheme"], former)
        }
        XCTAssertNil(RunSettings.parse("not json", scheme: "", data: ""))
    }

    func testACheckpointOfTheFormerFormatResumes() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = ToyRun.config(epochs: 2)
        try ToyRun.loop(ToyRun.config(epochs: 1), dir: dir).run()
        // rewrite the checkpoint's settings as the build before RunSettings wrote them
        let path = dir.appendingPathComponent("checkpoint.safetensors").path
        let file = try SafeTensors.read(from: path)
        var meta = file.metadata
        var one = c; one.epochs = 1
        let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
        meta["config"] = String(decoding: try e.encode(one), as: UTF8.self)
        try SafeTensors(tensors: file.tensors, metadata: TrainingCheckpoint.withChecksums(meta, tensors: file.tensors)).write(to: path)
        XCTAssertEqual(try ToyRun.loop(one, dir: dir).checkExistingRun(), 1)
        let more = try ToyRun.loop(c, dir: dir)
        more.allowsMoreEpochs = true
        XCTAssertEqual(try more.run(resume: true).count, 2)
    }

    func testEveryConfigJSONOfAnExperimentIsValidJSON() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let config = try ExperimentConfig.parse("""
        name: json
        transfer: {kind: subset, count: 300}
        teacher: {model: "mlp:16", train: {epochs: 1, subset: 600}}
        student: {model: "mlp:8", train: {epochs: 2, val_split: 0.2}}
        label_noise: {rate: 0.1}
        test_subset: 200
        method: hinton:temperature=4
        """, file: "json.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distill-json-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let runner = ExperimentRunner(config: config, directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        try runner.run()
        let files = FileManager.default.enumerator(atPath: dir.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix("config.json") }
        XCTAssertEqual(files.count, 3, "\(files)")   // the teacher, the student alone and the distilled student
        for f in files {
            let o = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(f))) as? [String: Any]
            XCTAssertNotNil(o?["config"] as? [String: Any], f)
            XCTAssertTrue(o?["data"] as? String == "\(config.labelNoise!)", f)
        }
        let distilled = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("seed-0/student-distilled/config.json"))) as? [String: Any]
        XCTAssertTrue((distilled?["scheme"] as? String)?.contains("hinton") == true, "\(String(describing: distilled))")
        XCTAssertEqual((distilled?["config"] as? [String: Any])?["val_split"] as? Double, 0.2)
        // the students chose their best epoch on 60 held-out transfer examples
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("seed-0/student-distilled/metrics.json"))) as? [String: Any]
        XCTAssertNotNil((metrics?["best"] as? [String: Any])?["epoch"], "\(String(describing: metrics))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("seed-0/student-alone/best.safetensors").path))
    }
}
