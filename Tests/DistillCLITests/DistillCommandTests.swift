import XCTest
import Foundation

/// `distill distill`, `distill compare` and `distill run` end to end on tiny settings.
final class DistillCommandTests: XCTestCase {
    func train(_ model: String, _ dir: URL, seed: Int = 0) throws {
        let r = try CLI.run(["train", "--model", model, "--subset", "1000", "--epochs", "1", "--seed", "\(seed)", "--quiet", "--out", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testDistillThenCompareSideBySide() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let root = try CLI.temporaryDirectory()
        let t1 = root.appendingPathComponent("t1"), t2 = root.appendingPathComponent("t2")
        try train("mlp:32", t1, seed: 1)
        try train("mlp:32", t2, seed: 2)
        let out = root.appendingPathComponent("d")
        let d = try CLI.run(["distill", "--teacher", t1.appendingPathComponent("model.safetensors").path,
                             "--teacher", t2.appendingPathComponent("model.safetensors").path,
                             "--student", "mlp:16", "--method", "hinton:temperature=4", "--epochs", "1", "--quiet", "--out", out.path])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stdout.contains("student distilled") && d.stdout.contains("agreement (test)"), d.stdout)
        let student = out.appendingPathComponent("seed-0/student-distilled/model.safetensors").path
        let c = try CLI.run(["compare", "--teacher", t1.appendingPathComponent("model.safetensors").path, "--student", student,
                             "--student", t2.appendingPathComponent("model.safetensors").path, "--subset", "500"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let lines = c.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 5, c.stdout)   // header, rule, teacher, two students
        XCTAssertTrue(lines[0].contains("agreement (train)") && lines[0].contains("KL (test)"), c.stdout)
        let j = try CLI.run(["compare", "--teacher", t1.appendingPathComponent("model.safetensors").path, "--student", student, "--subset", "500", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [[String: Any]]
        let test = try XCTUnwrap((parsed?[1]["test"]) as? [String: Any])
        let agreement = try XCTUnwrap(test["agreement"] as? Double)
        XCTAssertTrue((0...1).contains(agreement))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(test["predictiveKL"] as? Double), 0)
    }

    func testDistillRefusesATeacherWithAnotherClassCount() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let root = try CLI.temporaryDirectory()
        // a 10-class teacher checkpoint presented as a 7-class model spec fails to load, naming the key and shapes
        try train("mlp:16", root.appendingPathComponent("t"))
        let r = try CLI.run(["distill", "--teacher", root.appendingPathComponent("t/model.safetensors").path,
                             "--teacher-model", "mlp:17", "--student", "mlp:8", "--epochs", "1", "--quiet", "--out", root.appendingPathComponent("d").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("fc1") && r.stderr.contains("[17]"), r.stderr)
    }

    func testRunRefusesABadExperimentBeforeTraining() throws {
        let root = try CLI.temporaryDirectory()
        let file = root.appendingPathComponent("bad.yaml")
        try "name: bad\nstudent:\n  model: mlp:8\n  trian:\n    epochs: 1\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", file.path, "--out", root.appendingPathComponent("run").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad.yaml:4") && r.stderr.contains("unknown key 'student.trian'"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("run").path), "nothing is trained or written")
        let good = root.appendingPathComponent("good.yaml")
        try "name: good\nstudent:\n  model: mlp:8\n".write(to: good, atomically: true, encoding: .utf8)
        let m = try CLI.run(["run", good.path, "--set", "method=hinton:temprature=3", "--out", root.appendingPathComponent("run").path])
        XCTAssertEqual(m.status, 1)
        XCTAssertTrue(m.stderr.contains("temprature"), m.stderr)
    }
}
