import XCTest
import Foundation

/// `--val-split` through the binary: a run killed mid-epoch and resumed chooses the same best
/// epoch and writes the same best.safetensors, metrics.csv and steps.csv as one never killed;
/// `--resume` with a raised `--epochs` continues a finished run; a refusal names only the keys
/// that differ; `distill eval` reports top-5 with ten classes.
final class ValidationResumeTests: XCTestCase {
    let args = ["train", "--model", "mlp:64", "--subset", "3000", "--val-split", "500", "--epochs", "3", "--batch-size", "64",
                "--checkpoint-every", "10", "--seed", "3", "--quiet"]

    /// metrics.json without wall times (which a resumed run cannot share).
    func timeless(_ url: URL) throws -> NSDictionary {
        func strip(_ v: Any) -> Any {
            if let d = v as? [String: Any] { return d.filter { $0.key != "seconds" }.mapValues(strip) }
            if let a = v as? [Any] { return a.map(strip) }
            return v
        }
        return strip(try JSONSerialization.jsonObject(with: Data(contentsOf: url))) as! NSDictionary
    }

    /// A CSV file's lines without its last column (`seconds` in metrics.csv).
    func lines(_ url: URL, dropLastColumn: Bool) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            dropLastColumn ? $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") : String($0)
        }
    }

    func testKilledValidationRunResumesToTheSameBestEpoch() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let reference = try CLI.temporaryDirectory(), killed = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: reference); try? FileManager.default.removeItem(at: killed) }
        let r = try CLI.run(args + ["--out", reference.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("best epoch on validation"), r.stdout)
        XCTAssertTrue(r.stderr.contains("of which 500 held out for validation"), r.stderr)

        let p = try CLI.start(args + ["--out", killed.path], stdout: FileHandle(forWritingAtPath: "/dev/null")!)
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !CLI.checkpointEvents(killed).contains(where: { $0.epoch == 1 && $0.batch > 0 }) { usleep(2_000) }
        XCTAssertTrue(p.isRunning, "the run finished before it could be killed; make it longer")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let resumed = try CLI.run(args + ["--out", killed.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        let m = try timeless(killed.appendingPathComponent("metrics.json"))
        XCTAssertEqual(m, try timeless(reference.appendingPathComponent("metrics.json")))
        XCTAssertNotNil((m["best"] as? NSDictionary)?["epoch"])
        XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent("best.safetensors")), try Data(contentsOf: reference.appendingPathComponent("best.safetensors")))
        XCTAssertEqual(try lines(killed.appendingPathComponent("metrics.csv"), dropLastColumn: true),
                       try lines(reference.appendingPathComponent("metrics.csv"), dropLastColumn: true))
        XCTAssertEqual(try lines(killed.appendingPathComponent("steps.csv"), dropLastColumn: false),
                       try lines(reference.appendingPathComponent("steps.csv"), dropLastColumn: false))
        XCTAssertEqual(try lines(reference.appendingPathComponent("steps.csv"), dropLastColumn: false).count, 1 + 3 * 40)

        // top-5 with ten classes
        let e = try CLI.run(["eval", "--checkpoint", reference.appendingPathComponent("best.safetensors").path])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("top-5"), e.stdout)
        let j = try CLI.run(["eval", "--checkpoint", reference.appendingPathComponent("best.safetensors").path, "--json"])
        XCTAssertTrue(j.stdout.contains("\"top5\""), j.stdout)
    }

    func testResumeWithMoreEpochsContinuesAFinishedRun() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = args.map { $0 == "3000" ? "1000" : $0 }
        func with(_ epochs: String, _ extra: [String] = []) -> [String] {
            var a = short
            a[a.firstIndex(of: "--epochs")! + 1] = epochs
            return a + ["--out", dir.path] + extra
        }
        XCTAssertEqual(try CLI.run(with("2")).status, 0)
        let more = try CLI.run(with("3", ["--resume"]))
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stderr.contains("continues to 3") && more.stderr.contains("cosine"), more.stderr)
        let m = try timeless(dir.appendingPathComponent("metrics.json"))
        XCTAssertEqual(m["epochs"] as? Int, 3)
        XCTAssertEqual((m["history"] as? [Any])?.count, 3)
        let fewer = try CLI.run(with("2", ["--resume"]))
        XCTAssertEqual(fewer.status, 1)
        XCTAssertTrue(fewer.stderr.contains("at least the 3 epochs"), fewer.stderr)
        let other = try CLI.run(with("3", ["--resume", "--lr", "0.1", "--val-seed", "7"]))
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("learning_rate: 0.05 → 0.1") && other.stderr.contains("val_seed: (absent) → 7"), other.stderr)
        XCTAssertFalse(other.stderr.contains("momentum"), other.stderr)
    }
}
