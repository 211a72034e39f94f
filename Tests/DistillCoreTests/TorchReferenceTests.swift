import Foundation
import XCTest
import DistillTestSupport
import DistillCore

/// Forward values and gradients against PyTorch 1.13 golden values
/// (`Fixtures/make_torch_fixtures.py` → `Fixtures/torch_reference.json`, read-only here).
/// Each case's gradients are those of sum(out · proj) with respect to every input.
/// Tolerance: |a − b| ≤ 1e-5 + 1e-4·|b|.
final class TorchReferenceTests: XCTestCase {
    struct FixtureError: Error, CustomStringConvertible {
        let description: String
    }

    static let fixtures: Result<[String: Any], Error> = Result {
        guard let url = Bundle.module.url(forResource: "torch_reference", withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError(description: "Fixtures/torch_reference.json is missing from the test bundle")
        }
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        guard let cases = root?["cases"] as? [String: Any] else {
            throw FixtureError(description: "Fixtures/torch_reference.json has no \"cases\" object")
        }
        return cases
    }

    func fixture(_ name: String) throws -> [String: Any] {
        guard let c = try Self.fixtures.get()[name] as? [String: Any] else {
            throw FixtureError(description: "torch_reference.json: case \(name) is missing")
        }
        return c
    }

    func tensor(_ c: [String: Any], _ key: String, _ name: String) throws -> Tensor {
        guard let t = c[key] as? [String: Any], let shape = t["shape"] as? [Int], let data = t["data"] as? [Double] else {
            throw FixtureError(description: "torch_reference.json: case \(name) has no tensor \(key)")
        }
        guard data.count == Shape.count(shape) else {
            throw FixtureError(description: "torch_reference.json: \(name).\(key) has \(data.count) values for shape \(shape)")
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    /// Loads `inputs` of case `name` as leaves, checks f's output against `out` and the gradients of
    /// sum(out · proj) against `grad_<input>`.
    func check(_ name: String, _ inputs: [String], file: StaticString = #filePath, line: UInt = #line,
               _ f: ([Tensor]) -> Tensor) throws {
        let c = try fixture(name)
        let xs = try inputs.map { try tensor(c, $0, name).requiringGradient() }
        let out = f(xs)
        assertClose(out, try tensor(c, "out", name), "\(name) forward", file: file, line: line)
        let proj = try tensor(c, "proj", name)
        let gs = gradients(of: (out * proj).sum(), wrt: xs)
        for (k, g) in zip(inputs, gs) {
            assertClose(g, try tensor(c, "grad_" + k, name), "\(name) d/d\(k)", file: file, line: line)
        }
    }

    func testConv2d() throws {
        try check("conv2d_pad1_bias", ["x", "w", "b"]) { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }
        try check("conv2d_stride", ["x", "w"]) { conv2d($0[0], weight: $0[1], stride: (2, 3), padding: (1, 0)) }
        try check("conv2d_dilation", ["x", "w", "b"]) { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (2, 1), dilation: (2, 1)) }
        try check("conv2d_groups", ["x", "w", "b"]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 2) }
        try check("conv2d_depthwise", ["x", "w"]) { conv2d($0[0], weight: $0[1], padding: (1, 1), groups: 3) }
        try check("conv2d_1x1", ["x", "w", "b"]) { conv2d($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testConvTranspose2d() throws {
        try check("convTranspose2d_stride2_outpad", ["x", "w", "b"]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1)) }
        try check("convTranspose2d_groups_dilation", ["x", "w"]) {
            convTranspose2d($0[0], weight: $0[1], stride: (1, 2), padding: (0, 1), dilation: (2, 2), groups: 2) }
    }

    func testPooling() throws {
        try check("maxPool2d_k2", ["x"]) { maxPool2d($0[0], kernel: (2, 2)) }
        try check("maxPool2d_k3_s2_p1", ["x"]) { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        try check("maxPool2d_k3x2_s1x2", ["x"]) { maxPool2d($0[0], kernel: (3, 2), stride: (1, 2)) }
        try check("avgPool2d_k2", ["x"]) { avgPool2d($0[0], kernel: (2, 2)) }
        try check("avgPool2d_k3_s2_p1_include", ["x"]) { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        try check("avgPool2d_k3_s2_p1_exclude", ["x"]) {
            avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false) }
        try check("adaptiveAvgPool2d_7x5_to_3x2", ["x"]) { adaptiveAvgPool2d($0[0], outputSize: (3, 2)) }
        try check("adaptiveAvgPool2d_global", ["x"]) { adaptiveAvgPool2d($0[0], outputSize: (1, 1)) }
        try check("adaptiveAvgPool2d_3x2_to_4x5", ["x"]) { adaptiveAvgPool2d($0[0], outputSize: (4, 5)) }
    }

    func checkBatchNorm(_ name: String, training: Bool, affine: Bool = true) throws {
        let c = try fixture(name)
        var rm = try tensor(c, "running_mean", name), rv = try tensor(c, "running_var", name)
        try check(name, affine ? ["x", "w", "b"] : ["x"]) {
            batchNorm($0[0], weight: affine ? $0[1] : nil, bias: affine ? $0[2] : nil,
                      runningMean: &rm, runningVar: &rv, training: training)
        }
        assertClose(rm, try tensor(c, "running_mean_out", name), "\(name) running mean")
        assertClose(rv, try tensor(c, "running_var_out", name), "\(name) running var")
    }

    func testBatchNorm() throws {
        try checkBatchNorm("batchNorm_train_NC", training: true)
        try checkBatchNorm("batchNorm_train_NCHW", training: true)
        try checkBatchNorm("batchNorm_train_NCHW_noaffine", training: true, affine: false)
        try checkBatchNorm("batchNorm_eval_NC", training: false)
        try checkBatchNorm("batchNorm_eval_NCHW", training: false)
    }

    func testLossesAndMatmul() throws {
        try check("logSoftmax", ["x"]) { $0[0].logSoftmax(alongAxis: 1) }
        let c = try fixture("crossEntropy")
        let labels = try tensor(c, "labels", "crossEntropy").scalars.map { Int($0) }
        try check("crossEntropy", ["logits"]) { crossEntropy(logits: $0[0], labels: IntTensor(labels)) }
        try check("matmul_2d", ["a", "b"]) { Tensor.matmul($0[0], $0[1]) }
        try check("matmul_batched", ["a", "b"]) { Tensor.matmul($0[0], $0[1]) }
    }
}
