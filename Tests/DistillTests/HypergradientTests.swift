import XCTest
import DistillCore
import DistillNN
import DistillData
@testable import Distill

/// d(loss after K unrolled SGD steps)/d x̃ and /d raw η, against central finite differences in
/// Float32: a directional derivative along a random direction for the images, each raw rate
/// separately. Tolerances: |analytic − numeric| ≤ 2e-3 + 3 %·|numeric|, with ε = 1e-2 (images)
/// and 5e-3 (rates); smooth networks (tanh) keep the differences away from kinks.
final class HypergradientTests: XCTestCase {
    func mlp() -> Module {
        var g = SeededGenerator(seed: 21)
        return Sequential(Flatten(), Linear(16, 8, using: &g), Tanh(), Linear(8, 3, using: &g))
    }

    /// A conv net with batch norm, kept in training mode for the inner steps and the final loss
    /// (batch statistics; running statistics restored so the repeated evaluations agree).
    func convBN() -> Module {
        var g = SeededGenerator(seed: 22)
        return Sequential(Conv2d(1, 3, kernel: 3, padding: 1, using: &g), BatchNorm2d(3), Tanh(), Flatten(),
                          Linear(3 * 4 * 4, 3, using: &g))
    }

    func data(seed: UInt64, count: Int) -> (Tensor, IntTensor) {
        var g = SeededGenerator(seed: seed)
        return (Tensor.uniform([count, 1, 4, 4], low: -1, high: 1, using: &g), IntTensor((0..<count).map { $0 % 3 }))
    }

    /// Loss on the real batch after K steps (S = 2 synthetic batches of 3 images), all in train mode.
    func outerLoss(_ net: Module, _ theta0: [(path: String, tensor: Tensor)], images: Tensor, raw: Tensor,
                   real: (Tensor, IntTensor)) throws -> Tensor {
        let labels = IntTensor([0, 1, 2, 0, 1, 2])
        let theta = try UnrolledDistillation.unroll(network: net, theta0: theta0, images: images, labels: labels,
                                                    learningRates: raw.softplus(), steps: 2, createGraph: true)
        net.train()
        return crossEntropy(logits: try net(real.0, parameters: theta, buffers: .restore), labels: real.1)
    }

    func check(_ net: Module, K: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let theta0 = net.parameterLeaves()
        let (x0, _) = data(seed: 30, count: 6)
        let real = data(seed: 31, count: 9)
        var g = SeededGenerator(seed: 32)
        let raw0 = Tensor.uniform([K], low: -1.5, high: -0.5, using: &g)
        let direction = Tensor.uniform(x0.shape, low: -1, high: 1, using: &g)
        let buffersBefore = net.namedBuffers().map { $0.buffer.value.scalars }

        func value(_ x: Tensor, _ r: Tensor) throws -> Float {
            try outerLoss(net, theta0, images: x, raw: r, real: real).item
        }
        let x = x0.requiringGradient(), r = raw0.requiringGradient()
        let grads = gradients(of: try outerLoss(net, theta0, images: x, raw: r, real: real), wrt: [x, r])
        XCTAssertEqual(net.namedBuffers().map { $0.buffer.value.scalars }.count, buffersBefore.count)

        let eps: Float = 1e-2
        let along = (grads[0] * direction).sum().item
        let numeric = (try value(x0 + direction * eps, raw0) - value(x0 - direction * eps, raw0)) / (2 * eps)
        XCTAssertGreaterThan(abs(numeric), 1e-4, "the image hypergradient is not trivially zero", file: file, line: line)
        XCTAssertEqual(along, numeric, accuracy: 2e-3 + 0.03 * abs(numeric), "d L/d x̃ along v, K = \(K)", file: file, line: line)

        let er: Float = 5e-3
        for k in 0..<K {
            var plus = raw0.scalars, minus = raw0.scalars
            plus[k] += er; minus[k] -= er
            let n = (try value(x0, Tensor(plus)) - value(x0, Tensor(minus))) / (2 * er)
            XCTAssertEqual(grads[1].scalars[k], n, accuracy: 2e-3 + 0.03 * abs(n), "d L/d raw η[\(k)], K = \(K)", file: file, line: line)
        }
        XCTAssertGreaterThan(grads[1].scalars.map(abs).max()!, 1e-4, "the rate hypergradient is not trivially zero", file: file, line: line)
    }

    func testMLPOneStep() throws { try check(mlp(), K: 1) }
    func testMLPThreeSteps() throws { try check(mlp(), K: 3) }
    func testConvBatchNormOneStep() throws { try check(convBN(), K: 1) }
    func testConvBatchNormFourSteps() throws { try check(convBN(), K: 4) }

    /// The stored weights of the network are never changed by the unrolled steps.
    func testUnrollLeavesStoredWeightsAlone() throws {
        let net = mlp()
        let before = net.parameters.map(\.value.scalars)
        let (x, y) = data(seed: 40, count: 6)
        _ = try UnrolledDistillation.unroll(network: net, theta0: net.parameterLeaves(), images: x, labels: y,
                                            learningRates: Tensor([0.5, 0.5]), steps: 2, createGraph: true)
        XCTAssertEqual(net.parameters.map(\.value.scalars), before)
    }
}
