import XCTest
import DistillCore
@testable import DistillNN

/// A two-level model with PyTorch-like names, for traversal, taps and state dicts.
final class Block: Module {
    let conv1: Linear, bn: BatchNorm1d, drop: Dropout
    init(_ g: inout SeededGenerator) {
        conv1 = Linear(3, 3, using: &g); bn = BatchNorm1d(3); drop = Dropout(probability: 0.5)
        super.init()
        register(child: conv1, as: "conv1"); register(child: bn, as: "bn"); register(child: drop, as: "drop")
    }
    override func forward(_ x: Tensor) -> Tensor { drop(bn(conv1(x)).relu()) + x }
}

final class Net: Module {
    let layer1: Sequential, fc: Linear
    init(seed: UInt64 = 1) {
        var g = SeededGenerator(seed: seed)
        layer1 = Sequential(Block(&g), Block(&g))
        fc = Linear(3, 2, using: &g)
        super.init()
        register(child: layer1, as: "layer1"); register(child: fc, as: "fc")
    }
    override func forward(_ x: Tensor) -> Tensor { fc(layer1(x)) }
}

final class ModuleTests: XCTestCase {
    func testDottedPathsFollowPyTorch() {
        let net = Net()
        XCTAssertEqual(net.namedParameters().map(\.path), [
            "layer1.0.conv1.weight", "layer1.0.conv1.bias", "layer1.0.bn.weight", "layer1.0.bn.bias",
            "layer1.1.conv1.weight", "layer1.1.conv1.bias", "layer1.1.bn.weight", "layer1.1.bn.bias",
            "fc.weight", "fc.bias"])
        XCTAssertEqual(net.namedBuffers().map(\.path), [
            "layer1.0.bn.running_mean", "layer1.0.bn.running_var", "layer1.1.bn.running_mean", "layer1.1.bn.running_var"])
        XCTAssertEqual(net.namedModules().map(\.path), [
            "", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn", "layer1.0.drop",
            "layer1.1", "layer1.1.conv1", "layer1.1.bn", "layer1.1.drop", "fc"])
        XCTAssertEqual(net.parameterCount(), 2 * (12 + 6) + 8)
    }

    func testTrainEvalIsPerModuleAndRecursive() {
        let teacher = Net(), student = Net(seed: 2)
        teacher.eval()
        XCTAssertTrue(teacher.namedModules().allSatisfy { !$0.module.isTraining })
        XCTAssertTrue(student.namedModules().allSatisfy { $0.module.isTraining })
        teacher.layer1.train()
        XCTAssertFalse(teacher.isTraining)
        XCTAssertTrue(teacher.layer1[1].isTraining)
        // eval mode: dropout off and running statistics used, so the output is deterministic
        teacher.eval()
        let x = seeded([4, 3], seed: 1)
        XCTAssertEqual(teacher(x).scalars, teacher(x).scalars)
    }

