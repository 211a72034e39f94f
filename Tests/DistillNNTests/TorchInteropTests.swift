import Foundation
import XCTest
import DistillCore
import DistillData
import DistillTestSupport
@testable import DistillNN

/// Checkpoints of the model zoo interoperate with PyTorch, in both directions: a checkpoint that
/// Swift trains a few steps (so BatchNorm running statistics are non-trivial) and saves loads into
/// the PyTorch mirror (Fixtures/torch_models.py) with `load_state_dict(strict=True)` and gives the
/// same eval-mode logits; a checkpoint PyTorch initialises (with perturbed BatchNorm statistics)
/// loads into the Swift model with `Module.load(from:)` and gives PyTorch's logits. Tolerance:
/// max|Δ| ≤ 1e-4 · max|logit|. Skipped when /usr/bin/python3 cannot import torch.
final class TorchInteropTests: XCTestCase {
    struct Case {
        let spec: String
        let input: ModelInput
        /// Sequence length for the token-id models (nil for images).
        var tokens: Int? = nil
        var vocabulary: Int = 0
    }

    static let cases: [Case] = [
        Case(spec: "mlp:64x32", input: .fashionMNIST),
        Case(spec: "lenet5", input: .fashionMNIST),
        Case(spec: "cnn:8x16,fc=32", input: .fashionMNIST),
        Case(spec: "cnn:8x16x32,fc=32,bn=1", input: .fashionMNIST),
        Case(spec: "resnet8", input: .fashionMNIST),
        Case(spec: "resnet8x4", input: .cifar10),
        Case(spec: "resnet20:shortcut=a", input: .cifar10),
        Case(spec: "resnet8:shortcut=a", input: .fashionMNIST),
        Case(spec: "wrn-10-2", input: .fashionMNIST),
        Case(spec: "vgg8", input: .fashionMNIST),
        Case(spec: "vit:patch=7,dim=16,heads=2,depth=2,ff=32", input: .fashionMNIST),
        Case(spec: "bilstm:vocab=50,embed=8,hidden=6,layers=2", input: .tokens(classes: 5), tokens: 7, vocabulary: 50),
        Case(spec: "transformer:vocab=50,dim=16,heads=2,depth=2,ff=32,maxlen=12", input: .tokens(classes: 5), tokens: 6, vocabulary: 50),
    ]

    static let tolerance: Float = 1e-4
    static let python = "/usr/bin/python3"
    static let timeout: TimeInterval = 120

    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "torch-interop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertFalse(dir.contains(" "), "job lines are split on spaces")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: Swift → PyTorch

    func testSwiftCheckpointsLoadStrictlyInPyTorchWithTheSameLogits() throws {
        let script = try Self.interopScript()
        var jobs: [String] = []
        for (k, c) in Self.cases.enumerated() {
            let model = try ModelZoo.make(c.spec, input: c.input, seed: UInt64(10 + k))
            Self.trainBriefly(model, c, seed: UInt64(100 + k))
            model.eval()
            let x = Self.sampleInput(c, batch: 3, seed: UInt64(200 + k))
            let logits = withoutGradients { model(x) }
            let base = dir + "/swift\(k)"
            try model.save(to: base + ".safetensors", metadata: ["spec": c.spec])
            try NumPy.write(NumPyArray(x), to: base + "_x.npy")
            try NumPy.write(NumPyArray(logits), to: base + "_y.npy")
            jobs.append("check \(c.spec) \(base).safetensors \(base)_x.npy \(base)_y.npy")
        }
        // bad inputs on the PyTorch side: a resnet8 checkpoint for resnet14, and a wrong shape
        let r8 = Self.cases.firstIndex { $0.spec == "resnet8" }!
        jobs.append("check resnet14 \(dir)/swift\(r8).safetensors \(dir)/swift\(r8)_x.npy \(dir)/swift\(r8)_y.npy")
        var file = try SafeTensors.read(from: "\(dir)/swift\(r8).safetensors")
        file.tensors["fc.weight"] = Tensor.zeros([10, 32])
        try file.write(to: "\(dir)/bad_shape.safetensors")
        jobs.append("check resnet8 \(dir)/bad_shape.safetensors \(dir)/swift\(r8)_x.npy \(dir)/swift\(r8)_y.npy")

        let results = try runJobs(jobs, script: script)
        for (k, c) in Self.cases.enumerated() {
            XCTAssertTrue(results[k]?.hasPrefix("OK ") == true, "\(c.spec): \(results[k] ?? "no result")")
        }
        let wrongModel = results[Self.cases.count] ?? "no result"
        XCTAssertTrue(wrongModel.hasPrefix("FAIL") && wrongModel.contains("missing keys: layer1.1."), wrongModel)
        let wrongShape = results[Self.cases.count + 1] ?? "no result"
        XCTAssertTrue(wrongShape.hasPrefix("FAIL") && wrongShape.contains("fc.weight expects [10, 64], got [10, 32]"), wrongShape)
    }

