import XCTest
import DistillCore
@testable import DistillNN

final class ModelZooTests: XCTestCase {
    func testEveryListedModelBuildsAndRuns() throws {
        for e in ModelZoo.entries {
            let isText = e.name == "bilstm" || e.name == "transformer"
            let spec = e.example
            let model = try ModelZoo.make(spec, input: isText ? .tokens(classes: 10) : .fashionMNIST, seed: 1)
            model.eval()
            let x = isText ? Tensor(shape: [2, 5], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) : Tensor.zeros([2, 1, 28, 28]) + 0.5
            // the deepest models are only built here: their forward pass is slow in a debug build
            if ["resnet110", "resnet56", "resnet44", "resnet32x4", "vgg13", "vgg11"].contains(e.name) { continue }
            let y = withoutGradients { model(x) }
            XCTAssertEqual(y.shape, [2, 10], spec)
            XCTAssertTrue(y.scalars.allSatisfy { $0.isFinite }, spec)
        }
    }

    func testResNet20HasTheKnownParameterCountAndPyTorchNames() throws {
        let m = try ModelZoo.make("resnet20", input: .cifar10)
        XCTAssertEqual(m.parameterCount(), 272_474)   // He et al. 2016: 0.27M
        let names = m.namedParameters().map(\.path)
        XCTAssertEqual(names.first, "conv1.weight")
        XCTAssertTrue(names.contains("layer2.0.downsample.0.weight"))
        XCTAssertTrue(names.contains("layer3.2.bn2.bias"))
        XCTAssertEqual(names.last, "fc.bias")
        XCTAssertTrue(m.namedBuffers().map(\.path).contains("layer1.0.bn1.running_mean"))
    }

    /// Option A, as akamaster/pytorch_resnet_cifar10 defines it: 269,722 parameters (their README:
    /// 0.27M), no shortcut parameters, the classifier named `linear`.
    func testOptionAResNet20MatchesTheAkamasterCheckpointLayout() throws {
        let m = try ModelZoo.make("resnet20:shortcut=a", input: .cifar10)
        XCTAssertEqual(m.parameterCount(), 269_722)
        let names = m.namedParameters().map(\.path)
        XCTAssertFalse(names.contains { $0.contains("downsample") || $0.contains("shortcut") }, "\(names)")
        XCTAssertEqual(names.suffix(2), ["linear.weight", "linear.bias"])
        let y = withoutGradients { m.eval()(Tensor.zeros([2, 3, 32, 32])) }
        XCTAssertEqual(y.shape, [2, 10])
        XCTAssertThrowsError(try ModelZoo.make("resnet20:shortcut=c")) { e in
            XCTAssertTrue("\(e)".contains("shortcut") && "\(e)".contains("'c'"), "\(e)")
        }
    }

    func testWideResNetNamesFollowTheReferenceCode() throws {
        let m = try ModelZoo.make("wrn-16-2", input: .cifar10)
        let names = Set(m.namedParameters().map(\.path))
        XCTAssertTrue(names.contains("block1.layer.0.conv1.weight"))
        XCTAssertTrue(names.contains("block2.layer.0.convShortcut.weight"))
        XCTAssertTrue(names.contains("bn1.weight"))
    }

    func testSameSeedSameWeights() throws {
        let a = try ModelZoo.make("mlp:20x10", seed: 3), b = try ModelZoo.make("mlp:20x10", seed: 3), c = try ModelZoo.make("mlp:20x10", seed: 4)
        XCTAssertEqual(a.parameters[0].value.scalars, b.parameters[0].value.scalars)
        XCTAssertNotEqual(a.parameters[0].value.scalars, c.parameters[0].value.scalars)
    }

    func testMLPSpecOptions() throws {
        let m = try ModelZoo.make("mlp:800x800,dropout=0.5", input: .fashionMNIST) as! MLP
        XCTAssertEqual(m.layers.map(\.outFeatures), [800, 800, 10])
        XCTAssertEqual(m.dropouts.count, 2)
        XCTAssertEqual(m.parameterCount(), 784 * 800 + 800 + 800 * 800 + 800 + 800 * 10 + 10)
    }

    func testBadSpecsThrowNamingTheProblem() {
        XCTAssertThrowsError(try ModelZoo.make("resnet21")) { e in
            XCTAssertTrue("\(e)".contains("unknown model 'resnet21'") && "\(e)".contains("resnet20"), "\(e)")
        }
        XCTAssertThrowsError(try ModelZoo.make("mlp:12xfoo")) { e in XCTAssertTrue("\(e)".contains("12xfoo"), "\(e)") }
        XCTAssertThrowsError(try ModelZoo.make("mlp:100,dropout=2")) { e in XCTAssertTrue("\(e)".contains("dropout"), "\(e)") }
        XCTAssertThrowsError(try ModelZoo.make("resnet20,width=3")) { e in XCTAssertTrue("\(e)".contains("width"), "\(e)") }
        XCTAssertThrowsError(try ModelZoo.make("wrn-15-2")) { e in XCTAssertTrue("\(e)".contains("6n + 4"), "\(e)") }
        XCTAssertThrowsError(try ModelZoo.make("cnn:8x8x8x8x8x8", input: .fashionMNIST)) { e in XCTAssertTrue("\(e)".contains("pooling"), "\(e)") }
    }
}
