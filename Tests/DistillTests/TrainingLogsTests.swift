import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// steps.csv, metrics.csv and the TensorBoard event files: their formats, their survival of a
/// resume, and TensorBoard's own reader on them.
final class TrainingLogsTests: XCTestCase {
    func testCRC32CKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 §B.4: 32 bytes of zeros, of ones, ascending
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        let c = CRC32C.checksum(Array("123456789".utf8))
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((c >> 15) | (c << 17)) &+ 0xA282_EAD8)
    }

    func testCSVQuotesFieldsAndWidensItsHeader() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.csv")
        let log = try CSVLog(url: url, fresh: true)
        try log.append([("a", "1"), ("b", "x,\"y\"")])
        try log.append([("a", "2"), ("c", "3")])
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "a,b,c\n1,\"x,\"\"y\"\"\",\n2,,3\n")
        let table = try CSVLog.read(url)
        XCTAssertEqual(table.rows, [["a": "1", "b": "x,\"y\""], ["a": "2", "c": "3"]])
        // a torn last line (a kill mid-write) is dropped when the log is opened again
        let h = try FileHandle(forWritingTo: url); h.seekToEndOfFile(); h.write(Data("4,".utf8)); try h.close()
        XCTAssertTrue(try CSVLog.read(url).torn)
        _ = try CSVLog(url: url, fresh: false, keep: { $0["a"] != "2" })
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "a,b,c\n1,\"x,\"\"y\"\"\",\n")
    }

    /// Runs the toy loop to the end, but resumes it from the checkpoint of step 6 (mid-epoch 2)
    /// as if it had been killed there after logging everything up to the end: the logs then hold
    /// rows, epochs and a best model of the steps after that checkpoint.
    static func killedAndResumed(_ c: TrainingConfig, dir: URL) throws -> TrainingLoop {
        let loop = try ToyRun.loop(c, dir: dir)
        var calls = 0
        let saved = dir.appendingPathComponent("checkpoint-step-6")
        loop.afterBackward = [{ _ in
            calls += 1
            if calls == 7 { try FileManager.default.copyItem(at: dir.appendingPathComponent("checkpoint.safetensors"), to: saved) }
        }]
        try loop.run()
        XCTAssertEqual(try TrainingCheckpoint.read(from: saved.path).step, 6)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("checkpoint.safetensors"))
        try FileManager.default.moveItem(at: saved, to: dir.appendingPathComponent("checkpoint.safetensors"))
        let resumed = try ToyRun.loop(c, dir: dir)
        try resumed.run(resume: true)
        return resumed
    }

    func testAResumedRunLogsWhatAnUninterruptedOneLogs() throws {
        let a = try ToyRun.directory(), b = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let c = ToyRun.config()
        let reference = try ToyRun.loop(c, dir: a)
        try reference.run()
        let resumed = try Self.killedAndResumed(c, dir: b)
        XCTAssertEqual(try ToyRun.timeless(resumed.history), try ToyRun.timeless(reference.history))
        XCTAssertEqual(resumed.best, reference.best)
        for f in ["metrics.csv", "steps.csv"] {
            XCTAssertEqual(try ToyRun.timeless(csv: b.appendingPathComponent(f)), try ToyRun.timeless(csv: a.appendingPathComponent(f)), f)
        }
        let steps = try CSVLog.read(a.appendingPathComponent("steps.csv"))
        XCTAssertEqual(steps.columns, ["step", "epoch", "loss", "ce", "learning_rate"])
        XCTAssertEqual(steps.rows.map { $0["step"]! }, (1...12).map(String.init))
        let metrics = try CSVLog.read(a.appendingPathComponent("metrics.csv"))
        XCTAssertEqual(metrics.columns, ["epoch", "step", "train_loss", "train_ce", "train_accuracy", "val_accuracy", "val_nll", "val_top5",
                                         "test_accuracy", "test_nll", "test_top5", "learning_rate", "seconds"])
        XCTAssertEqual(metrics.rows.map { $0["test_accuracy"] != nil }, [false, false, true], "test read once, for the last epoch")
        XCTAssertEqual(metrics.rows.last?["test_accuracy"], "\(reference.history.last!.testAccuracy)")
        let bestFile = { (d: URL) in try SafeTensors.read(from: d.appendingPathComponent("best.safetensors").path) }
        XCTAssertEqual(try bestFile(b).metadata, try bestFile(a).metadata)
        XCTAssertEqual(try bestFile(b).tensors.mapValues(\.scalars), try bestFile(a).tensors.mapValues(\.scalars))
        // two sessions, two event files
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: b.appendingPathComponent("tb").path).count, 2)
        // a finished run run again changes nothing and writes no event file
        let again = try ToyRun.loop(c, dir: b)
        try again.run(resume: true)
        XCTAssertEqual(again.best, reference.best)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: b.appendingPathComponent("tb").path).count, 2)
        XCTAssertEqual(try ToyRun.timeless(csv: b.appendingPathComponent("metrics.csv")), try ToyRun.timeless(csv: a.appendingPathComponent("metrics.csv")))
    }

    func testTensorBoardReadsTheEventFilesOfAResumedRunAsTheCSVsSay() throws {
        let dir = try ToyRun.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let loop = try Self.killedAndResumed(ToyRun.config(), dir: dir)
        let b = try XCTUnwrap(loop.best)
        var best: [String: Double] = ["epoch": Double(b.epoch), "val_accuracy": b.valAccuracy, "test_accuracy": b.testAccuracy, "test_nll": b.testNLL]
        best["test_top5"] = b.testTop5
        try JSONSerialization.data(withJSONObject: best).write(to: dir.appendingPathComponent("best.json"))
        let out = try python3("""
        import csv, json, struct, sys
        try:
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        except ImportError as e:
            print("cannot import tensorboard (%s); `make setup` installs it (python3 -m pip install tensorboard)" % e, file=sys.stderr)
            sys.exit(3)
        run = sys.argv[1]
        ea = EventAccumulator(run + "/tb", size_guidance={"scalars": 0})
        ea.Reload()
        assert ea.file_version == 2.0, ea.file_version
        f32 = lambda x: struct.unpack("f", struct.pack("f", float(x)))[0]
        expected = {}
        for name, prefix, skip in [("steps.csv", "train/", {"step", "epoch"}), ("metrics.csv", "epoch/", {"epoch", "step", "seconds"})]:
            for row in csv.DictReader(open(run + "/" + name)):
                for k, v in row.items():
                    if k not in skip and v != "":
                        expected.setdefault(prefix + k, []).append((int(row["step"]), f32(v)))
        best = json.load(open(run + "/best.json"))
        for k, v in best.items():
            expected["best/" + k] = [(12, f32(v))]
        got = {t: [(e.step, e.value) for e in ea.Scalars(t)] for t in ea.Tags()["scalars"]}
        for t in sorted(set(got) | set(expected)):
            if got.get(t) != expected.get(t):
                print("tag %s: TensorBoard has %s, the CSV %s" % (t, got.get(t), expected.get(t)), file=sys.stderr)
                sys.exit(1)
        print(len(got), sum(len(v) for v in got.values()))
        """, [dir.path])
        // every tag and value was compared by the script; here, that there were as many as expected
        let counts = out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(counts.first, 3 + 10 + 5, out)   // train/{loss,ce,learning_rate}, 10 epoch/ columns, 5 best/
        XCTAssertEqual(counts.last, 3 * 12 + 7 * 3 + 3 + 5, out)   // 12 steps; 3 epochs of 7 columns and the test's 3 once; best
    }

    /// Runs `python3` (the one on PATH, where `make setup` installs tensorboard) on `script`; a
    /// missing python3 or tensorboard fails the test: CI installs both.
    func python3(_ script: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        do { try p.run() } catch {
            XCTFail("cannot run python3 (\(error)); `make setup` expects python3 with pip on PATH")
            return ""
        }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = String(decoding: e, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "python3: \(stderr)")
        return String(decoding: o, as: UTF8.self)
    }
}
