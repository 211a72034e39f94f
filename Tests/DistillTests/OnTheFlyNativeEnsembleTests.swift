import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// ONE: the loss against a hand computation from the branch outputs, its gradients against
/// finite differences, the ensemble teacher detached, and a branch deployable as a plain MLP.
final class OnTheFlyNativeEnsembleTests: XCTestCase {
    func network() -> OneNetwork { OneNetwork(inputs: 4, hidden: [6, 5], classes: 3, branches: 3, trunk: 1, seed: 3) }

    func batch() -> Batch {
        var g = SeededGenerator(seed: 5)
        return Batch(images: Tensor.uniform([4, 1, 2, 2], low: -1, high: 1, using: &g), labels: IntTensor([0, 2, 1, 2]), indices: [0, 1, 2, 3])
    }

    func config() -> TrainingConfig { var c = TrainingConfig(); c.model = "one"; return c }

    func softmax(_ row: [Float], _ t: Float = 1) -> [Float] {
        let z = row.map { $0 / t }, m = z.max()!, e = z.map { exp($0 - m) }, s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func testLossIsTheSumOfBranchAndEnsembleCEAndTheEnsemblesKL() throws {
        let net = network(), scheme = try OnTheFlyNativeEnsemble(network: net, spec: "one", config: config(), temperature: 3)
        let (zs, g, ze) = withoutGradients { net.outputs(batch().images) }
        // the ensemble is the gate-weighted sum of the branches
        for r in 0..<4 {
            for c in 0..<3 {
                var s: Float = 0
                for b in 0..<3 { s += g.scalars[r * 3 + b] * zs[b].scalars[r * 3 + c] }
                XCTAssertEqual(ze.scalars[r * 3 + c], s, accuracy: 1e-5)
            }
        }
        let y = [0, 2, 1, 2], t: Float = 3
        func rows(_ x: Tensor) -> [[Float]] { (0..<4).map { Array(x.scalars[$0 * 3..<$0 * 3 + 3]) } }
        func ce(_ x: Tensor) -> Float { zip(rows(x), y).map { -log(softmax($0)[$1]) }.reduce(0, +) / 4 }
        func kl(_ x: Tensor) -> Float {
            var s: Float = 0
            for (zr, er) in zip(rows(x), rows(ze)) {
                let p = softmax(er, t), q = softmax(zr, t)
                for c in 0..<3 { s += p[c] * (log(p[c]) - log(q[c])) }
            }
            return t * t * s / 4
        }
        let expected = ce(ze) + zs.map { ce($0) + kl($0) }.reduce(0, +)
        let (l, _, terms) = scheme.loss(batch())
        XCTAssertEqual(l.item, expected, accuracy: 1e-4)
        let named = Dictionary(uniqueKeysWithValues: terms.map { ($0.name, $0.value) })
        XCTAssertEqual(named["kl.branch1"]!, kl(zs[1]), accuracy: 1e-5)
        XCTAssertEqual(named["ce.ensemble"]!, ce(ze), accuracy: 1e-5)
    }

    /// The ONE loss with the KL teacher held at `target` (what the gradient differentiates: the
    /// ensemble is a constant inside the KL terms).
    func loss(_ net: OneNetwork, target: Tensor) -> Float {
        withoutGradients {
            let (zs, _, ze) = net.outputs(batch().images)
            var l = crossEntropy(logits: ze, labels: batch().labels)
            for z in zs { l = l + crossEntropy(logits: z, labels: batch().labels) + ResponseTerms.softKL(student: z, teacher: target, temperature: 3) }
            return l.item
        }
    }

    func testGradientsMatchFiniteDifferences() throws {
        let net = network(), scheme = try OnTheFlyNativeEnsemble(network: net, spec: "one", config: config())
        let target = withoutGradients { net.outputs(batch().images).ensemble }
        XCTAssertEqual(loss(net, target: target), withoutGradients { scheme.loss(batch()).loss.item }, accuracy: 1e-5)
        net.zeroGradients()
        scheme.loss(batch()).loss.backward()
        for (path, p) in net.namedParameters() where ["gate.weight", "trunk.fc1.weight", "branch2.fc3.bias"].contains(path) {
            let analytic = p.gradient!.scalars
            for i in stride(from: 0, to: p.count, by: max(p.count / 5, 1)) {
                let original = p.value
                func at(_ d: Float) -> Float {
                    var v = original.scalars; v[i] += d
                    p.value = Tensor(shape: original.shape, scalars: v)
                    return loss(net, target: target)
                }
                let numeric = (at(1e-2) - at(-1e-2)) / 2e-2
                p.value = original
                XCTAssertEqual(analytic[i], numeric, accuracy: 3e-3 + 3e-2 * abs(numeric), "\(path)[\(i)]")
            }
        }
    }

    func testTheEnsembleTeacherIsAConstantInTheKLTerms() {
        let net = network()
        let (zs, _, ze) = net.outputs(batch().images)
        net.zeroGradients()
        zs.map { ResponseTerms.softKL(student: $0, teacher: ze, temperature: 3) }.reduce(Tensor(0), +).backward()
        XCTAssertTrue((net.gate.weight.gradient?.scalars ?? []).allSatisfy { $0 == 0 }, "no KL gradient reaches the gate")
        XCTAssertTrue(net.branchLayers[0][0].weight.gradient!.scalars.contains { $0 != 0 })
    }

    func testABranchIsAPlainMLP() throws {
        let net = try XCTUnwrap(try ModelZoo.make("one:16x8,branches=2,trunk=1,dropout=0.1", input: .fashionMNIST, seed: 2) as? OneNetwork)
        XCTAssertEqual(net.branchSpec, "mlp:16x8,dropout=0.1")
        let mlp = try ModelZoo.make(net.branchSpec, input: .fashionMNIST, seed: 9)
        try mlp.loadStateDict(net.branch(1).stateDict())
        net.eval(); mlp.eval()
        var g = SeededGenerator(seed: 1)
        let x = Tensor.uniform([3, 1, 28, 28], using: &g)
        XCTAssertEqual(withoutGradients { mlp(x) }.scalars, withoutGradients { net.outputs(x).branches[1] }.scalars)
        XCTAssertTrue(net.namedParameters().map(\.path).contains("branch1.fc2.weight"))
        for bad in ["one:16x8,branches=1", "one:16x8,trunk=3", "one:16x8,trunk=0"] {
            XCTAssertThrowsError(try ModelZoo.make(bad, input: .fashionMNIST), bad)
        }
    }
}
