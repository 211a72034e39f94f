import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

extension XCTestCase {
    /// Loads the fixture's weights, runs `forward`, compares output and the gradients of
    /// sum(output · probe) for the input and every parameter.
    func compareWithTorch(_ name: String, _ m: Module, file: StaticString = #filePath, line: UInt = #line,
                          forward: (Module, Tensor?) -> Tensor) throws {
        let base = "modules." + name
        try m.loadStateDict(try Fixture.tensors(base + ".state"))
        let inputs = try Fixture.tensors(base + ".inputs")
        let x = inputs["x"].map { $0.requiringGradient() }
        let y = forward(m, x)
        assertClose(y, try Fixture.tensor(base + ".outputs.output"), "\(name) output", file: file, line: line)
        (y * inputs["probe"]!).sum().backward()
        let grads = try Fixture.tensors(base + ".grads")
        for (path, p) in m.namedParameters() {
            guard let expected = grads[path] else { XCTFail("\(name): fixture has no gradient for \(path)"); continue }
            guard let g = p.gradient else { XCTFail("\(name): no gradient reached \(path)"); continue }
            assertClose(g, expected, "\(name) grad \(path)", file: file, line: line)
        }
        if let x, let gx = grads["x"] { assertClose(x.gradient!, gx, "\(name) grad input", file: file, line: line) }
    }
}

/// Layers against PyTorch 1.13 (Fixtures/nn_fixtures.json, 1e-4 relative) and finite differences.
final class LayerTests: XCTestCase {
    func mask(_ name: String) throws -> KeyPaddingMask {
        let rows = try Fixture.value("modules.\(name).mask") as! [[Int]]
        return KeyPaddingMask(rows.map { $0.map { $0 != 0 } })
    }

    func testLinearMatchesTorch() throws {
        var g = SeededGenerator(seed: 1)
        try compareWithTorch("linear", Linear(3, 2, using: &g)) { $0($1!) }
        try compareWithTorch("linear_3d", Linear(3, 2, using: &g)) { $0($1!) }
    }

    func testLinearDefaultInitBounds() {
        var g = SeededGenerator(seed: 2)
        let l = Linear(16, 8, using: &g)
        XCTAssertEqual(l.weight.shape, [8, 16])
        XCTAssertTrue(l.weight.value.scalars.allSatisfy { abs($0) <= 0.25 })
        XCTAssertTrue(l.bias!.value.scalars.allSatisfy { abs($0) <= 0.25 })
        XCTAssertGreaterThan(l.weight.value.scalars.map { abs($0) }.max()!, 0.2)
    }

    func testLayerNormMatchesTorch() throws {
        try compareWithTorch("layernorm", LayerNorm(4)) { $0($1!) }
    }

