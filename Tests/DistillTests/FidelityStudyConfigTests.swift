import XCTest
import DistillCore
import DistillData
@testable import Distill

/// The experiment keys of the fidelity studies (Stanton et al. 2021): short versions, numeric
/// sweep axes, initialisation from the teacher, the loss landscape and unlabelled extra data.
final class FidelityStudyConfigTests: XCTestCase {
    let base = """
    name: study
    seeds: [0, 1, 2]
    transfer: {kind: subset, count: 2000}
    teacher: {model: lenet5, train: {epochs: 3, subset: 2000}}
    student: {model: lenet5, train: {epochs: 3}}
    method: kd:temperature=4
    """

    func testTheLandscapeDrawsASingleKDTermAndRefusesOtherObjectives() throws {
        XCTAssertNotNil(try ExperimentConfig.parse(base + "\nlandscape: {grid: 5}", file: "s.yaml").landscape)
        for method in ["hinton:temperature=4", "[kd, at]"] {
            let yaml = base.replacingOccurrences(of: "method: kd:temperature=4", with: "method: \(method)") + "\nlandscape: {grid: 5}"
            XCTAssertThrowsError(try ExperimentConfig.parse(yaml, file: "s.yaml"), method) { e in
                XCTAssertTrue("\(e)".contains("single term kd") && "\(e)".contains("s.yaml"), "\(e)")
            }
        }
    }

    func testShortListAppliesAfterVariantsAndBeforeTheCommandLine() throws {
        let yaml = base + """

        variants:
          long: ["student.train.epochs=60", "teacher.ensemble=2"]
        short: ["seeds=[0]", "student.train.epochs=1"]
        """
        let full = try ExperimentConfig.parse(yaml, file: "s.yaml")
        XCTAssertEqual(full.seeds, [0, 1, 2])
        XCTAssertEqual(full.variants[0].config.student.train.epochs, 60)
        let short = try ExperimentConfig.parse(yaml, file: "s.yaml", short: true)
        XCTAssertEqual(short.seeds, [0])
        XCTAssertEqual(short.variants[0].config.student.train.epochs, 1, "short shrinks every variant")
        XCTAssertEqual(short.variants[0].config.teacher.ensemble, 2, "what short does not name stays the variant's")
        let mine = try ExperimentConfig.parse(yaml, file: "s.yaml", overrides: ["student.train.epochs=2"], short: true)
        XCTAssertEqual(mine.variants[0].config.student.train.epochs, 2, "--set wins over short")
        XCTAssertThrowsError(try ExperimentConfig.parse(base, file: "s.yaml", short: true)) { e in
            XCTAssertTrue("\(e)".contains("s.yaml") && "\(e)".contains("short"), "\(e)")
        }
    }

    func testAxisVariantsCarryTheirPosition() throws {
        let yaml = base + """

        axis: {label: temperature T, log: true}
        variants:
          T1: {x: 1, set: ["method=kd:temperature=1"]}
          T8: {x: 8, set: ["method=kd:temperature=8"]}
        """
        let c = try ExperimentConfig.parse(yaml, file: "a.yaml")
        XCTAssertEqual(c.axis, SweepAxis(label: "temperature T", log: true))
        XCTAssertEqual(c.variants.map(\.x), [1, 8])
        XCTAssertEqual(c.variants[1].config.methods[0].options["temperature"], "8")
        let missing = yaml + "\n  T2: [\"method=kd:temperature=2\"]\n"
        XCTAssertThrowsError(try ExperimentConfig.parse(missing, file: "a.yaml")) { e in
            XCTAssertTrue("\(e)".contains("T2") && "\(e)".contains("temperature T"), "\(e)")
        }
    }

