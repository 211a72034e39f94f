import XCTest
import Foundation
import DistillCore
import DistillNN
import DistillData

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
            (["--teacher", bn, "--method", "zskd"], "expected one of deepinversion, adi, dafl, lopes-top-layer, lopes-all-layers"),
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

    /// A small `npy:DIR` data set of 28×28 images, `perClass` training images of each of 10 classes.
    func tinyData(in dir: URL, perClass: Int) throws -> String {
        let d = dir.appendingPathComponent("npy")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        var g = SeededGenerator(seed: 3)
        for (split, n) in [("train", 10 * perClass), ("test", 30)] {
            try NumPy.write(NumPyArray(Tensor.uniform([n, 1, 28, 28], low: 0, high: 1, using: &g)), to: d.appendingPathComponent("\(split)_images.npy").path)
            try NumPy.write(NumPyArray(IntTensor((0..<n).map { $0 % 10 })), to: d.appendingPathComponent("\(split)_labels.npy").path)
        }
        return "npy:" + d.path
    }

    func testLopesRecordsTheMetadataOnceReusesItAndRefusesAForeignFile() throws {
        let dir = try CLI.temporaryDirectory()
        let teacher = try modelFile("lenet5", in: dir)
        let data = try tinyData(in: dir, perClass: 3)
        let out = dir.appendingPathComponent("lopes").path
        let args = ["datafree", "--teacher", teacher, "--data", data, "--method", "lopes-all-layers", "--images", "20", "--inversion-batch", "10",
                    "--iterations", "3", "--kd-steps", "4", "--kd-batch", "10", "--out", out]
        let r = try CLI.run(args, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("| lopes-all-layers (data-free) |"), r.stdout)
        XCTAssertTrue(r.stdout.contains("activation statistics of 30 training images"), r.stdout)
        XCTAssertTrue(r.stderr.contains("recording the teacher's activation statistics on 30 training images"), r.stderr)
        for f in ["metadata.safetensors", "recovered.npy", "recovered_grid.png", "student.safetensors", "report.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        // the metadata released with the teacher, given to another run: no training image is read
        let top = try CLI.run(["datafree", "--teacher", teacher, "--data", data, "--method", "lopes-top-layer", "--metadata", out + "/metadata.safetensors",
                               "--images", "10", "--inversion-batch", "10", "--iterations", "2", "--kd-steps", "2", "--kd-batch", "10",
                               "--out", dir.appendingPathComponent("top").path], timeout: 300)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertFalse(top.stderr.contains("recording"), top.stderr)
        let refused: [([String], String)] = [
            (["--metadata", teacher], "lopes-activation-metadata"),
            (["--metadata", dir.appendingPathComponent("none.safetensors").path], "none.safetensors"),
            (["--metadata", out + "/metadata.safetensors", "--lopes-temperature", "4"], "the temperature 8.0 the metadata"),
            (["--lopes-temperature", "0"], "lopes-temperature '0.0'"),
            (["--lopes-init-std", "0"], "lopes-init-std '0.0'"),
            (["--lopes-init-mean", "nan"], "lopes-init-mean"),
        ]
        for (extra, phrase) in refused {
            let b = try CLI.run(["datafree", "--teacher", teacher, "--data", data, "--method", "lopes-all-layers", "--out", dir.appendingPathComponent("bad").path] + extra)
            XCTAssertEqual(b.status, 1, "\(extra): \(b.stderr)")
            XCTAssertTrue(b.stderr.contains(phrase), "\(extra): expected '\(phrase)' in \(b.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad/recovered.npy").path))
    }
}
