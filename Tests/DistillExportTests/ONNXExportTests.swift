import Foundation
import XCTest
import DistillCore
import DistillData
import DistillNN
import DistillTestSupport
@testable import DistillExport

/// ONNX export of every image family of the zoo, checked by the `onnx` package and onnxruntime
/// (the python3 on PATH; `make setup` installs both): each briefly trained model (weights moved by
/// SGD, BatchNorm running statistics non-trivial) passes `check_model(full_check=True)` and strict
/// shape inference, and onnxruntime's logits on 1,000 Fashion-MNIST test images equal the Swift
/// engine's to max|Δ| ≤ 1e-4 with the same argmax, at batch 1000 and at batch 1. A missing onnx or
/// onnxruntime fails (CI installs them), it does not skip.
final class ONNXExportTests: XCTestCase {
    static let families = ["mlp:64x32", "lenet5", "cnn:8x16,fc=32,bn=1", "resnet8", "resnet20:shortcut=a", "wrn-10-2", "vgg8", "vit:patch=7,dim=16,heads=2,depth=1,ff=32"]
    static let python = "python3"
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "onnx-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testEveryImageFamilyMatchesOnnxRuntimeOnFashionMNIST() throws {
        let test = try Dataset.fashionMNIST(split: .test).first(1000)
        let train = try Dataset.fashionMNIST(split: .train).first(64)
        try NumPy.write(NumPyArray(test.images), to: dir + "/x.npy")
        var jobs: [String] = []
        for (k, spec) in Self.families.enumerated() {
            let model = try ModelZoo.make(spec, input: .fashionMNIST, seed: UInt64(k + 1))
            Self.trainBriefly(model, on: train, seed: UInt64(k))
            let path = "\(dir)/m\(k).onnx"
            try ONNXExporter(model: model, inputShape: [1, 28, 28], metadata: ["model": spec, "classes": "10"]).write(to: path)
            try NumPy.write(NumPyArray(Self.logits(model, test.images)), to: "\(dir)/y\(k).npy")
            let param = model.namedParameters()[0].path
            let keys = ["init=\(param)", "meta=model:\(spec)", "meta=classes:10"]
                + (model.namedBuffers().first.map { ["init=\($0.path)"] } ?? [])
            jobs.append("\(spec) \(path) \(dir)/x.npy \(dir)/y\(k).npy " + keys.joined(separator: " "))
        }
        // input normalisation travels inside the graph: its Mul comes first, fed by the raw input
        let normed = try ModelZoo.make("lenet5", input: .fashionMNIST, seed: 42)
        normed.inputNormalization = try InputNormalization(mean: [0.2860], std: [0.3530])
        Self.trainBriefly(normed, on: train, seed: 42)
        try ONNXExporter(model: normed, inputShape: [1, 28, 28]).write(to: dir + "/normed.onnx")
        try NumPy.write(NumPyArray(Self.logits(normed, test.images)), to: dir + "/normed.npy")
        jobs.append("lenet5+normalize \(dir)/normed.onnx \(dir)/x.npy \(dir)/normed.npy first=Mul")

