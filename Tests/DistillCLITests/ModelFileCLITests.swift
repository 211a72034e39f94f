import XCTest
import Foundation

/// What a user coming from PyTorch meets with model files, through the built binary (issue 13):
/// the preprocessing saved with the model, PyTorch's own files, wrapper prefixes, and checkpoints
/// passed where a model is expected.
final class ModelFileCLITests: XCTestCase {
    static let python = "/usr/bin/python3"

    func pythonWithTorch() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else { throw XCTSkip("\(Self.python) is missing (make setup installs python3-torch)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = ["-c", "import torch, numpy"]
        try p.run(); p.waitUntilExit()
        if p.terminationStatus != 0 { throw XCTSkip("\(Self.python) cannot import torch (make setup installs python3-torch)") }
    }

    func runPython(_ code: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = ["-c", code]
        let err = Pipe()
        p.standardError = err
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// The report: trained with `--augment normalize:fashion-mnist`, a model gave 80.75 %
    /// at the end of training and 67.61 % under `eval`, `compare` and as a teacher. Now the model
    /// file carries the transform and every command applies it: the numbers are the same.
    func testTheAccuracyOfTrainingIsTheAccuracyOfEveryCommandThatLoadsTheModel() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("t").path
        let r = try CLI.run(["train", "--model", "mlp:32", "--subset", "3000", "--epochs", "1", "--augment", "normalize:fashion-mnist",
                             "--quiet", "--out", run], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let log = try String(contentsOfFile: run + "/log.jsonl", encoding: .utf8)
        let epoch = log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .last { $0["event"] as? String == "epoch" }
        let trained = try XCTUnwrap(epoch?["test_accuracy"] as? Double)
        let e = try CLI.run(["eval", "--checkpoint", run + "/model.safetensors", "--json"], timeout: 300)
        XCTAssertEqual(e.status, 0, e.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(report["accuracy"] as? Double), trained, accuracy: 1e-12)
        let c = try CLI.run(["compare", "--teacher", run + "/model.safetensors", "--student", run + "/model.safetensors", "--subset", "500", "--json"], timeout: 300)
        XCTAssertEqual(c.status, 0, c.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [[String: Any]])
        let test = try XCTUnwrap((rows.first?["test"] as? [String: Any])?["student"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(test["accuracy"] as? Double), trained, accuracy: 1e-12)
        let meta = try XCTUnwrap(try SafeTensorsHeader.metadata(run + "/model.safetensors"))
        XCTAssertTrue(meta["input_transform"]?.hasPrefix("normalize:0.286") == true, "\(meta)")
    }

    /// Files written by torch.save (zip and legacy pickle) are named as such with the command that
    /// converts them; a DataParallel-wrapped state dict of akamaster's option-A ResNet-20 exported
    /// from PyTorch evaluates after the `module.` prefix is removed.
    func testPyTorchFilesAreRecognisedAndWrappedStateDictsLoad() throws {
        try pythonWithTorch()
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let zip = root.appendingPathComponent("model.pt").path, legacy = root.appendingPathComponent("legacy.th").path
        try runPython("""
            import torch
            sd = {"conv1.weight": torch.zeros(16, 1, 3, 3)}
            torch.save({"state_dict": sd, "best_prec1": 91.7}, "\(zip)")
            torch.save(sd, "\(legacy)", _use_new_zipfile_serialization=False)
            """)
        for (path, phrase) in [(zip, "a PyTorch file written by torch.save"), (legacy, "is a Python pickle")] {
            let r = try CLI.run(["eval", "--checkpoint", path, "--model", "resnet20:shortcut=a"])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(phrase) && r.stderr.contains("safetensors.torch import save_file"), r.stderr)
        }
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        // akamaster's layout, wrapped as DataParallel saves it, written as safetensors without metadata
        let wrapped = root.appendingPathComponent("wrapped.safetensors").path
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DistillNNTests/Fixtures").path
        try runPython("""
            import sys, json, struct, numpy as np, torch
            sys.path.insert(0, "\(fixtures)")
            import torch_models
            torch.manual_seed(0)
            m = torch.nn.DataParallel(torch_models.build("resnet20:shortcut=a", 1, 28, 28, 10))
            sd = {k: v for k, v in m.state_dict().items() if v.dtype == torch.float32}
            header, blobs, off = {}, [], 0
            for k, v in sd.items():
                b = v.contiguous().numpy().astype("<f4").tobytes()
                header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
                blobs.append(b); off += len(b)
            h = json.dumps(header).encode()
            open("\(wrapped)", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
            """)
        let missing = try CLI.run(["eval", "--checkpoint", wrapped])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("records no model spec") && missing.stderr.contains("--model SPEC"), missing.stderr)
        let ok = try CLI.run(["eval", "--checkpoint", wrapped, "--model", "resnet20:shortcut=a", "--subset", "200", "--json"], timeout: 300)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("removed the prefix 'module.'"), ok.stderr)
        // the projection-shortcut ResNet-20 has other keys: both sides and a mapping are listed
        let wrong = try CLI.run(["eval", "--checkpoint", wrapped, "--model", "resnet20"])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("missing key") && wrong.stderr.contains("unexpected key") && wrong.stderr.contains("fc.weight ← module.linear.weight"), wrong.stderr)
    }

    func testATrainingCheckpointWhereAModelIsExpectedNamesTheModelFile() throws {
        guard CLI.hasFashionMNIST else { throw XCTSkip("Fashion-MNIST is not installed (make setup)") }
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("t").path
        let r = try CLI.run(["train", "--model", "mlp:8", "--subset", "500", "--epochs", "1", "--quiet", "--out", run], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try CLI.run(["eval", "--checkpoint", run + "/checkpoint.safetensors"])
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("is a training checkpoint") && e.stderr.contains(run + "/model.safetensors"), e.stderr)
        XCTAssertEqual(try CLI.run(["--version"]).stdout.hasPrefix("distill "), true)
    }
}

/// Reads a safetensors header's metadata without the library (the CLI tests link only the binary).
enum SafeTensorsHeader {
    static func metadata(_ path: String) throws -> [String: String]? {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        guard d.count >= 8 else { return nil }
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard n > 0, 8 + n <= d.count else { return nil }
        let header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as? [String: Any]
        return header?["__metadata__"] as? [String: String]
    }
}
