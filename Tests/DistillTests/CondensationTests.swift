import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Dataset condensation: instance norm, DM's and DC's losses against PyTorch
/// (Fixtures/make_condensation_fixtures.py), ConvNet-3's layout, resume, and a CI-size
/// condensation that beats a random real subset.
final class CondensationTests: XCTestCase {
    func assertClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-4, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        for (x, y) in zip(a.scalars, b.scalars) where abs(x - y) > tol * max(1, abs(y)) {
            XCTFail("\(what): \(x) vs \(y)", file: file, line: line); return
        }
    }

    func testInstanceNormMatchesPyTorchGroupNorm() throws {
        let c = try JSONFixture.condensation.scoped("cases.instancenorm")
        let norm = InstanceNorm2d(4)
        norm.weight!.value = try c.tensor("weight"); norm.bias!.value = try c.tensor("bias")
        let x = try c.tensor("x").requiringGradient()
        let y = norm(x)
        assertClose(y, try c.tensor("y"), "forward")
        (y * (try c.tensor("r"))).sum().backward()
        assertClose(x.gradient!, try c.tensor("dx"), "d x")
        assertClose(norm.weight!.gradient!, try c.tensor("dweight"), "d weight")
        assertClose(norm.bias!.gradient!, try c.tensor("dbias"), "d bias")
    }

    func testInstanceNormGradientsFirstAndSecondOrder() {
        var g = SeededGenerator(seed: 3)
        let inputs = [Tensor.uniform([2, 3, 2, 3], low: -2, high: 2, using: &g), Tensor.uniform([3], low: 0.5, high: 1.5, using: &g),
                      Tensor.uniform([3], low: -1, high: 1, using: &g)]
        let f: ([Tensor]) -> Tensor = { xs in
            let n = InstanceNorm2d(3)
            n.weight!.value = xs[1]; n.bias!.value = xs[2]
            // Parameter.value re-attaches as a leaf; use the functional form through the same ops.
            var rm = Tensor.zeros([6]), rv = Tensor.ones([6])
            let y = batchNorm(xs[0].reshaped([1, 6, 2, 3]), weight: nil, bias: nil, runningMean: &rm, runningVar: &rv, training: true).reshaped([2, 3, 2, 3])
            return (y * xs[1].reshaped([1, 3, 1, 1]) + xs[2].reshaped([1, 3, 1, 1])).pow(2)
        }
        XCTAssertEqual(GradientCheck.firstOrder(inputs, f).map(\.description), [])
        XCTAssertEqual(GradientCheck.secondOrder(inputs, f).map(\.description), [])
        // The layer computes exactly the functional form above.
        let layer = InstanceNorm2d(3)
        layer.weight!.value = inputs[1]; layer.bias!.value = inputs[2]
        assertClose(layer(inputs[0]).pow(2), f(inputs), tol: 1e-6, "layer vs functional form")
    }

    func testConvNet3LayoutAsTheReference() throws {
        let net = try XCTUnwrap(try ModelZoo.make("convnet3", input: .fashionMNIST, seed: 1) as? ConvNet3)
        XCTAssertEqual(net.featureCount, 2048)   // 28 → 32 (padding 3) → 16 → 8 → 4, 128 channels
        let names = net.namedParameters().map(\.path)
        XCTAssertEqual(names, ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                               "features.4.weight", "features.4.bias", "features.5.weight", "features.5.bias",
                               "features.8.weight", "features.8.bias", "features.9.weight", "features.9.bias",
                               "classifier.weight", "classifier.bias"])
        XCTAssertEqual(net.parameterCount(), 1 * 9 * 128 + 128 + 256 + 2 * (128 * 9 * 128 + 128 + 256) + 2048 * 10 + 10)
        let none = try XCTUnwrap(try ModelZoo.make("convnet3:width=8,depth=2,norm=none", input: .cifar10) as? ConvNet3)
        XCTAssertEqual(none.featureCount, 8 * 8 * 8)
        XCTAssertEqual(none.namedParameters().map(\.path).first(where: { $0.hasPrefix("features.3") }), "features.3.weight")
        XCTAssertThrowsError(try ModelZoo.make("convnet3:norm=layer")) { XCTAssertTrue("\($0)".contains("instancenorm, batchnorm, none")) }
        XCTAssertThrowsError(try ModelZoo.make("convnet3:depth=9")) { XCTAssertTrue("\($0)".contains("pooling stages")) }
    }

    func testDistributionMatchingLossMatchesPyTorch() throws {
        let c = try JSONFixture.condensation.scoped("cases.dm")
        let real = try c.tensors("real"), syn = try c.tensors("syn").map { $0.requiringGradient() }
        var loss = Tensor(0)
        for (r, s) in zip(real, syn) { loss = loss + MatchingLoss.distribution(real: r, synthetic: s) }
        XCTAssertEqual(loss.item, Float(try c.value("loss") as! Double), accuracy: 1e-4)
        let grads = gradients(of: loss, wrt: syn)
        for (k, (g, e)) in zip(grads, try c.tensors("dsyn")).enumerated() { assertClose(g, e, "d syn \(k)") }
    }

    func testGradientDistanceMatchesReferenceDistanceWB() throws {
        let c = try JSONFixture.condensation.scoped("cases.dc")
        let real = try c.tensors("real"), syn = try c.tensors("syn").map { $0.requiringGradient() }
        let per = try XCTUnwrap(try c.value("per") as? [Double])
        for k in 0..<3 {
            XCTAssertEqual(MatchingLoss.gradientDistance(real: real[k], synthetic: syn[k].detached()).item, Float(per[k]), accuracy: 1e-4, "parameter \(k)")
        }
        let loss = MatchingLoss.gradientMatch(real: real, synthetic: syn)
        XCTAssertEqual(loss.item, Float(try c.value("loss") as! Double), accuracy: 1e-4)
        let grads = gradients(of: loss, wrt: Array(syn.prefix(2)))
        for (k, (g, e)) in zip(grads, try c.tensors("dsyn")).enumerated() { assertClose(g, e, "d syn \(k)") }
    }

    // MARK: condensation runs on a slice of Fashion-MNIST

    static let small: (train: ClassImages, test: Dataset)? = {
        guard let train = try? Dataset.fashionMNIST(split: .train), let test = try? Dataset.fashionMNIST(split: .test) else { return nil }
        let real = try! ClassImages(train.first(3000))
        let t = test.first(500)
        return (real, Dataset(name: "test", images: ClassImages.normalise(t.images, mean: real.mean, std: real.std), labels: t.labels, classCount: 10))
    }()

    func config(_ method: CondensationMethod, iterations: Int) throws -> CondensationConfig {
        var c = try CondensationConfig(method: method, imagesPerClass: 1, iterations: iterations, seed: 5)
        c.model = "convnet3:width=8"; c.realBatch = 32
        c.augmentation = "none"   // DSA's own tests cover the augmentation; keep these fast
        return c
    }

    func testResumeRepeatsTheUninterruptedRun() throws {
        let data = try XCTUnwrap(Self.small, "Fashion-MNIST not found at \(Dataset.defaultFashionMNISTDirectory)")
        for method in [CondensationMethod.dm, .dc] {
            let c = try config(method, iterations: 4)
            let whole = try Condenser(config: c, real: data.train)
            for _ in 0..<4 { try whole.step() }
            let first = try Condenser(config: c, real: data.train)
            for _ in 0..<2 { try first.step() }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("condense-\(method)-\(UUID()).safetensors").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try first.checkpoint(seconds: 1).write(to: path)
            let second = try Condenser(config: c, real: data.train)
            try second.restore(try TrainingCheckpoint.read(from: path), path: path)
            for _ in 0..<2 { try second.step() }
            XCTAssertEqual(second.images.value.scalars, whole.images.value.scalars, "\(method)")
            XCTAssertEqual(second.losses, whole.losses, "\(method)")
            var other = c; other.seed = 6
            XCTAssertThrowsError(try Condenser(config: other, real: data.train).restore(try TrainingCheckpoint.read(from: path), path: path))
        }
    }

    func testBadSyntheticShapeIsRefused() throws {
        let data = try XCTUnwrap(Self.small)
        XCTAssertThrowsError(try Condenser(config: try config(.dm, iterations: 1), real: data.train, initial: Tensor.zeros([10, 1, 32, 32]))) {
            XCTAssertEqual($0 as? CondensationError, .shapeMismatch(path: "init", expected: [10, 1, 28, 28], got: [10, 1, 32, 32]))
        }
        XCTAssertThrowsError(try CondensationConfig(method: .dm, imagesPerClass: 0, iterations: 1))
        XCTAssertThrowsError(try CondensationConfig(method: .dc, imagesPerClass: 7, iterations: 1))
        XCTAssertThrowsError(try CondensationMethod.parse("kip")) { XCTAssertTrue("\($0)".contains("dm, dc, dsa")) }
    }

    /// CI-size: 1 image per class, a width-8 ConvNet-3 (noise init for DM too, so the images are
    /// learned, not picked), tens of iterations; it must beat a random real image per class.
    func testCISizeCondensationBeatsRandomSubset() throws {
        let data = try XCTUnwrap(Self.small)
        var c = try config(.dm, iterations: 30)
        c.initialization = .noise
        let condenser = try Condenser(config: c, real: data.train)
        for _ in 0..<c.iterations { try condenser.step() }
        XCTAssertLessThan(condenser.losses.last!, condenser.losses.first!)
        let eval = CondensationEvaluation(model: "convnet3:width=8", epochs: 60, networks: 3, seed: 9)
        let syn = try eval.run(images: condenser.images.value.detached(), labels: condenser.labels, test: data.test, classes: 10)
        let subset = CondensationEvaluation.randomSubset(data.train, perClass: 1, seed: 9)
        let rnd = try eval.run(images: subset.images, labels: subset.labels, test: data.test, classes: 10)
        XCTAssertGreaterThan(syn.mean, rnd.mean, "synthetic \(syn.accuracies) vs random \(rnd.accuracies)")
    }
}
