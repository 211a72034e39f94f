import XCTest
import Foundation

/// The scheme block and the shared training options through the built binary: every bad scheme
/// file exits with status 1 and a message naming the key, never a signal; `distill distill`
/// takes every training option `distill train` takes.
final class SchemeCLITests: XCTestCase {
    func testBadSchemeFilesExitWithStatusOneNamingTheKey() throws {
        let dir = try CLI.temporaryDirectory()
        let two = "participants: [{name: a, model: \"mlp:8\"}, {name: b, model: \"mlp:8\"}]"
        let rows: [(yaml: String, expected: String)] = [
            ("scheme: {kind: born-twice}", "scheme.kind"),
            ("scheme: {kind: born-again}", "teacher.model"),
            ("scheme: {kind: mutual-learning, participants: [{name: a, model: \"mlp:8\"}]}", "scheme.participants"),
            ("scheme: {kind: mutual-learning, generations: 0, \(two)}", "scheme.generations"),
            ("scheme: {kind: mutual-learning, participants: [{name: a, model: \"mlp:0\"}, {name: b, model: \"mlp:8\"}]}", "scheme.participants.0.model"),
            ("scheme: {kind: mutual-learning, temperature: abc, \(two)}", "scheme.temperature"),
            ("scheme: {kind: mutual-learning, \(two)}\nmethod: hinton", "method"),
            ("scheme: [mutual-learning]", "scheme"),
        ]
        for (i, row) in rows.enumerated() {
            let file = dir.appendingPathComponent("bad-\(i).yaml")
            try Data(row.yaml.utf8).write(to: file)
            let r = try CLI.run(["run", file.path, "--out", dir.appendingPathComponent("out-\(i)").path])
            XCTAssertEqual(r.status, 1, "\(row.yaml): \(r.stderr)")
            XCTAssertFalse(r.signalled, row.yaml)
            XCTAssertTrue(r.stderr.contains(row.expected) && r.stderr.contains(file.path), "\(row.yaml): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out-\(i)/seed-0").path), "nothing trained")
        }
    }

    func testDistillTakesTheSharedTrainingOptions() throws {
        let help = try CLI.run(["distill", "--help"])
        XCTAssertEqual(help.status, 0)
        for flag in ["--momentum", "--nesterov", "--warmup", "--grad-clip", "--threads", "--checkpoint-every"] {
            XCTAssertTrue(help.stdout.contains(flag), "distill distill lacks \(flag): \(help.stdout)")
        }
        let bad = try CLI.run(["distill", "--teacher-logits", "/no/such.npy", "--momentum", "1.5", "--out", try CLI.temporaryDirectory().path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("momentum"), bad.stderr)
    }
}
