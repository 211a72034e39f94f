import XCTest
import DistillCore
import DistillData
@testable import Distill

/// The short versions of the shipped scheme experiments run end to end: the report has the
/// cohort table and the loss-term curves; mean teacher trains the student alone on the labelled
/// images for as many steps as the scheme takes, and the scheme sees the rest unlabelled.
final class SchemeExperimentsTests: XCTestCase {
    func run(_ file: String) throws -> (ExperimentConfig, ExperimentResult, URL) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ExperimentConfig.load(path: root.appendingPathComponent("experiments/\(file)").path, short: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distill-scheme-\(UUID().uuidString)")
        let runner = ExperimentRunner(config: config, directory: dir)
        runner.showProgress = false
        runner.say = { _ in }
        return (config, try runner.run(), dir)
    }

    func testShortMutualLearning() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (config, r, dir) = try run("mutual-learning-fashion-mnist.yaml")
        let cohort = try XCTUnwrap(r.seeds[0].cohort)
        XCTAssertEqual(cohort.members.map(\.name), config.scheme.participants.map(\.name))
        XCTAssertEqual(cohort.members[0].testErrors, r.seeds[0].studentDistilled.testErrors)
        XCTAssertEqual(Set(r.seeds[0].termCurves?.keys.map { $0 } ?? []), ["ce.a", "ce.b", "kl.a", "kl.b"])
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("## Cohort") && report.contains("loss_terms.svg"), report)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("seed-0/cohort/b.safetensors").path))
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortMeanTeacher() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (config, r, dir) = try run("mean-teacher-fashion-mnist.yaml")
        // 1,200 examples, 200 labelled, batch 128: 10 steps an epoch for the scheme, 2 for the student alone
        XCTAssertEqual(config.scheme.options["labels"], "200")
        XCTAssertEqual(r.seeds[0].aloneCurve.count, 2 * 10 / 2, "the student alone takes as many steps")
        XCTAssertEqual(r.seeds[0].distilledCurve.count, 2)
        XCTAssertEqual(r.seeds[0].cohort?.members.map(\.name), ["student", "teacher"])
        let log = try JSONLLog.read(dir.appendingPathComponent("seed-0/cohort/log.jsonl")).filter { $0["event"] as? String == "epoch" }
        let terms = try XCTUnwrap(log.last?["terms"] as? [String: Double])
        XCTAssertEqual(terms["consistency_weight"]!, 100, accuracy: 1e-3, "ramped up to the full weight after rampup = 1 epoch")
        try? FileManager.default.removeItem(at: dir)
    }
}