        let results = try runChecks(jobs)
        // Debian's checker (python3-onnx 1.12, /usr/bin/python3) accepts the same files
        let debian = try runChecks(jobs, python: "/usr/bin/python3", checkOnly: true)
        for (k, name) in (Self.families + ["lenet5+normalize"]).enumerated() {
            XCTAssertTrue(results[k]?.hasPrefix("\(name) OK ") == true, results[k] ?? "\(name): no result")
            XCTAssertTrue(debian[k]?.hasPrefix("\(name) OK ") == true, debian[k] ?? "\(name): no result from Debian's onnx")
        }
    }

    /// Every rule the zoo does not reach (unary math, reductions, softmax, expand, padded and
    /// strided pooling, grouped and dilated convolution) against onnxruntime on random inputs.
    func testTheRemainingRulesMatchOnnxRuntime() throws {
        var g = SeededGenerator(seed: 9)
        let vector = Tensor.normal([50, 6], using: &g), image = Tensor.normal([50, 4, 8, 8], using: &g)
        try NumPy.write(NumPyArray(vector), to: dir + "/v.npy")
        try NumPy.write(NumPyArray(image), to: dir + "/i.npy")
        var jobs: [String] = []
        for (k, (model, x, shape)) in [(Elementwise() as Module, vector, [6]), (Pools(using: &g), image, [4, 8, 8])].enumerated() {
            model.eval()
            try ONNXExporter(model: model, inputShape: shape).write(to: "\(dir)/r\(k).onnx")
            try NumPy.write(NumPyArray(Self.logits(model, x)), to: "\(dir)/r\(k).npy")
            jobs.append("rules\(k) \(dir)/r\(k).onnx \(dir)/\(k == 0 ? "v" : "i").npy \(dir)/r\(k).npy")
        }
        let results = try runChecks(jobs)
        for k in 0..<2 { XCTAssertTrue(results[k]?.hasPrefix("rules\(k) OK ") == true, results[k] ?? "rules\(k): no result") }
    }

    func testTheTraceRestoresTrainingModeAndNamesEveryParameter() throws {
        let model = try ModelZoo.make("resnet8", input: .fashionMNIST)
        model.train()
        let onnx = try ONNXExporter(model: model, inputShape: [1, 28, 28]).export()
        XCTAssertTrue(model.namedModules().allSatisfy { $0.module.isTraining })
        let names = Set(onnx.initializers.map(\.name))
        for p in model.namedParameters() { XCTAssertTrue(names.contains(p.path), p.path) }
        for b in model.namedBuffers() { XCTAssertTrue(names.contains(b.path), b.path) }
        XCTAssertEqual(onnx.nodes.filter { $0.op == "BatchNormalization" }.count, model.namedBuffers().count / 2)
        XCTAssertTrue(onnx.nodes.allSatisfy { $0.op != "Dropout" })
    }

    func testALayerWithoutAnExportRuleIsNamed() throws {
        var g = SeededGenerator(seed: 1)
        let model = Sequential(Flatten(), Picky(), Linear(4, 3, using: &g))
        XCTAssertThrowsError(try ONNXExporter(model: model, inputShape: [1, 2, 2]).export()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("'indexSelect'") && text.contains("module '1 (Picky)'") && text.contains("no ONNX export rule"), text)
        }
    }

    /// The text classifiers export at a fixed sequence length (token ids [batch, T] as floats):
    /// onnxruntime's logits on 200 random sequences equal the engine's, at batch 200 and 1.
    func testTextModelsMatchOnnxRuntime() throws {
        let specs = ["bilstm:vocab=50,embed=8,hidden=6,layers=2", "transformer:vocab=50,dim=16,heads=2,depth=2,ff=32,maxlen=12"]
        var g = SeededGenerator(seed: 5)
        let tokens = Tensor(shape: [200, 7], scalars: (0..<1400).map { _ in Float(g.nextInt(below: 50)) })
        try NumPy.write(NumPyArray(tokens), to: dir + "/tokens.npy")
        var jobs: [String] = []
        for (k, spec) in specs.enumerated() {
            let model = try ModelZoo.make(spec, input: .tokens(classes: 5), seed: UInt64(k + 20))
            let opt = SGD(model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
            for s in 0..<3 {
                model.zeroGradients()
                let batch = tokens.slice(axis: 0, start: 16 * s, length: 16)
                crossEntropy(logits: model(batch), labels: IntTensor((0..<16).map { ($0 + s) % 5 })).backward()
                opt.step()
            }
            model.eval()
            try ONNXExporter(model: model, inputShape: [7], metadata: ["model": spec]).write(to: "\(dir)/text\(k).onnx")
            try NumPy.write(NumPyArray(Self.logits(model, tokens)), to: "\(dir)/text\(k).npy")
            jobs.append("\(spec) \(dir)/text\(k).onnx \(dir)/tokens.npy \(dir)/text\(k).npy meta=model:\(spec) init=embedding.weight")
        }
        let results = try runChecks(jobs)
        for (k, spec) in specs.enumerated() {
            XCTAssertTrue(results[k]?.hasPrefix("\(spec) OK ") == true, results[k] ?? "\(spec): no result")
        }
    }

    func testAnEmbeddingOfIndicesOffTheTapeIsRefused() throws {
        var g = SeededGenerator(seed: 1)
        let model = Sequential(Lookup(Embedding(numEmbeddings: 4, dim: 1, using: &g)))
        XCTAssertThrowsError(try ONNXExporter(model: model, inputShape: [4]).export()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("'embedding'") && text.contains("not read from the model's input") && text.contains("module '0.table (Embedding)'"), text)
        }
    }

    func testAModelThatIgnoresItsInputIsRefused() throws {
        XCTAssertThrowsError(try ONNXExporter(model: Identity(), inputShape: [1, 2, 2]).export()) { e in
            XCTAssertTrue("\(e)".contains("does not depend on its input"), "\(e)")
        }
        XCTAssertThrowsError(try ONNXExporter(model: Identity(), inputShape: [1, 0, 2]).export()) { e in
            XCTAssertTrue("\(e)".contains("input shape [1, 0, 2]"), "\(e)")
        }
    }

    /// The hand-written protobuf writer is fast enough to need no library (see ONNXProto.swift).
    func testWriterSpeed() throws {
        let model = try ModelZoo.make("resnet20", input: .fashionMNIST)
        let onnx = try ONNXExporter(model: model, inputShape: [1, 28, 28]).export()
        let start = Date()
        let bytes = onnx.serialized()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(bytes.count, model.parameterCount() * 4)
        XCTAssertLessThan(seconds, 5, "serializing resnet20 took \(seconds) s")
        print("ONNX writer: resnet20, \(bytes.count) bytes in \(String(format: "%.3f", seconds)) s")
    }

    // MARK: helpers

    /// Unary math, clamps, powers, reductions, softmax and a broadcast over the batch, on [N, 6].
    final class Elementwise: Module {
        override func forward(_ x: Tensor) -> Tensor {
            var h = x.leakyRelu(slope: 0.1) + x.gelu() * 0.5 - x.softplus() / 2 + x.clamped(min: -0.5, max: 0.5) + x.clamped(min: 0)
            h = h + x.abs().pow(1.5) + x.pow(2) + (x.sigmoid() + 0.1).log() + x.tanh().exp() - (x * x + 1).sqrt() + (-x).erf() + x.relu()
            let s = h.softmax(alongAxis: 1) + h.logSoftmax(alongAxis: 1) + h.max(alongAxis: 1, keepDims: true)
            return s + h.sum(alongAxes: [1], keepDims: true).expanded(to: h.shape) + h.mean(alongAxis: 1).reshaped([h.shape[0], 1])
        }
    }

    /// Grouped, dilated and strided convolution; padded max and average pooling; adaptive pooling to 2×2.
    final class Pools: Module {
        let conv: Conv2d
        init(using g: inout SeededGenerator) {
            conv = Conv2d(4, 6, kernel: (3, 3), stride: (2, 1), padding: (2, 1), dilation: (2, 1), groups: 2, using: &g)
            super.init()
            register(child: conv, as: "conv")
        }
        override func forward(_ x: Tensor) -> Tensor {
            var h = maxPool2d(conv(x), kernel: (3, 3), stride: (1, 2), padding: (1, 1))
            h = avgPool2d(h, kernel: (3, 3), stride: (1, 1), padding: (1, 1), countIncludePad: false) + avgPool2d(h, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
            return adaptiveAvgPool2d(h, outputSize: (2, 2)).flattened()
        }
    }

    /// Looks up fixed indices (not read from its input): the exporter cannot follow them.
    final class Lookup: Module {
        let table: Embedding
        init(_ table: Embedding) { self.table = table; super.init(); register(child: table, as: "table") }
        override func forward(_ x: Tensor) -> Tensor { x * table(IntTensor(shape: [1, 4], scalars: [0, 1, 2, 3])).reshaped([1, 4]) }
    }

    /// A layer the exporter has no rule for (index selection).
    final class Picky: Module {
        override func forward(_ x: Tensor) -> Tensor { x.indexSelect(alongAxis: 1, indices: IntTensor([0, 1, 2, 3])) }
    }

    /// Four SGD steps in training mode on real images (pixels off-centre, so BatchNorm's running
    /// statistics move well away from 0 and 1), then eval mode.
    static func trainBriefly(_ model: Module, on data: Dataset, seed: UInt64) {
        model.train()
        let opt = SGD(model.trainableParameters(), learningRate: 0.05, momentum: 0.9)
        for s in 0..<4 {
            let batch = data.subset(Array((s * 16)..<(s * 16 + 16)))
            model.zeroGradients()
            crossEntropy(logits: model(batch.images * 1.5 + 0.2), labels: batch.labels).backward()
            opt.step()
        }
        model.eval()
    }

    static func logits(_ model: Module, _ x: Tensor) -> Tensor {
        withoutGradients {
            let n = x.shape[0]
            let parts = stride(from: 0, to: n, by: 250).map { model(x.slice(axis: 0, start: $0, length: min(250, n - $0))) }
            return Tensor.concatenated(parts, alongAxis: 0)
        }
    }

    /// Runs check_onnx.py over the jobs (with the python3 on PATH, or `python`); fails (never
    /// skips) when onnx or onnxruntime is missing.
    func runChecks(_ jobs: [String], python: String = ONNXExportTests.python, checkOnly: Bool = false) throws -> [Int: String] {
        guard let script = Bundle.module.url(forResource: "check_onnx", withExtension: "py", subdirectory: "Fixtures") else {
            XCTFail("Fixtures/check_onnx.py is missing from the test bundle"); return [:]
        }
        try (jobs.joined(separator: "\n") + "\n").write(toFile: dir + "/jobs.txt", atomically: true, encoding: .utf8)
        let r = try Subprocess.run("/usr/bin/env", [python, script.path, dir + "/jobs.txt"] + (checkOnly ? ["--check-only"] : []), timeout: 300)
        if r.output.contains("MISSING:") || r.status != 0 {
            XCTFail("check_onnx.py (\(python)) failed with status \(r.status); run `make setup`, which installs python3-onnx, onnx and onnxruntime:\n\(r.output.suffix(2000))")
        }
        var out: [Int: String] = [:]
        for line in r.output.split(separator: "\n") where line.hasPrefix("job ") {
            let rest = line.dropFirst(4)
            guard let colon = rest.firstIndex(of: ":"), let k = Int(rest[..<colon]) else { continue }
            out[k] = String(rest[rest.index(after: colon)...].drop { $0 == " " })
        }
        print(r.output)
        return out
    }
}
