import XCTest
import Foundation

/// SIGKILL mid-epoch, resume, and end with exactly the metrics of a run that was never killed.
final class ResumeAfterKillTests: XCTestCase {
    struct Metrics: Decodable, Equatable {
        struct Epoch: Decodable, Equatable { let epoch: Int; let trainLoss: Double; let trainAccuracy: Double; let testAccuracy: Double; let testNLL: Double }
        let testAccuracy: Double
        let finalTrainLoss: Double
        let history: [Epoch]
    }

    func metrics(_ dir: URL) throws -> Metrics {
        try JSONDecoder().decode(Metrics.self, from: Data(contentsOf: dir.appendingPathComponent("metrics.json")))
    }

    func checkpointEvents(_ dir: URL) -> [(epoch: Int, batch: Int, step: Int)] { CLI.checkpointEvents(dir) }

    func testKilledRunResumesToTheSameFinalMetrics() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let args = ["train", "--model", "mlp:128x64,dropout=0.3", "--subset", "3000", "--epochs", "3", "--batch-size", "64",
                    "--augment", "jitter:1", "--checkpoint-every", "10", "--seed", "5", "--quiet"]
        let reference = try CLI.temporaryDirectory(), killed = try CLI.temporaryDirectory()
        let r = try CLI.run(args + ["--out", reference.path])
        XCTAssertEqual(r.status, 0, r.stderr)

        let sink = FileHandle(forWritingAtPath: "/dev/null")!
        let p = try CLI.start(args + ["--out", killed.path], stdout: sink)
        // kill it as soon as a mid-epoch checkpoint of the second epoch exists
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !checkpointEvents(killed).contains(where: { $0.epoch == 1 && $0.batch > 0 }) {
            usleep(2_000)
        }
        XCTAssertTrue(p.isRunning, "the run finished before it could be killed; make it longer")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let before = checkpointEvents(killed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("metrics.json").path))

        let resumed = try CLI.run(args + ["--out", killed.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        // the resumed run continued from the last checkpoint: its first checkpoint is the next one
        let after = checkpointEvents(killed).dropFirst(before.count)
        let lastSaved = try XCTUnwrap(before.last?.step)
        let firstAfter = try XCTUnwrap(after.first?.step)
        XCTAssertTrue(firstAfter > lastSaved && firstAfter <= lastSaved + 10, "resumed at step \(lastSaved), next checkpoint at \(firstAfter)")
        XCTAssertEqual(try metrics(killed).history, try metrics(reference).history)
        XCTAssertEqual(try metrics(killed).testAccuracy, try metrics(reference).testAccuracy)
    }
}