    // MARK: PyTorch → Swift

    func testPyTorchCheckpointsLoadStrictlyInSwiftWithTheSameLogits() throws {
        let script = try Self.interopScript()
        var jobs: [String] = []
        for (k, c) in Self.cases.enumerated() {
            let base = dir + "/torch\(k)"
            let shape = c.tokens.map(String.init) ?? "\(c.input.channels)x\(c.input.height)x\(c.input.width)"
            jobs.append("export \(c.spec) \(300 + k) \(base).safetensors \(base)_x.npy \(base)_y.npy --shape \(shape) --classes \(c.input.classes) --batch 3")
        }
        let results = try runJobs(jobs, script: script)
        for (k, c) in Self.cases.enumerated() {
            guard results[k]?.hasPrefix("OK ") == true else {
                XCTFail("\(c.spec): PyTorch export failed: \(results[k] ?? "no result")")
                continue
            }
            let base = dir + "/torch\(k)"
            let model = try ModelZoo.make(c.spec, input: c.input, seed: 7)
            let before = model.stateDict()
            try model.load(from: base + ".safetensors")
            XCTAssertNotEqual(before.mapValues(\.scalars), model.stateDict().mapValues(\.scalars), "\(c.spec): load changed nothing")
            model.eval()
            let x = try NumPy.read(base + "_x.npy").tensor
            let expected = try NumPy.read(base + "_y.npy").tensor
            let logits = withoutGradients { model(x) }
            Self.assertMatches(logits, expected, c.spec)
        }
    }

    // MARK: bad checkpoints (Swift side; no PyTorch needed)

    func testLoadingIntoTheWrongArchitectureNamesTheKeys() throws {
        let r8 = try ModelZoo.make("resnet8", input: .cifar10, seed: 1)
        let r14 = try ModelZoo.make("resnet14", input: .cifar10, seed: 2)
        try r8.save(to: dir + "/r8.safetensors")
        try r14.save(to: dir + "/r14.safetensors")
        let untouched = r14.stateDict().mapValues(\.scalars)
        XCTAssertThrowsError(try r14.load(from: dir + "/r8.safetensors")) { e in
            guard case let ModuleError.missingKeys(keys) = e else { return XCTFail("expected missing keys, got \(e)") }
            XCTAssertTrue(keys.contains("layer1.1.conv1.weight"), "\(keys)")
            XCTAssertTrue("\(e)".contains("missing keys") && "\(e)".contains("layer3.1.bn2.running_var"), "\(e)")
        }
        XCTAssertEqual(r14.stateDict().mapValues(\.scalars), untouched, "a failed load must modify nothing")
        XCTAssertThrowsError(try r8.load(from: dir + "/r14.safetensors")) { e in
            guard case let ModuleError.unexpectedKeys(keys) = e else { return XCTFail("expected unexpected keys, got \(e)") }
            XCTAssertTrue(keys.contains("layer2.1.conv2.weight"), "\(keys)")
            XCTAssertTrue("\(e)".contains("unexpected keys") && "\(e)".contains("layer2.1.conv2.weight"), "\(e)")
        }
    }

    func testATensorOfTheWrongShapeNamesTheKeyAndBothShapes() throws {
        let m = try ModelZoo.make("resnet8", input: .cifar10, seed: 1)
        var file = SafeTensors(tensors: m.stateDict())
        file.tensors["layer2.0.conv1.weight"] = Tensor.zeros([32, 16, 5, 5])
        try file.write(to: dir + "/bad.safetensors")
        XCTAssertThrowsError(try m.load(from: dir + "/bad.safetensors")) { e in
            XCTAssertEqual(e as? ModuleError, .shapeMismatch(key: "layer2.0.conv1.weight", expected: [32, 16, 3, 3], got: [32, 16, 5, 5]))
            let text = "\(e)"
            XCTAssertTrue(text.contains("layer2.0.conv1.weight") && text.contains("[32, 16, 3, 3]") && text.contains("[32, 16, 5, 5]"), text)
        }
    }

