import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// The short versions of the shipped noisy-label experiments and teacher studies run end to end.
final class NoisyLabelExperimentsTests: XCTestCase {
    static func runSweep(_ file: String) throws -> (SweepResult, URL) {
        let (_, runner, dir) = try SchemeFixtures.shortRunner(file, prefix: "distill-study")
        return (try runner.runSweep(), dir)
    }

    func testShortCoTeachingOnBothNoiseModels() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (sweep, dir) = try Self.runSweep("co-teaching-fashion-mnist.yaml")
        XCTAssertEqual(sweep.variants.map(\.name).sorted(), ["pair-45", "symmetric-50"])
        for v in sweep.variants {
            let r = try XCTUnwrap(v.result, v.error ?? "")
            XCTAssertEqual(r.realisedNoiseRate ?? 0, v.name == "pair-45" ? 0.45 : 0.5, accuracy: 0.06, v.name)
            let terms = Set(r.seeds[0].termCurves?.keys.map { $0 } ?? [])
            XCTAssertEqual(terms, ["ce.f", "ce.g", "forget_rate", "label_precision.f", "label_precision.g"], v.name)
            XCTAssertNotNil(r.seeds[0].studentAlone, "plain cross-entropy on the same noisy labels")
        }
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortNoisyLabelDistillationTrainsTheTeacherOnTheCleanSubset() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (_, r, dir) = try SchemeExperimentsTests.run("noisy-label-distillation-fashion-mnist.yaml")
        let expected: Double = 0.5 * 59_800 / 60_000   // over the whole training set, its first 200 labels clean
        XCTAssertEqual(r.realisedNoiseRate ?? 0, expected, accuracy: 0.01)
        XCTAssertNotNil(r.seeds[0].teacher)
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("first 200 rows clean") && report.contains("noisy-label-kd"), report)
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortEarlyStoppedTeachersReadTheSnapshotsOfOneTeacherRun() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (sweep, dir) = try Self.runSweep("early-stopped-teachers-fashion-mnist.yaml")
        let teachers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("teachers").path)
        XCTAssertEqual(teachers.count, 1, "one teacher run for every stop epoch")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("teachers/\(teachers[0])/member-0/epochs").path)
        XCTAssertEqual(snapshots.count, 30)
        let errors = sweep.variants.map { $0.result?.seeds[0].teacher?.testErrors ?? -1 }
        XCTAssertFalse(errors.contains(-1), "\(sweep.variants.map(\.error))")
        XCTAssertGreaterThan(Set(errors).count, 1, "the teacher after 1 epoch is not the teacher after 30: \(errors)")
        XCTAssertNotNil(sweep.variants[0].result?.seeds[0].fidelityCurve)
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortLabelSmoothingTeachersAreTrainedWithTheirSmoothing() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (sweep, dir) = try Self.runSweep("label-smoothing-teachers-fashion-mnist.yaml")
        XCTAssertEqual(sweep.variants.count, 4)
        XCTAssertTrue(sweep.variants.allSatisfy { $0.result != nil }, "\(sweep.variants.map(\.error))")
        let teachers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("teachers").path)
        XCTAssertEqual(teachers.count, 4, "one teacher per smoothing")
        let configs = try teachers.map { try String(contentsOf: dir.appendingPathComponent("teachers/\($0)/member-0/config.json"), encoding: .utf8) }
        XCTAssertEqual(configs.filter { $0.contains("\"label_smoothing\":0.2") }.count, 1, "\(configs)")
        try? FileManager.default.removeItem(at: dir)
    }

    func testShortCapacityGapSweep() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let (sweep, dir) = try Self.runSweep("capacity-gap-fashion-mnist.yaml")
        XCTAssertEqual(sweep.variants.compactMap(\.result).count, 4, "\(sweep.variants.map(\.error))")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("variants.svg").path))
        try? FileManager.default.removeItem(at: dir)
    }
}
