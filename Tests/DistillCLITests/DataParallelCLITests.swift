import XCTest
import Foundation

/// `mpirun -np 2 distill train` (issue 16): two processes on shards of every global batch give
/// the trajectory of one process at the same global batch, a rank killed mid-epoch and the job
/// resumed gives the uninterrupted result byte for byte, and a world size that does not divide
/// the batch is refused on every rank without a hang. Open MPI as root needs the two
/// OMPI_ALLOW_RUN_AS_ROOT variables; `--oversubscribe` lets 2 processes share this machine's cores.
final class DataParallelCLITests: XCTestCase {
    static let mpirun = "/usr/bin/mpirun"

    func mpi(_ n: Int, _ args: [String], timeout: TimeInterval = 300) throws -> (status: Int32, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.mpirun) else {
            XCTFail("\(Self.mpirun) is missing: make setup installs openmpi-bin and libopenmpi-dev"); return (-1, "")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.mpirun)
        p.arguments = ["-np", "\(n)", "--oversubscribe", CLI.binary.path] + args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["DISTILL_NUM_THREADS"] = "1"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); XCTFail("mpirun \(args.joined(separator: " ")) did not finish in \(timeout) s") }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    static func column(_ csv: String, _ name: String) -> [Double] {
        let lines = csv.split(separator: "\n")
        guard let header = lines.first?.split(separator: ","), let k = header.firstIndex(of: Substring(name)) else { return [] }
        return lines.dropFirst().map { Double($0.split(separator: ",", omittingEmptySubsequences: false)[k]) ?? .nan }
    }

    func testTwoRanksFollowOneRankAndResumeAfterAKill() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // 1250 examples: the last batch of each epoch has 98 rows, shards of 49
        let common = ["train", "--model", "mlp:64", "--subset", "1250", "--epochs", "2", "--schedule", "constant", "--quiet", "--threads", "1"]
        let one = root.appendingPathComponent("one").path, two = root.appendingPathComponent("two").path
        let r1 = try CLI.run(common + ["--out", one], timeout: 300)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try mpi(2, common + ["--out", two])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        // the loss trajectory, step by step: equal to float rounding (the sums run in another order)
        let a = Self.column(try String(contentsOfFile: one + "/steps.csv", encoding: .utf8), "loss")
        let b = Self.column(try String(contentsOfFile: two + "/steps.csv", encoding: .utf8), "loss")
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(x)), "steps.csv of 1 and 2 processes") }
        let e1 = Self.column(try String(contentsOfFile: one + "/metrics.csv", encoding: .utf8), "test_accuracy")
        let e2 = Self.column(try String(contentsOfFile: two + "/metrics.csv", encoding: .utf8), "test_accuracy")
        XCTAssertEqual(e1.count, 2); XCTAssertEqual(e1.count, e2.count)
        for (x, y) in zip(e1, e2) { XCTAssertEqual(x, y, accuracy: 2e-4, "at most 2 of 10,000 test predictions may flip by rounding") }
        // only rank 0 wrote: one log, no second copy of anything
        XCTAssertEqual(try String(contentsOfFile: two + "/log.jsonl", encoding: .utf8).split(separator: "\n").filter { $0.contains("\"event\":\"epoch\"") }.count, 2)

        // a rank killed after a mid-epoch checkpoint, then the job resumed: the uninterrupted result
        let long = ["train", "--model", "mlp:128", "--subset", "6000", "--epochs", "2", "--checkpoint-every", "12", "--quiet", "--threads", "1"]
        let ref = root.appendingPathComponent("ref").path, killed = root.appendingPathComponent("killed").path
        XCTAssertEqual(try mpi(2, long + ["--out", ref]).status, 0)
        let job = Process()
        job.executableURL = URL(fileURLWithPath: Self.mpirun)
        job.arguments = ["-np", "2", "--oversubscribe", CLI.binary.path] + long + ["--out", killed]
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"; env["DISTILL_NUM_THREADS"] = "1"
        job.environment = env
        job.standardOutput = FileHandle.nullDevice; job.standardError = FileHandle.nullDevice
        try job.run()
        let ck = killed + "/checkpoint.safetensors"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: ck) && Date() < deadline && job.isRunning { usleep(20_000) }
        XCTAssertTrue(job.isRunning, "the job ended before it could be killed")
        let pids = try Self.pids(matching: killed)
        XCTAssertEqual(pids.count, 2, "two ranks: \(pids)")
        kill(pids.max()!, SIGKILL)   // one rank; mpirun ends the other
        job.waitUntilExit()
        XCTAssertNotEqual(job.terminationStatus, 0)
        let resumed = try mpi(2, long + ["--out", killed, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: killed + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: ref + "/model.safetensors")), "resumed model differs from the uninterrupted one")
        XCTAssertEqual(try String(contentsOfFile: killed + "/steps.csv", encoding: .utf8), try String(contentsOfFile: ref + "/steps.csv", encoding: .utf8))
    }

    /// `mpirun -np 2 distill run`: a teacher, a student alone and a distilled student, each
    /// sub-run data-parallel, only rank 0 writing; the report's numbers are one process's.
    func testAnExperimentUnderMPIReportsWhatOneProcessReports() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let yaml = root.appendingPathComponent("e.yaml")
        try Data("""
            name: e
            data: fashion-mnist
            transfer: {kind: subset, count: 1000}
            teacher: {model: "mlp:32", train: {epochs: 1, schedule: constant}}
            student: {model: "mlp:16", baseline: true, train: {epochs: 1, schedule: constant}}
            method: ["hinton:temperature=4,alpha=0.9"]
            seeds: [0]
            """.utf8).write(to: yaml)
        let one = root.appendingPathComponent("one").path, two = root.appendingPathComponent("two").path
        let r1 = try CLI.run(["run", yaml.path, "--out", one, "--quiet"], timeout: 300)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try mpi(2, ["run", yaml.path, "--out", two, "--quiet"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        func errors(_ dir: String) throws -> [Double] {
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as? [String: Any]
            let summary = m?["summary"] as? [String: [String: Any]] ?? [:]
            return ["teacher", "student_alone", "student_distilled"].map { (summary["\($0).test.errors"]?["mean"] as? Double) ?? .nan }
        }
        let (e1, e2) = (try errors(one), try errors(two))
        XCTAssertFalse(e1.contains { $0.isNaN }, "\(e1)")
        for (a, b) in zip(e1, e2) { XCTAssertEqual(a, b, accuracy: 2, "test errors of 1 and 2 processes: \(e1) vs \(e2)") }
    }

    /// `distill logits` under mpirun: each process computes its share of the batches; the
    /// gathered table equals one process's byte for byte, and works as --teacher-logits.
    func testShardedLogitsEqualSingleProcessLogitsExactly() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let t = root.appendingPathComponent("t").path
        XCTAssertEqual(try CLI.run(["train", "--model", "cnn:8x16,fc=32,bn=1", "--subset", "600", "--epochs", "1", "--quiet", "--out", t], timeout: 300).status, 0)
        let args = ["logits", "--teacher", t + "/model.safetensors", "--subset", "1234", "--batch-size", "100", "--threads", "1"]
        let one = root.appendingPathComponent("one.npy").path, two = root.appendingPathComponent("two.npy").path
        let r1 = try CLI.run(args + ["--out", one], timeout: 300)
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try mpi(3, args + ["--out", two])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("computed by 3 processes"), r2.stderr)
        let a = try Data(contentsOf: URL(fileURLWithPath: one)), b = try Data(contentsOf: URL(fileURLWithPath: two))
        XCTAssertGreaterThan(a.count, 1234 * 10 * 4)
        XCTAssertEqual(a, b, "sharded logits differ from single-process logits")
        let kd = try CLI.run(["distill", "--teacher-logits", two, "--student", "mlp:8", "--epochs", "1", "--quiet", "--out", root.appendingPathComponent("kd").path], timeout: 300)
        XCTAssertEqual(kd.status, 1, "logits of 1,234 rows for a 60,000-row transfer set are refused")
        XCTAssertTrue(kd.stderr.contains("1234"), kd.stderr)
    }

    func testAWorldSizeThatDoesNotDivideTheBatchIsRefusedOnEveryRank() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try mpi(2, ["train", "--model", "mlp:8", "--subset", "100", "--epochs", "1", "--batch-size", "33", "--quiet",
                            "--out", root.appendingPathComponent("odd").path], timeout: 120)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("a multiple of the 2 processes"), r.stderr)
    }

    /// Process ids of the `distill` processes whose command line contains `text`.
    static func pids(matching text: String) throws -> [Int32] {
        var out: [Int32] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry), let cmd = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let args = String(decoding: cmd, as: UTF8.self).split(separator: "\0").map(String.init)
            if args.first.map({ $0.hasSuffix("/distill") }) == true && args.contains(text) { out.append(pid) }
        }
        return out
    }
}
