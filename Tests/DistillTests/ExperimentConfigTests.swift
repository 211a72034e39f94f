import XCTest
import DistillCore
@testable import Distill

final class ExperimentConfigTests: XCTestCase {
    let valid = """
    name: hinton
    data: fashion-mnist
    seeds: [0, 1, 2]
    teacher:
      model: mlp:1200x1200,dropout=0.5
      train: {epochs: 3, learning_rate: 0.1, augmentation: "jitter:2"}
    student:
      model: mlp:800x800
      train:
        epochs: 2
    method: hinton:temperature=20,alpha=0.9
    """

    func testValidFileParses() throws {
        let c = try ExperimentConfig.parse(valid, file: "h.yaml")
        XCTAssertEqual(c.seeds, [0, 1, 2])
        XCTAssertEqual(c.teacher.train.epochs, 3)
        XCTAssertEqual(c.teacher.train.augmentation, "jitter:2")
        XCTAssertEqual(c.student.train.epochs, 2)
        XCTAssertEqual(c.methods, [MethodSpec(name: "hinton", options: ["temperature": "20", "alpha": "0.9"])])
    }

    func testMethodListsAndMappings() throws {
        let c = try ExperimentConfig.parse("""
        method:
          - {name: ce, weight: 0.1}
          - name: kd
            weight: 0.9
            temperature: 4
        """)
        XCTAssertEqual(c.methods, [MethodSpec(name: "ce", weight: 0.1), MethodSpec(name: "kd", weight: 0.9, options: ["temperature": "4"])])
    }

    func testOverridesApplyBeforeValidation() throws {
        let c = try ExperimentConfig.parse(valid, file: "h.yaml", overrides: ["student.train.epochs=7", "seeds=[4]", "teacher.ensemble=3"])
        XCTAssertEqual(c.student.train.epochs, 7)
        XCTAssertEqual(c.seeds, [4])
        XCTAssertEqual(c.teacher.ensemble, 3)
        XCTAssertThrowsError(try ExperimentConfig.parse(valid, file: "h.yaml", overrides: ["student.train.epoch=7"])) { e in
            XCTAssertTrue("\(e)".contains("unknown key 'student.train.epoch'"), "\(e)")
        }
    }

    func assertError(_ yaml: String, line: Int?, contains parts: [String], file: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml, file: "exp.yaml"), file: file, line: l) { e in
            let text = "\(e)"
            if let line { XCTAssertTrue(text.hasPrefix("exp.yaml:\(line):"), "expected line \(line): \(text)", file: file, line: l) }
            for p in parts { XCTAssertTrue(text.contains(p), "'\(p)' not in: \(text)", file: file, line: l) }
        }
    }

    func testUnknownKeyNamesKeyAndLine() {
        assertError("data: fashion-mnist\nteacher:\n  model: mlp:10\n  epochs: 3\n", line: 4, contains: ["unknown key 'teacher.epochs'", "train"])
        assertError("name: x\nstudnet:\n  model: mlp:10\n", line: 2, contains: ["unknown key 'studnet'"])
    }

    func testWrongTypeNamesKeyAndLine() {
        assertError("student:\n  train:\n    epochs: ten\n", line: 3, contains: ["student.train.epochs", "integer", "'ten'"])
        assertError("seeds: [0, x]\n", line: 1, contains: ["seeds"])
        assertError("student:\n  baseline: maybe\n", line: 2, contains: ["student.baseline", "true or false"])
        assertError("teacher: mlp:10\n", line: 1, contains: ["'teacher' must be a mapping"])
    }

    func testUnknownMethodIsRefusedBeforeTraining() {
        assertError("data: fashion-mnist\nmethod: hintn:temperature=4\n", line: 2, contains: ["unknown distillation method 'hintn'", "hinton"])
        assertError("method:\n  - name: kd\n    temprature: 4\n", line: 2, contains: ["temprature"])
    }

    func testBadValuesAreRefused() {
        assertError("data: imagenet\n", line: 1, contains: ["data", "fashion-mnist"])
        assertError("student:\n  model: resnet21\n", line: 2, contains: ["unknown model 'resnet21'"])
        assertError("student:\n  train:\n    schedule: sometimes\n", line: nil, contains: ["schedule"])
        assertError("transfer:\n  kind: drop-classes\n", line: nil, contains: ["classes"])
        assertError("transfer: {kind: drop-classes, classes: [3]}\nbias_adjust: {class: 4}\n", line: nil, contains: ["bias_adjust.class 4"])
        assertError("name: [unclosed\n", line: nil, contains: ["not valid YAML"])
    }

    func testResolvedConfigRoundTrips() throws {
        var c = try ExperimentConfig.parse(valid, file: "h.yaml")
        c.biasAdjust = nil
        let again = try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c), file: "resolved.yaml")
        XCTAssertEqual(again, c)
    }

    func testModelsAreCheckedOnTheInputOfABuiltInDataSet() throws {
        // a ViT with 7×7 patches tiles Fashion-MNIST's 28×28 images but not CIFAR's 32×32
        let vit = "name: v\nteacher: {model: lenet5}\nstudent: {model: \"vit:patch=7,dim=8,heads=2\"}\nmethod: hinton\n"
        XCTAssertNoThrow(try ExperimentConfig.parse(vit, file: "v.yaml"))
        XCTAssertThrowsError(try ExperimentConfig.parse("data: cifar10:/nowhere\n" + vit, file: "v.yaml")) {
            XCTAssertTrue("\($0)".contains("v.yaml:4") && "\($0)".contains("does not tile 32×32"), "\($0)")
        }
    }
}