    func testFreezeByModuleOrParameterPath() throws {
        let net = Net()
        try net.freeze(paths: ["layer1.0", "fc.bias"])
        XCTAssertEqual(net.trainableParameters().map(\.path), [
            "layer1.1.conv1.weight", "layer1.1.conv1.bias", "layer1.1.bn.weight", "layer1.1.bn.bias", "fc.weight"])
        XCTAssertEqual(net.parameterCount(trainableOnly: true), 18 + 6)
        net.eval()
        net(seeded([2, 3], seed: 2)).sum().backward()
        XCTAssertNil(net.fc.bias!.gradient)
        XCTAssertNotNil(net.fc.weight.gradient)
        XCTAssertNil((net.layer1[0] as! Block).conv1.weight.gradient)
        XCTAssertThrowsError(try net.freeze(paths: ["layer9"])) { e in
            guard case let ModuleError.unknownPath(p, valid) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, "layer9")
            XCTAssertTrue(valid.contains("layer1.0.conv1.weight"))
        }
        try net.freeze(paths: ["layer1.0"], false)
        XCTAssertEqual(net.trainableParameters().count, 9)
    }

    func testFeatureTapsCaptureInputsAndOutputs() throws {
        let net = Net()
        net.eval()
        let x = seeded([2, 3], seed: 3).requiringGradient()
        let capture = try net.attachTaps([FeatureTap(path: "layer1.0", point: .output), FeatureTap(path: "fc", point: .input),
                                          FeatureTap(path: "", point: .output)])
        let y = net(x)
        let f = capture.ordered()
        XCTAssertEqual(f[0].shape, [2, 3])
        // the input of fc is the output of layer1
        XCTAssertEqual(f[1].scalars, net.layer1(x).scalars)
        XCTAssertEqual(f[2].scalars, y.scalars)
        // student features stay on the tape: a loss on a tapped feature trains the model
        (f[0] * f[0]).sum().backward()
        XCTAssertNotNil((net.layer1[0] as! Block).conv1.weight.gradient)
        // teacher features captured without gradients are constants
        withoutGradients { _ = net(x) }
        XCTAssertFalse(capture[FeatureTap(path: "fc", point: .input)]!.requiresGradient)
        capture.clear()
        XCTAssertTrue(capture.features.isEmpty)
        capture.detach()
        _ = net(x)
        XCTAssertTrue(capture.features.isEmpty)
        XCTAssertTrue(net.namedModules().allSatisfy { $0.module.tapSlot == nil })
    }

    func testUnknownTapPathListsValidPaths() {
        let net = Net()
        XCTAssertThrowsError(try net.attachTaps([FeatureTap(path: "layer1.2")])) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("layer1.2") && text.contains("layer1.0.conv1") && text.contains("fc"), text)
        }
        XCTAssertTrue(net.namedModules().allSatisfy { $0.module.tapSlot == nil })
    }

    func testOneShotCaptureRemovesTaps() throws {
        let net = Net()
        let (y, feats) = try net.forward(seeded([2, 3], seed: 4), capturing: [FeatureTap(path: "layer1.1.bn", point: .input)])
        XCTAssertEqual(y.shape, [2, 2])
        XCTAssertEqual(feats[0].shape, [2, 3])
        XCTAssertTrue(net.namedModules().allSatisfy { $0.module.tapSlot == nil })
    }

    func testStateDictRoundTripAndStrictLoading() throws {
        let a = Net(seed: 1), b = Net(seed: 2)
        a.train()
        _ = a(seeded([4, 3], seed: 5))  // moves running statistics
        try b.loadStateDict(a.stateDict())
        a.eval(); b.eval()
        let x = seeded([2, 3], seed: 6)
        XCTAssertEqual(a(x).scalars, b(x).scalars)
        var sd = a.stateDict()
        sd["layer1.0.bn.num_batches_tracked"] = Tensor(3)   // PyTorch's counter is accepted and ignored
        XCTAssertNoThrow(try b.loadStateDict(sd))
        sd["extra.weight"] = Tensor(1)
        XCTAssertThrowsError(try b.loadStateDict(sd)) { XCTAssertEqual($0 as? ModuleError, .unexpectedKeys(["extra.weight"])) }
        sd["extra.weight"] = nil
        sd["fc.bias"] = nil
        XCTAssertThrowsError(try b.loadStateDict(sd)) { XCTAssertEqual($0 as? ModuleError, .missingKeys(["fc.bias"])) }
        sd["fc.bias"] = Tensor.zeros([3])
        XCTAssertThrowsError(try b.loadStateDict(sd)) { e in
            XCTAssertEqual(e as? ModuleError, .shapeMismatch(key: "fc.bias", expected: [2], got: [3]))
            XCTAssertTrue("\(e)".contains("[2]") && "\(e)".contains("[3]"))
        }
        // a failed load changes nothing
        XCTAssertEqual(a(x).scalars, b(x).scalars)
    }

    func testParameterFreezeAndAssignKeepALeaf() {
        let p = Parameter(Tensor([1, 2]))
        XCTAssertTrue(p.value.requiresGradient)
        p.value = Tensor([3, 4]) * 2
        XCTAssertTrue(p.value.node!.isLeaf)
        p.requiresGradient = false
        XCTAssertFalse(p.value.requiresGradient)
        p.requiresGradient = true
        (p.value * p.value).sum().backward()
        XCTAssertEqual(p.gradient!.scalars, [12, 16])
        p.zeroGradient()
        XCTAssertNil(p.gradient)
    }
}
