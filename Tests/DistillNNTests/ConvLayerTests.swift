import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// Convolution, batch-norm and pooling layers against PyTorch and finite differences.
final class ConvLayerTests: XCTestCase {
    func testConv2dMatchesTorch() throws {
        var g = SeededGenerator(seed: 1)
        let conv = Conv2d(4, 6, kernel: (3, 2), stride: (2, 1), padding: (1, 0), groups: 2, using: &g)
        try compareWithTorch("conv2d", conv) { $0($1!) }
        try compareWithTorch("conv2d_plain", Conv2d(2, 3, kernel: 3, padding: 1, bias: false, using: &g)) { $0($1!) }
    }

    func testBatchNormMatchesTorch() throws {
        for (name, bn, training) in [("batchnorm2d_train", BatchNorm2d(3, momentum: 0.2) as BatchNorm, true),
                                     ("batchnorm2d_eval", BatchNorm2d(3, momentum: 0.2), false),
                                     ("batchnorm1d_train", BatchNorm1d(3, momentum: 0.2), true),
                                     ("batchnorm1d_seq_train", BatchNorm1d(2, momentum: 0.2), true)] {
            bn.train(training)
            try compareWithTorch(name, bn) { $0($1!) }
            let after = try Fixture.tensors("modules.\(name).state_after")
            assertClose(bn.runningMean.value, after["running_mean"]!, "\(name) running_mean")
            assertClose(bn.runningVar.value, after["running_var"]!, "\(name) running_var")
        }
        XCTAssertEqual(BatchNorm2d(3).namedBuffers().map(\.path), ["running_mean", "running_var"])
    }

    func testPoolingMatchesTorch() throws {
        try compareWithTorch("maxpool", MaxPool2d(3, stride: 2, padding: 1)) { $0($1!) }
        try compareWithTorch("avgpool", AvgPool2d(2, stride: 2)) { $0($1!) }
        try compareWithTorch("adaptive_avgpool", AdaptiveAvgPool2d(outputSize: (2, 3))) { $0($1!) }
    }

    func testConvAndNormGradients() {
        var g = SeededGenerator(seed: 2)
        checkModuleGradients(Conv2d(2, 2, kernel: 2, stride: 1, padding: 1, using: &g), input: seeded([1, 2, 3, 3], seed: 1), "Conv2d")
        let bn = BatchNorm2d(2)
        checkModuleGradients(bn, input: seeded([2, 2, 2, 2], seed: 2), "BatchNorm2d train")
        bn.eval()
        checkModuleGradients(bn, input: seeded([2, 2, 2, 2], seed: 3), "BatchNorm2d eval")
        checkModuleGradients(BatchNorm1d(3), input: seeded([4, 3], seed: 4), "BatchNorm1d")
    }

    func testPoolingGradients() {
        let x = Tensor(shape: [1, 1, 4, 4], scalars: (0..<16).map { Float(($0 * 7) % 16) / 8 - 1 })
        checkModuleGradients(MaxPool2d(2), input: x, "MaxPool2d")
        checkModuleGradients(AvgPool2d(2, stride: 1), input: x, "AvgPool2d")
        checkModuleGradients(AdaptiveAvgPool2d(outputSize: (3, 2)), input: x, "AdaptiveAvgPool2d")
    }

    func testSmallCNNEndToEnd() {
        var g = SeededGenerator(seed: 3)
        let net = Sequential(Conv2d(1, 2, kernel: 3, padding: 1, using: &g), BatchNorm2d(2), ReLU(), MaxPool2d(2),
                             AdaptiveAvgPool2d(1), Flatten(), Linear(2, 3, using: &g))
        XCTAssertEqual(net.namedParameters().map(\.path),
                       ["0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"])
        XCTAssertEqual(net.namedBuffers().map(\.path), ["1.running_mean", "1.running_var"])
        let y = net(seeded([2, 1, 4, 4], seed: 5))
        XCTAssertEqual(y.shape, [2, 3])
    }
}
