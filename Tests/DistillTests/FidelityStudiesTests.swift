import XCTest
import DistillCore
@testable import Distill

/// Runs the short version of every shipped fidelity study (Stanton et al. 2021), shrunk further
/// to test size, with one shared teacher directory as the README does, and checks that each
/// writes its report and plots and that its numbers are sane.
final class FidelityStudiesTests: XCTestCase {
    static let studies = ["self-distillation", "temperature", "initialisation", "optimisation", "data", "landscape"]
    /// On top of each file's `short:` list: a few hundred examples, two epochs.
    static let testSize = ["transfer.count=200", "teacher.train.subset=200", "teacher.train.epochs=2", "student.train.epochs=2",
                           "fidelity_examples=100", "test_subset=200", "teacher.train.batch_size=50", "student.train.batch_size=50"]

    func sane(_ p: FidelityPoint, _ what: String) {
        XCTAssertTrue((0...1).contains(p.trainAgreement), "\(what): train agreement \(p.trainAgreement)")
        XCTAssertGreaterThanOrEqual(p.trainKL, -1e-6, what)
        XCTAssertTrue((0...1).contains(p.testAgreement ?? -1), "\(what): test agreement \(String(describing: p.testAgreement))")
        XCTAssertGreaterThanOrEqual(p.testKL ?? -1, -1e-6, what)
    }

    func testEveryStudyRunsItsShortVersionAndWritesSaneResults() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("distill-studies-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let fm = FileManager.default
        for study in Self.studies {
            let file = root.appendingPathComponent("experiments/stanton-\(study).yaml").path
            var extra = Self.testSize
            if study == "landscape" { extra += ["landscape.grid=5", "landscape.line_points=5", "landscape.examples=100"] }
            let config = try ExperimentConfig.load(path: file, overrides: extra, short: true)
            XCTAssertEqual(config.seeds, [0], study)
            let dir = out.appendingPathComponent(study)
            let runner = ExperimentRunner(config: config, directory: dir)
            runner.teacherRoot = out.appendingPathComponent("teachers")
            runner.showProgress = false
            runner.say = { _ in }
            let results: [(String, ExperimentResult)]
            if config.variants.isEmpty {
                results = [(study, try runner.run())]
            } else {
                let sweep = try runner.runSweep()
                XCTAssertTrue(sweep.failures.isEmpty, "\(study): \(sweep.failures.map { "\($0.name): \($0.error ?? "")" })")
                results = sweep.variants.compactMap { v in v.result.map { ("\(study)/\(v.name)", $0) } }
                XCTAssertEqual(results.count, config.variants.count, study)
                for f in ["report.md", "metrics.json", "variants.svg", "sweep_agreement_curves.svg", "sweep_test_agreement_curves.svg"] {
                    XCTAssertTrue(fm.fileExists(atPath: dir.appendingPathComponent(f).path), "\(study): \(f)")
                }
                if config.axis != nil {
                    for f in ["sweep_accuracy.svg", "sweep_agreement.svg", "sweep_kl.svg"] {
                        XCTAssertTrue(fm.fileExists(atPath: dir.appendingPathComponent(f).path), "\(study): \(f)")
                    }
                }
            }
            for (name, r) in results {
                for s in r.seeds {
                    for f in [s.studentDistilled.train, s.studentDistilled.test] {
                        XCTAssertTrue((0...1).contains(f.agreement ?? -1), "\(name): agreement \(String(describing: f.agreement))")
                        XCTAssertGreaterThanOrEqual(f.predictiveKL ?? -1, -1e-6, name)
                    }
                    let initial = try XCTUnwrap(s.initialFidelity, name)
                    sane(initial, "\(name) before training")
                    let curve = try XCTUnwrap(s.fidelityCurve, name)
                    XCTAssertEqual(curve.count, 2, name)
                    for p in curve { sane(p, "\(name) per epoch") }
                }
            }
            switch study {
            case "initialisation":
                let atTeacher = try XCTUnwrap(results.first { $0.0.hasSuffix("lambda-1") }?.1.seeds.first?.initialFidelity)
                XCTAssertEqual(atTeacher.trainAgreement, 1, "λ = 1 starts at the teacher")
                XCTAssertEqual(atTeacher.trainKL, 0, accuracy: 1e-5)
                XCTAssertEqual(atTeacher.testAgreement, 1)
            case "landscape":
                let l = try XCTUnwrap(results[0].1.seeds[0].landscape)
                XCTAssertEqual(l.x.count, 5)
                let one = try XCTUnwrap(l.line.firstIndex { abs($0 - 1) < 1e-9 })
                XCTAssertEqual(l.lineAgreement[one], 1, "the line ends at the teacher")
                XCTAssertEqual(l.lineLoss[one], 0, accuracy: 1e-4)
                XCTAssertTrue(l.loss.joined().allSatisfy { $0.isFinite && $0 >= -1e-6 })
                for f in ["landscape_seed-0.json", "landscape_plane_seed-0.svg", "landscape_line_seed-0.svg", "agreement_curves.svg", "kl_curves.svg"] {
                    XCTAssertTrue(fm.fileExists(atPath: dir.appendingPathComponent(f).path), "landscape: \(f)")
                }
                let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
                XCTAssertTrue(report.contains("Loss landscape") && report.contains("landscape_plane_seed-0.svg"), report)
                // an interrupted study resumes without redoing finished work: run it again
                var said: [String] = []
                let again = ExperimentRunner(config: config, directory: dir)
                again.teacherRoot = runner.teacherRoot
                again.showProgress = false
                again.say = { said.append($0) }
                let r2 = try again.run()
                XCTAssertEqual(said.filter { $0.contains("reusing") }.count, 3, "teacher, distilled student, landscape: \(said)")
                XCTAssertEqual(r2.seeds[0].landscape, l)
                XCTAssertEqual(r2.seeds[0].studentDistilled.test, results[0].1.seeds[0].studentDistilled.test)
            default: break
            }
        }
        // every study names the same teacher, so one teacher directory serves them all
        let teachers = try fm.contentsOfDirectory(atPath: out.appendingPathComponent("teachers").path)
        XCTAssertEqual(teachers.count, 1, "\(teachers)")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out.appendingPathComponent("teachers/\(teachers[0])").path).count, 5,
                       "five members, the largest ensemble")
    }
}
