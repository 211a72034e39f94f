import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// The short versions of the shipped scheme experiments run end to end: the report has the
/// cohort table and the loss-term curves; mean teacher trains the student alone on the labelled
/// images for as many steps as the scheme takes, and the scheme sees the rest unlabelled.
final class SchemeExperimentsTests: XCTestCase {
    static func run(_ file: String) throws -> (ExperimentConfig, ExperimentResult, URL) {
        let (config, runner, dir) = try SchemeFixtures.shortRunner(file, prefix: "distill-scheme")
        return (config, try runner.run(), dir)
    }

    func testShortMutualLearning() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (config, r, dir) = try Self.run("mutual-learning-fashion-mnist.yaml")
        let cohort = try XCTUnwrap(r.seeds[0].cohort)
        XCTAssertEqual(cohort.members.map(\.name), config.scheme.participants.map(\.name))
        XCTAssertEqual(cohort.members[0].testErrors, r.seeds[0].studentDistilled.testErrors)
        XCTAssertEqual(Set(r.seeds[0].termCurves?.keys.map { $0 } ?? []), ["ce.a", "ce.b", "kl.a", "kl.b"])
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("## Every network of the scheme") && report.contains("loss_terms.svg"), report)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("seed-0/cohort/b.safetensors").path))
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortONE() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (_, r, dir) = try Self.run("one-fashion-mnist.yaml")
        XCTAssertEqual(r.seeds[0].cohort?.members.map(\.name), ["one", "branch0", "branch1"])
        XCTAssertEqual(r.seeds[0].cohort?.members[1].model, "mlp:32x16")
        // the student alone is one branch's architecture, and a branch file loads as that MLP
        let alone = try String(contentsOf: dir.appendingPathComponent("seed-0/student-alone/config.json"), encoding: .utf8)
        XCTAssertTrue(alone.contains("\"model\":\"mlp:32x16\""), alone)
        let branch = try ModelZoo.make("mlp:32x16", input: .fashionMNIST)
        try branch.load(from: dir.appendingPathComponent("seed-0/cohort/branch1.safetensors").path)
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortMeanTeacher() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (config, r, dir) = try Self.run("mean-teacher-fashion-mnist.yaml")
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

/// The chain schemes: every link a fresh network distilled from the link before.
final class ChainSchemeTests: XCTestCase {
    func testShortBornAgainTrainsFreshGenerationsEachFromTheOneBefore() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (config, r, dir) = try SchemeExperimentsTests.run("born-again-fashion-mnist.yaml")
        let chain = try XCTUnwrap(r.seeds[0].cohort)
        XCTAssertEqual(chain.members.map(\.name), ["generation-1", "generation-2", "generation-3"])
        XCTAssertEqual(chain.members[0].testErrors, r.seeds[0].studentDistilled.testErrors)
        // each generation is its own network: the weights of every generation and of the teacher differ
        let teachers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("seed-0").path).filter { $0.hasPrefix("teacher") }
        var files = ["seed-0/student-distilled/model.safetensors", "seed-0/chain-generation-2/model.safetensors",
                     "seed-0/chain-generation-3/model.safetensors"].map { dir.appendingPathComponent($0).path }
        files.append(dir.appendingPathComponent("seed-0/\(teachers[0])/model.safetensors").path)
        let weights = try files.map { try SafeTensors.read(from: $0).tensors.sorted { $0.key < $1.key }.flatMap { $0.value.scalars } }
        for i in weights.indices { for j in weights.indices where j > i { XCTAssertNotEqual(weights[i], weights[j], "\(files[i]) vs \(files[j])") } }
        // generation 3 was distilled from generation 2 (its run's identity says so)
        let cfg = try String(contentsOf: dir.appendingPathComponent("seed-0/chain-generation-3/config.json"), encoding: .utf8)
        XCTAssertTrue(cfg.contains("link generation-3 from generation-2"), cfg)
        XCTAssertEqual(config.scheme.generations, 3)
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortTeacherAssistantChainEndsWithTheStudentOfTheDirectRunsInitialisation() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (_, r, dir) = try SchemeExperimentsTests.run("teacher-assistant-fashion-mnist.yaml")
        XCTAssertEqual(r.seeds[0].cohort?.members.map(\.name), ["assistant", "student-via-assistants"])
        let cfg = try String(contentsOf: dir.appendingPathComponent("seed-0/chain-student-via-assistants/config.json"), encoding: .utf8)
        XCTAssertTrue(cfg.contains("from assistant"), cfg)
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("teacher → assistant → student"), report)
        try? FileManager.default.removeItem(at: dir)
    }
}
