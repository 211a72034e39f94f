import XCTest
import Foundation
import DistillCore
import DistillNN

/// `distill datafree` through the built binary: bad input exits 1 naming the field before any
/// work; tiny DeepInversion and DAFL runs write the report, result.json, the grid and their
/// checkpoints, and a rerun resumes from the checkpoint.
final class DataFreeCLITests: XCTestCase {
    func modelFile(_ spec: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(spec.replacingOccurrences(of: ":", with: "_") + ".safetensors").path
        try ModelZoo.make(spec, seed: 1).save(to: path, metadata: ["model": spec, "data": "fashion-mnist", "classes": "10", "input_shape": "1x28x28"])
        return path
    }

    func testBadInputIsRefusedBeforeWork() throws {
        let dir = try CLI.temporaryDirectory()
        let plain = try modelFile("lenet5", in: dir), bn = try modelFile("lenet5:bn=true", in: dir)
        let out = dir.appendingPathComponent("out").path
        let rows: [([String], String)] = [
            (["--teacher", bn, "--method", "zskd"], "expected one of deepinversion, adi, dafl"),
            (["--teacher", bn, "--images", "0"], "images '0'"),
            (["--teacher", bn, "--iterations=-3"], "iterations '-3'"),
            (["--teacher", bn, "--kd-lr", "0"], "kd-lr"),
            (["--teacher", plain, "--method", "deepinversion"], "has no BatchNorm layer"),
            (["--teacher", plain, "--method", "adi"], "has no BatchNorm layer"),
            (["--teacher", bn, "--student", "lenet5:half=yes"], "expects true or false"),
            (["--teacher", dir.appendingPathComponent("missing.safetensors").path], "missing.safetensors"),
            (["--teacher", bn, "--kd-augment", "mixup:0.2"], "takes only jitter, crop, flip"),
            (["--teacher", bn, "--kd-augment", "crop:2:20"], "must keep the image size"),
            (["--teacher", bn, "--kd-augment", "crop:99"], "crop padding 99"),
        ]
        for (args, phrase) in rows {
            let r = try CLI.run(["datafree"] + args + ["--out", out, "--test-subset", "20"])
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(phrase), "\(args): expected '\(phrase)' in \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/recovered.npy"), "a refused run wrote a checkpoint")
    }

    func testTinyDeepInversionAndDAFLRunsWriteTheReportAndResume() throws {
        let dir = try CLI.temporaryDirectory()
        let bn = try modelFile("lenet5:bn=true", in: dir)
        let out = dir.appendingPathComponent("di").path
        let args = ["datafree", "--teacher", bn, "--method", "deepinversion", "--images", "20", "--inversion-batch", "10",
                    "--iterations", "3", "--kd-steps", "4", "--kd-batch", "10", "--test-subset", "50", "--out", out]
        let r = try CLI.run(args, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| deepinversion (data-free) |"), r.stdout)
        for f in ["report.md", "result.json", "recovered.npy", "recovered_grid.png", "recovered_grid.svg", "student.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        let again = try CLI.run(args, timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("resuming from"), again.stderr)
        XCTAssertFalse(again.stderr.contains("images; last batch"), "a finished inversion was redone: \(again.stderr)")

        let daflOut = dir.appendingPathComponent("dafl").path
        let d = try CLI.run(["datafree", "--teacher", bn, "--method", "dafl", "--images", "20", "--dafl-epochs", "1", "--dafl-iterations", "2",
                             "--dafl-batch", "8", "--test-subset", "50", "--out", daflOut], timeout: 300)
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stdout.contains("DAFL mode collapse:"), d.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: daflOut + "/dafl.safetensors"))
    }
}