    func testInitialisationFromTheTeacherIsCheckedBeforeTraining() throws {
        let c = try ExperimentConfig.parse(base, file: "i.yaml", overrides: ["student.init_from_teacher=0.75"])
        XCTAssertEqual(c.student.initFromTeacher, 0.75)
        XCTAssertThrowsError(try ExperimentConfig.parse(base, file: "i.yaml", overrides: ["student.init_from_teacher=1.5"])) { e in
            XCTAssertTrue("\(e)".contains("init_from_teacher") && "\(e)".contains("[0, 1]"), "\(e)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parse(base, file: "i.yaml", overrides: ["student.init_from_teacher=0.5", "student.model=mlp:32"])) { e in
            XCTAssertTrue("\(e)".contains("init_from_teacher") && "\(e)".contains("lenet5") && "\(e)".contains("mlp:32"), "\(e)")
        }
    }

    func testLandscapeNeedsOneTeacherOfTheStudentsArchitecture() throws {
        let c = try ExperimentConfig.parse(base + "\nlandscape: {grid: 5, examples: 100}\n", file: "l.yaml")
        XCTAssertEqual(c.landscape?.grid, 5)
        XCTAssertEqual(c.landscape?.examples, 100)
        XCTAssertEqual(c.landscape?.linePoints, LandscapeSpec().linePoints)
        XCTAssertThrowsError(try ExperimentConfig.parse(base + "\nlandscape: {grid: 5}\n", file: "l.yaml", overrides: ["teacher.ensemble=3"])) { e in
            XCTAssertTrue("\(e)".contains("ensemble of 3"), "\(e)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parse(base + "\nlandscape: {grid: 2}\n", file: "l.yaml")) { e in
            XCTAssertTrue("\(e)".contains("grid"), "\(e)")
        }
    }

    func testBadValuesOfTheNewKeysNameTheKey() {
        let cases: [([String], String)] = [
            (["test_subset=0"], "test_subset"),
            (["fidelity_examples=0"], "fidelity_examples"),
            (["track_fidelity=sometimes"], "track_fidelity"),
            (["transfer={kind: train+unlabelled}"], "count"),
            (["landscape={margin: -1}"], "margin"),
            (["landscape={line_points: 2}"], "line_points"),
            (["axis={log: true}"], "label"),
        ]
        for (overrides, key) in cases {
            XCTAssertThrowsError(try ExperimentConfig.parse(base, file: "bad.yaml", overrides: overrides), "\(overrides)") { e in
                XCTAssertTrue("\(e)".contains("bad.yaml") && "\(e)".contains(key), "\(overrides): \(e)")
            }
        }
    }

    func testUnlabelledExtraDataFollowsTheTeachersExamples() throws {
        try XCTSkipUnless(ExperimentRunnerTests.hasFashionMNIST, "Fashion-MNIST is not installed")
        let c = try ExperimentConfig.parse(base, file: "u.yaml", overrides: ["transfer={kind: train+unlabelled, count: 300}"])
        let s = try ExperimentRunner(config: c, directory: URL(fileURLWithPath: "/nonexistent")).splits()
        XCTAssertEqual(s.teacherTrain.count, 2000)
        XCTAssertEqual(s.transfer.count, 2300)
        XCTAssertEqual(Array(s.transfer.labels.scalars.prefix(2000)), s.teacherTrain.labels.scalars)
        XCTAssertTrue(s.transfer.labels.scalars.suffix(300).allSatisfy { $0 == Dataset.unlabelledMarker })
        let tooMany = try ExperimentConfig.parse(base, file: "u.yaml", overrides: ["transfer={kind: train+unlabelled, count: 58001}"])
        XCTAssertThrowsError(try ExperimentRunner(config: tooMany, directory: URL(fileURLWithPath: "/nonexistent")).splits()) { e in
            XCTAssertTrue("\(e)".contains("transfer.count") && "\(e)".contains("58000"), "\(e)")
        }
    }

    func testNewKeysSurviveTheResolvedConfig() throws {
        let yaml = base + """

        transfer: {kind: train+unlabelled, count: 500}
        track_fidelity: true
        fidelity_examples: 300
        test_subset: 1000
        landscape: {grid: 7, line_points: 9, examples: 200, margin: 0.5, seeds: 2}
        """
        let c = try ExperimentConfig.parse(yaml.replacingOccurrences(of: "transfer: {kind: subset, count: 2000}\n", with: ""), file: "r.yaml",
                                           overrides: ["student.init_from_teacher=0.25"])
        XCTAssertEqual(c.transfer, .withUnlabelled(count: 500))
        XCTAssertTrue(c.trackFidelity)
        let again = try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c), file: "resolved.yaml")
        XCTAssertEqual(again, c)
    }
}
