import XCTest
import Foundation
import DistillCore
import DistillData
import DistillNN

/// `distill export` through the built binary: a student distilled by `distill distill` exports to
/// ONNX, passes the onnx checker, and onnxruntime (the python3 on PATH, installed by `make setup`)
/// gives the probabilities `distill predict` prints for the same images; bad inputs exit 1 naming
/// what to pass.
final class ExportCLITests: XCTestCase {
    func testADistilledStudentExportsAndRunsInOnnxRuntime() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let teacher = root.appendingPathComponent("t")
        let t = try CLI.run(["train", "--model", "mlp:32", "--subset", "1000", "--epochs", "1", "--augment", "normalize:fashion-mnist",
                             "--quiet", "--out", teacher.path])
        XCTAssertEqual(t.status, 0, t.stderr)
        let out = root.appendingPathComponent("d")
        let d = try CLI.run(["distill", "--teacher", teacher.appendingPathComponent("model.safetensors").path, "--student", "mlp:16",
                             "--method", "hinton:temperature=4", "--epochs", "1", "--quiet", "--out", out.path], timeout: 300)
        XCTAssertEqual(d.status, 0, d.stderr)
        let student = out.appendingPathComponent("seed-0/student-distilled/model.safetensors").path
        let onnx = root.appendingPathComponent("student.onnx").path
        let e = try CLI.run(["export", "--checkpoint", student, "--format", "onnx", "--out", onnx])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("wrote \(onnx): mlp:16, 10 classes, input [batch, 1, 28, 28]"), e.stdout)

        // 20 test images as uint8 [N, H, W]: predict's probabilities vs onnxruntime's softmax
        let test = try Dataset.fashionMNIST(split: .test).first(20)
        let npy = root.appendingPathComponent("x.npy").path
        try NumPy.write(NumPyArray(IntTensor(shape: [20, 28, 28], scalars: test.images.scalars.map { Int(($0 * 255).rounded()) }), dtype: .uint8), to: npy)
        let p = try CLI.run(["predict", "--checkpoint", student, "--json", "--top", "10", npy])
        XCTAssertEqual(p.status, 0, p.stderr)
        let predictions = root.appendingPathComponent("predict.jsonl").path
        try p.stdout.write(toFile: predictions, atomically: true, encoding: .utf8)
        let check = """
        import json, sys, numpy as np, onnx, onnxruntime as ort
        m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
        meta = {p.key: p.value for p in m.metadata_props}
        assert meta["model"] == "mlp:16" and meta["classes"] == "10" and meta["input_shape"] == "1x28x28", meta
        x = (np.load(sys.argv[2]).astype(np.float32) / 255)[:, None]
        z = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"]).run(["logits"], {"input": x})[0]
        p = np.exp(z - z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        rows = [json.loads(l) for l in open(sys.argv[3])]
        assert len(rows) == len(p), (len(rows), len(p))
        for i, r in enumerate(rows):
            for t in r["top"]:
                assert abs(p[i, t["index"]] - t["probability"]) <= 1e-4, (i, t, p[i])
            assert int(np.argmax(p[i])) == r["index"], (i, r["index"], p[i])
        print("OK", len(rows))
        """
        let py = try CLI.runPython(check, [onnx, npy, predictions])
        XCTAssertTrue(py.status == 0 && py.stdout.hasPrefix("OK 20"),
                      "onnx/onnxruntime check failed (make setup installs them: python3 -m pip install onnx onnxruntime):\n\(py.stdout)\n\(py.stderr)")

        // bad inputs: no recorded spec (PyTorch files) names --model; an unknown format; a text model names its embedding
        let bare = root.appendingPathComponent("bare.safetensors").path
        try Self.withoutMetadata(student, to: bare)
        let noSpec = try CLI.run(["export", "--checkpoint", bare, "--out", onnx])
        XCTAssertEqual(noSpec.status, 1)
        XCTAssertTrue(noSpec.stderr.contains("records no model spec") && noSpec.stderr.contains("--model"), noSpec.stderr)
        let noShape = try CLI.run(["export", "--checkpoint", bare, "--model", "mlp:16", "--out", onnx])
        XCTAssertEqual(noShape.status, 1)
        XCTAssertTrue(noShape.stderr.contains("--input-shape"), noShape.stderr)
        let format = try CLI.run(["export", "--checkpoint", student, "--format", "tflite", "--out", onnx])
        XCTAssertEqual(format.status, 1)
        XCTAssertTrue(format.stderr.contains("format") && format.stderr.contains("tflite") && format.stderr.contains("onnx"), format.stderr)
        let wrongModel = try CLI.run(["export", "--checkpoint", student, "--model", "lenet5", "--out", onnx])
        XCTAssertEqual(wrongModel.status, 1)
        XCTAssertTrue(wrongModel.stderr.contains("does not match the model lenet5"), wrongModel.stderr)
    }

    /// A text classifier exports at the sequence length `--input-shape T` names (its file records
    /// none); without it the error asks for T.
    func testATextModelExportsAtTheSequenceLengthGiven() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let spec = "transformer:vocab=30,dim=8,heads=2,depth=1,ff=16,maxlen=16"
        let file = root.appendingPathComponent("text.safetensors").path
        try ModelZoo.make(spec, input: .tokens(classes: 4)).save(to: file, metadata: ["model": spec, "classes": "4"])
        let onnx = root.appendingPathComponent("text.onnx").path
        let none = try CLI.run(["export", "--checkpoint", file, "--out", onnx])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("--input-shape T"), none.stderr)
        let e = try CLI.run(["export", "--checkpoint", file, "--input-shape", "12", "--out", onnx])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("wrote \(onnx): \(spec), 4 classes, input [batch, 12]"), e.stdout)
        let check = """
        import sys, numpy as np, onnx, onnxruntime as ort
        m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
        z = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"]).run(["logits"], {"input": np.zeros((5, 12), np.float32)})[0]
        assert z.shape == (5, 4), z.shape
        print("OK")
        """
        let py = try CLI.runPython(check, [onnx])
        XCTAssertTrue(py.status == 0 && py.stdout.hasPrefix("OK"), "\(py.stdout)\n\(py.stderr)")
    }

    /// Copies a safetensors file without its metadata (as PyTorch's writers leave it).
    static func withoutMetadata(_ path: String, to dest: String) throws {
        var file = try SafeTensors.read(from: path)
        file.metadata = [:]
        try file.write(to: dest)
    }
}