    func testLSTMMatchesTorch() throws {
        var g = SeededGenerator(seed: 3)
        let lstm = LSTM(inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true, using: &g)
        XCTAssertEqual(lstm.namedParameters().map(\.path).prefix(5),
                       ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"])
        try compareWithTorch("lstm", lstm) { $0($1!) }
        let r = withoutGradients { lstm.run(try! Fixture.tensor("modules.lstm.inputs.x")) }
        assertClose(r.h, try Fixture.tensor("modules.lstm.outputs.h_n"), "lstm h_n")
        assertClose(r.c, try Fixture.tensor("modules.lstm.outputs.c_n"), "lstm c_n")
    }

    func testMultiheadSelfAttentionMatchesTorch() throws {
        var g = SeededGenerator(seed: 4)
        let mha = MultiheadSelfAttention(embedDim: 4, heads: 2, using: &g)
        XCTAssertEqual(mha.namedParameters().map(\.path), ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        let m = try mask("mha")
        try compareWithTorch("mha", mha) { ($0 as! MultiheadSelfAttention)($1!, keyPaddingMask: m) }
    }

    func testTransformerEncoderLayerMatchesTorch() throws {
        var g = SeededGenerator(seed: 5)
        let enc = TransformerEncoderLayer(dModel: 4, heads: 2, dimFeedforward: 6, dropout: 0, using: &g)
        let m = try mask("encoder")
        try compareWithTorch("encoder", enc) { ($0 as! TransformerEncoderLayer)($1!, keyPaddingMask: m) }
    }

    func testEmbeddingMatchesTorch() throws {
        var g = SeededGenerator(seed: 6)
        let idx = (try Fixture.value("modules.embedding.indices") as! [[Int]])
        let ids = IntTensor(shape: [2, 2], scalars: idx.flatMap { $0 })
        try compareWithTorch("embedding", Embedding(numEmbeddings: 5, dim: 3, using: &g)) { m, _ in (m as! Embedding)(ids) }
    }

    func testActivationsMatchTorch() throws {
        let mods: [(String, Module)] = [("relu", ReLU()), ("leaky_relu", LeakyReLU(slope: 0.1)), ("gelu", GELU()),
                                        ("tanh", Tanh()), ("sigmoid", Sigmoid())]
        for (name, m) in mods {
            try compareWithTorch(name, m) { $0($1!) }
            checkModuleGradients(m, input: Tensor([-0.9, -0.3, 0.2, 0.7]), name)
        }
    }

    // MARK: finite differences

    func testLinearGradients() {
        var g = SeededGenerator(seed: 7)
        checkModuleGradients(Linear(3, 2, using: &g), input: seeded([2, 3], seed: 1), "Linear")
        checkModuleGradients(Linear(3, 2, bias: false, using: &g), input: seeded([3], seed: 2), "Linear rank-1 no bias")
    }

    func testLayerNormGradients() {
        let ln = LayerNorm(4)
        ln.weight!.value = seeded([4], 0.5, 1.5, seed: 3)
        checkModuleGradients(ln, input: seeded([2, 4], seed: 4), "LayerNorm")
    }

    func testSequentialAndFlattenGradients() {
        var g = SeededGenerator(seed: 8)
        let net = Sequential(Flatten(), Linear(4, 3, using: &g), Tanh(), Linear(3, 2, using: &g))
        checkModuleGradients(net, input: seeded([2, 2, 2], seed: 5), "Sequential")
    }

    func testLSTMGradients() {
        var g = SeededGenerator(seed: 9)
        let lstm = LSTM(inputSize: 2, hiddenSize: 2, numLayers: 2, bidirectional: true, using: &g)
        checkModuleGradients(lstm, input: seeded([1, 2, 2], seed: 6), "LSTM")
    }

    func testAttentionGradients() {
        var g = SeededGenerator(seed: 10)
        let mha = MultiheadSelfAttention(embedDim: 4, heads: 2, using: &g)
        let mask = KeyPaddingMask([[false, true, false]])
        checkModuleGradients(mha, input: seeded([1, 3, 4], seed: 7), "MHSA") { m, x in
            (m as! MultiheadSelfAttention)(x, keyPaddingMask: mask)
        }
        let enc = TransformerEncoderLayer(dModel: 4, heads: 2, dimFeedforward: 3, dropout: 0, using: &g)
        checkModuleGradients(enc, input: seeded([1, 2, 4], seed: 8), "TransformerEncoderLayer")
        let pre = TransformerEncoderLayer(dModel: 4, heads: 2, dimFeedforward: 3, dropout: 0, normFirst: true, activation: .gelu, using: &g)
        checkModuleGradients(pre, input: seeded([1, 2, 4], seed: 9), "TransformerEncoderLayer(normFirst, gelu)")
        let vit = VisionTransformer(channels: 1, height: 4, width: 4, patch: 2, dModel: 4, heads: 2, depth: 1, feedforward: 3, classes: 3, seed: 2)
        // class token and positions of unit scale: at their initial 0 and 0.02 the class token's
        // LayerNorm sees a variance of ~4e-4, where a finite difference of 1e-2 is not local
        vit.classToken.value = seeded([1, 1, 4], seed: 11); vit.positions.value = seeded([1, 5, 4], seed: 12)
        checkModuleGradients(vit, input: seeded([2, 1, 4, 4], seed: 10), "VisionTransformer")
    }

    func testEmbeddingGradients() {
        var g = SeededGenerator(seed: 11)
        let e = Embedding(numEmbeddings: 4, dim: 2, using: &g)
        let ids = IntTensor(shape: [3], scalars: [1, 3, 1])
        let failures = GradientCheck.firstOrder([e.weight.value]) { xs in embedding(ids, weight: xs[0]) }
        XCTAssertTrue(failures.isEmpty, "\(failures)")
    }

    // MARK: dropout

    func testDropoutTrainEvalAndSeeding() {
        let d = Dropout(probability: 0.5, seed: 42)
        let x = Tensor.ones([1000])
        let y = d(x)
        let kept = y.scalars.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { $0 == 2 })
        XCTAssertEqual(Double(kept.count) / 1000, 0.5, accuracy: 0.06)
        d.eval()
        XCTAssertEqual(d(x).scalars, x.scalars)
        d.train()
        // same seed, same masks; a saved generator state resumes the stream exactly
        let d2 = Dropout(probability: 0.5, seed: 42)
        XCTAssertEqual(d2(x).scalars, y.scalars)
        let state = d2.generatorState
        let next = d2(x).scalars
        d2.generatorState = state
        XCTAssertEqual(d2(x).scalars, next)
        let net = Sequential(d, Dropout(probability: 0.2, seed: 1))
        let states = net.randomStates()
        XCTAssertEqual(Set(states.keys), ["0", "1"])
        XCTAssertThrowsError(try net.loadRandomStates(["9": [1, 2, 3, 4]]))
        // gradient: the mask scales the incoming gradient
        let xs = seeded([6], seed: 9).requiringGradient()
        let d3 = Dropout(probability: 0.5, seed: 3)
        let out = d3(xs)
        out.sum().backward()
        XCTAssertEqual(xs.gradient!.scalars, out.scalars.enumerated().map { $0.element == 0 ? 0 : 2 })
    }
}