    // MARK: helpers

    /// A few SGD steps in training mode on random data: moves the weights off their initial values
    /// and gives BatchNorm non-trivial running statistics.
    static func trainBriefly(_ model: Module, _ c: Case, seed: UInt64, steps: Int = 2, batch: Int = 3) {
        model.train()
        let opt = SGD(model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        var g = SeededGenerator(seed: seed)
        for s in 0..<steps {
            var x = sampleInput(c, batch: batch, seed: seed &+ UInt64(s + 1))
            if c.tokens == nil { x = x * 1.5 + 0.3 }   // off-centre, so running means move away from 0
            let labels = IntTensor(shape: [batch], scalars: (0..<batch).map { _ in g.nextInt(below: c.input.classes) })
            model.zeroGradients()
            crossEntropy(logits: model(x), labels: labels).backward()
            opt.step()
        }
    }

    /// Images N(0, 1) [N, C, H, W], or token ids [N, T] as Float values.
    static func sampleInput(_ c: Case, batch: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        if let t = c.tokens {
            return Tensor(shape: [batch, t], scalars: (0..<(batch * t)).map { _ in Float(g.nextInt(below: c.vocabulary)) })
        }
        return Tensor.normal([batch, c.input.channels, c.input.height, c.input.width], using: &g)
    }

    /// max|a − b| ≤ tolerance · max|b|, reporting both numbers.
    static func assertMatches(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard a.shape == b.shape else {
            return XCTFail("\(what): logits \(Shape.describe(a.shape)) vs PyTorch \(Shape.describe(b.shape))", file: file, line: line)
        }
        var diff: Float = 0, scale: Float = 0
        for (x, y) in zip(a.scalars, b.scalars) {
            diff = max(diff, abs(x - y)); scale = max(scale, abs(y))
            if !x.isFinite { diff = .infinity }
        }
        XCTAssertTrue(diff <= tolerance * scale,
                      "\(what): max|Δ| = \(diff), max|logit| = \(scale), relative \(diff / max(scale, 1e-12)) > \(tolerance)",
                      file: file, line: line)
    }

    /// Whether /usr/bin/python3 imports torch (checked once per test process).
    static let torchProbe: Result<Void, XCTSkip> = {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(XCTSkip("\(python) is not installed; the PyTorch interop tests need python3-torch"))
        }
        do {
            let r = try run(python, ["-c", "import numpy, torch"], timeout: timeout)
            let reason = r.output.split(separator: "\n").last.map(String.init) ?? "exit status \(r.status)"
            return r.status == 0 ? .success(()) : .failure(XCTSkip("\(python) cannot import torch and numpy (install python3-torch): \(reason)"))
        } catch {
            return .failure(XCTSkip("cannot run \(python): \(error)"))
        }
    }()

    /// The bundled torch_interop.py, or a skip when PyTorch is unavailable.
    static func interopScript() throws -> String {
        try torchProbe.get()
        guard let url = Bundle.module.url(forResource: "torch_interop", withExtension: "py", subdirectory: "Fixtures") else {
            throw XCTSkip("Fixtures/torch_interop.py is missing from the test bundle")
        }
        return url.path
    }

    /// Runs the jobs in one python process; returns the text after `job K: ` by K.
    func runJobs(_ jobs: [String], script: String) throws -> [Int: String] {
        let list = dir + "/jobs.txt"
        try (jobs.joined(separator: "\n") + "\n").write(toFile: list, atomically: true, encoding: .utf8)
        let r = try Self.run(Self.python, [script, "batch", list], timeout: Self.timeout)
        var out: [Int: String] = [:]
        for line in r.output.split(separator: "\n") where line.hasPrefix("job ") {
            let rest = line.dropFirst(4)
            guard let colon = rest.firstIndex(of: ":"), let k = Int(rest[..<colon]) else { continue }
            out[k] = String(rest[rest.index(after: colon)...].drop { $0 == " " })
        }
        if out.count != jobs.count {
            XCTFail("torch_interop.py answered \(out.count) of \(jobs.count) jobs (exit \(r.status)):\n\(r.output.suffix(2000))")
        }
        return out
    }

    /// Runs `executable` with `arguments`; stdout and stderr together, with a wall-clock limit.
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        try Subprocess.run(executable, arguments, timeout: timeout)
    }
}
