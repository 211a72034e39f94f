import XCTest
import DistillCore
@testable import Distill

/// The `scheme:` block: parsed, resolved and re-read; every bad value refused before training
/// with the file, the line and the key.
final class SchemeConfigTests: XCTestCase {
    let cohort = """
    name: dml
    scheme:
      kind: mutual-learning
      participants:
        - {name: a, model: "mlp:32"}
        - {name: b, model: "mlp:16"}
      temperature: 2
      update: sequential
    student:
      train: {epochs: 2}
    """

    func testACohortParsesAndItsResolvedConfigReadsBack() throws {
        let c = try ExperimentConfig.parse(cohort, file: "dml.yaml")
        XCTAssertEqual(c.scheme.kind, "mutual-learning")
        XCTAssertEqual(c.scheme.participants, [Participant(name: "a", model: "mlp:32", role: "student"), Participant(name: "b", model: "mlp:16", role: "student")])
        XCTAssertEqual(c.scheme.options, ["temperature": "2", "update": "sequential"])
        let again = try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c), file: "resolved.yaml")
        XCTAssertEqual(again.scheme, c.scheme)
        XCTAssertEqual(try ExperimentConfig.parse("name: x").scheme.kind, "offline", "offline distillation unless a scheme is named")
    }

    func assertRefused(_ yaml: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml, file: "bad.yaml"), file: file, line: line) { e in
            for f in fragments + ["bad.yaml"] { XCTAssertTrue("\(e)".contains(f), "'\(f)' not in: \(e)", file: file, line: line) }
        }
    }

    func testBadSchemesAreRefusedNamingTheKey() {
        let two = "participants: [{name: a, model: \"mlp:8\"}, {name: b, model: \"mlp:8\"}]"
        assertRefused("scheme: {kind: mutal-learning}", ["scheme.kind", "mutual-learning", "offline"])
        assertRefused("scheme: {kind: mutual-learning, participants: [{name: a, model: \"mlp:8\"}]}", ["scheme.participants", "2 to 16", "got 1"])
        assertRefused("scheme: {kind: mutual-learning, participants: []}", ["scheme.participants", "got 0"])
        assertRefused("scheme: {kind: mutual-learning, generations: 0, \(two)}", ["scheme.generations", "no generations"])
        assertRefused("scheme: {kind: mutual-learning, participants: [{name: a, model: \"mlp:8\"}, {name: a, model: \"mlp:8\"}]}", ["scheme.participants.1.name"])
        assertRefused("scheme: {kind: mutual-learning, participants: [{name: a, model: \"resnet7\"}, {name: b, model: \"mlp:8\"}]}", ["scheme.participants.0.model"])
        assertRefused("scheme: {kind: mutual-learning, participants: [{name: a}, {name: b, model: \"mlp:8\"}]}", ["scheme.participants.0", "model"])
        assertRefused("scheme: {kind: mutual-learning, participants: [{name: a, model: \"mlp:8\", role: teacher}, {name: b, model: \"mlp:8\"}]}", ["scheme.participants.0.role"])
        assertRefused("scheme: {kind: mutual-learning, tempreature: 2, \(two)}", ["scheme.tempreature", "temperature, update"])
        assertRefused("scheme: {kind: mutual-learning, temperature: -1, \(two)}", ["scheme.temperature"])
        assertRefused("scheme: {kind: mutual-learning, update: later, \(two)}", ["scheme.update", "simultaneous or sequential"])
        assertRefused("scheme: {kind: offline, participants: [{name: a, model: \"mlp:8\"}]}", ["scheme.participants", "teacher: and student:"])
        assertRefused("scheme: {kind: offline, temperature: 2}", ["scheme.temperature", "no options"])
        assertRefused("scheme: mutual-learning", ["scheme", "mapping"])
        let one = "participants: [{name: s, model: \"mlp:8\"}]"
        assertRefused("scheme: {kind: one, \(one)}", ["scheme.participants.0.model", "one:"])
        assertRefused("scheme: {kind: one, temperature: 0, participants: [{name: n, model: \"one:8x8\"}]}", ["scheme.temperature"])
        assertRefused("scheme: {kind: one, participants: [{name: n, model: \"one:8x8,branches=1\"}]}", ["scheme.participants.0.model", "branches"])
        let same = "\nteacher: {model: \"mlp:8\"}\nstudent: {model: \"mlp:8\"}"
        XCTAssertEqual(try ExperimentConfig.parse("scheme: {kind: born-again, generations: 2}" + same).scheme.generations, 2)
        assertRefused("scheme: {kind: born-again, generations: 2}\nteacher: {model: \"mlp:16\"}\nstudent: {model: \"mlp:8\"}", ["born-again", "teacher.model"])
        assertRefused("scheme: {kind: born-again, generations: 0}" + same, ["scheme.generations"])
        assertRefused("scheme: {kind: born-again, \(one)}" + same, ["scheme.participants"])
        assertRefused("scheme: {kind: teacher-assistant, participants: []}", ["scheme.participants", "1 to 8"])
        assertRefused("scheme: {kind: teacher-assistant, participants: [{name: ta, model: \"mlp:8\", role: student}]}", ["scheme.participants.0.role", "assistant"])
        assertRefused("scheme: {kind: teacher-assistant, generations: 2, participants: [{name: ta, model: \"mlp:8\", role: assistant}]}", ["scheme.generations", "no generations"])
        assertRefused("scheme: {kind: mean-teacher, \(two)}", ["scheme.participants", "1 to 1"])
        assertRefused("scheme: {kind: mean-teacher, labels: 0, \(one)}", ["scheme.labels", "≥ 1"])
        assertRefused("scheme: {kind: mean-teacher, ema_decay: 1, \(one)}", ["scheme.ema_decay", "[0, 1)"])
        assertRefused("scheme: {kind: mean-teacher, input_noise: -0.1, \(one)}", ["scheme.input_noise"])
        assertRefused("scheme: {kind: mean-teacher, labelled_batch: 0, \(one)}", ["scheme.labelled_batch"])
        assertRefused("scheme: {kind: mutual-learning, \(two)}\nmethod: hinton", ["'method'", "mutual-learning"])
        assertRefused("scheme: {kind: mutual-learning, \(two)}\nteacher: {model: \"mlp:8\"}", ["'teacher'"])
        assertRefused("scheme: {kind: mutual-learning, \(two)}\ntransfer: {kind: unlabelled, count: 10}", ["transfer", "train or subset"])
    }
}
