import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Co-teaching: the forget-rate schedules (the authors' code and the paper), the small-loss
/// selection, and one step on two linear networks against a hand computation: each network is
/// updated by SGD on the mean cross-entropy of the rows its *peer* found easiest.
final class CoTeachingTests: XCTestCase {
    let x: [Float] = [0.5, -1.0, 1.5, 0.25, -0.75, 0.8, 2.0, -0.3, 0.1, 0.9, -1.2, -0.4]
    let y = [2, 0, 1, 1, 0, 2]
    let lr: Float = 0.2

    func config() -> TrainingConfig { SchemeFixtures.plainSGD(learningRate: lr) }
    func pair() -> [(name: String, module: Module, spec: String)] { SchemeFixtures.linearPair(("f", "g"), seeds: (21, 22)) }

    func batch() -> Batch {
        Batch(images: Tensor(shape: [6, 2], scalars: x), labels: IntTensor(y), indices: Array(10..<16))
    }

    func testForgetRateSchedules() throws {
        var o = CoTeaching.Options(forgetRate: 0.5)
        let code = try CoTeaching(pair: pair(), config: config(), options: o)
        XCTAssertEqual(code.forgetRate(epoch: 0), 0)
        XCTAssertEqual(code.forgetRate(epoch: 5), 0.5 * 5 / 9, accuracy: 1e-12)
        XCTAssertEqual(code.forgetRate(epoch: 9), 0.5, accuracy: 1e-12)   // linspace(0, τ, T_k) ends at epoch T_k − 1
        XCTAssertEqual(code.forgetRate(epoch: 30), 0.5)
        o.schedule = .paper
        let paper = try CoTeaching(pair: pair(), config: config(), options: o)
        XCTAssertEqual(paper.forgetRate(epoch: 5), 0.25, accuracy: 1e-12)
        XCTAssertEqual(paper.forgetRate(epoch: 9), 0.45, accuracy: 1e-12)
        XCTAssertEqual(paper.forgetRate(epoch: 10), 0.5, accuracy: 1e-12)
        o.schedule = .code; o.exponent = 2
        let squared = try CoTeaching(pair: pair(), config: config(), options: o)
        XCTAssertEqual(squared.forgetRate(epoch: 9), 0.25, accuracy: 1e-12)   // τ^c, then τ
        XCTAssertEqual(squared.forgetRate(epoch: 10), 0.5)
        o.gradualEpochs = 0
        XCTAssertEqual(try CoTeaching(pair: pair(), config: config(), options: o).forgetRate(epoch: 0), 0.5)
    }

    func testSmallLossSelectionKeepsTheFloorOfTheRememberRate() {
        XCTAssertEqual(CoTeaching.smallLossRows([3, 1, 2, 1, 5], forgetRate: 0.4), [1, 3, 2])   // ⌊0.6 · 5⌋ = 3, ties to the earlier row
        XCTAssertEqual(CoTeaching.smallLossRows([3, 1, 2], forgetRate: 0.99), [1])            // at least one
        XCTAssertEqual(CoTeaching.smallLossRows([3, 1, 2], forgetRate: 0), [1, 2, 0])
    }

    /// z = W·x_i + b for one row of the fixture.
    func logits(_ w: [Float], _ b: [Float], row i: Int) -> [Float] {
        (0..<3).map { (c: Int) -> Float in
            let a: Float = w[c * 2] * x[i * 2]
            let a2: Float = w[c * 2 + 1] * x[i * 2 + 1]
            return a + a2 + b[c]
        }
    }

    /// Per-example cross-entropy of a linear layer, in plain arrays.
    func losses(_ m: Module) -> [Float] {
        let l = m as! Linear
        let w = l.weight.value.scalars, b = l.bias!.value.scalars
        return (0..<6).map { i in
            let z = logits(w, b, row: i)
            let m = z.max()!, lse = m + log(z.map { exp($0 - m) }.reduce(0, +))
            return lse - z[y[i]]
        }
    }

    /// w ← w − lr · ∂/∂w mean_{i ∈ rows} CE(i), by hand: ∂CE/∂z = softmax(z) − onehot(y).
    func handStep(_ m: Module, rows: [Int]) -> [Float] {
        let l = m as! Linear
        var w = l.weight.value.scalars, b = l.bias!.value.scalars
        var gw = [Float](repeating: 0, count: 6), gb = [Float](repeating: 0, count: 3)
        for i in rows {
            let z = logits(w, b, row: i)
            let m = z.max()!, e = z.map { exp($0 - m) }, s = e.reduce(0, +)
            for c in 0..<3 {
                let d = (e[c] / s - (c == y[i] ? 1 : 0)) / Float(rows.count)
                gw[c * 2] += d * x[i * 2]; gw[c * 2 + 1] += d * x[i * 2 + 1]; gb[c] += d
            }
        }
        for k in 0..<6 { w[k] -= lr * gw[k] }
        for c in 0..<3 { b[c] -= lr * gb[c] }
        return w + b
    }

    func testEachNetworkLearnsFromTheRowsItsPeerFoundEasiest() throws {
        var o = CoTeaching.Options(forgetRate: 0.5)
        o.gradualEpochs = 0
        let nets = pair()
        let truth = [Int](repeating: 0, count: 10) + [2, 0, 2, 1, 1, 2]   // rows 12 and 14 are "noisy"
        let scheme = try CoTeaching(pair: nets, config: config(), options: o, trueLabels: truth)
        let lf = losses(nets[0].module), lg = losses(nets[1].module)
        let byF = Array(lf.indices.sorted { lf[$0] < lf[$1] }.prefix(3)), byG = Array(lg.indices.sorted { lg[$0] < lg[$1] }.prefix(3))
        XCTAssertNotEqual(Set(byF), Set(byG), "the test needs networks that disagree on what is easy")
        let expectedF = handStep(nets[0].module, rows: byG), expectedG = handStep(nets[1].module, rows: byF)
        let context = StepContext(epoch: 0, step: 0, batch: 0, stepsPerEpoch: 1, epochs: 1, learningRate: lr)
        let out = try scheme.step(batch(), context: context, updater: StepUpdater(scheme: scheme))
        for (net, expected) in zip(nets, [expectedF, expectedG]) {
            let l = net.module as! Linear
            let got = l.weight.value.scalars + l.bias!.value.scalars
            for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-5, net.name) }
        }
        let terms = Dictionary(uniqueKeysWithValues: out.terms.map { ($0.name, $0.value) })
        XCTAssertEqual(terms["ce.f"]!, byG.map { lf[$0] }.reduce(0, +) / 3, accuracy: 1e-5)
        XCTAssertEqual(terms["ce.g"]!, byF.map { lg[$0] }.reduce(0, +) / 3, accuracy: 1e-5)
        XCTAssertEqual(terms["forget_rate"], 0.5)
        let clean = Set([0, 1, 3, 5])   // batch rows whose label is the true one
        XCTAssertEqual(terms["label_precision.f"]!, Float(byF.filter(clean.contains).count) / 3, accuracy: 1e-6)
        XCTAssertEqual(terms["label_precision.g"]!, Float(byG.filter(clean.contains).count) / 3, accuracy: 1e-6)
        XCTAssertEqual(out.loss, terms["ce.f"]! + terms["ce.g"]!, accuracy: 1e-5)
    }

    func testBadSettingsAreRefused() throws {
        let o = CoTeaching.Options(forgetRate: 0.2)
        XCTAssertThrowsError(try CoTeaching(pair: Array(pair().prefix(1)), config: config(), options: o)) { XCTAssertTrue("\($0)".contains("exactly 2")) }
        XCTAssertThrowsError(try CoTeaching(pair: pair(), config: config(), options: CoTeaching.Options(forgetRate: 1))) {
            XCTAssertTrue("\($0)".contains("forget_rate"))
        }
        var mix = config()
        mix.augmentation = "mixup:0.2"
        XCTAssertThrowsError(try CoTeaching(pair: pair(), config: mix, options: o)) { XCTAssertTrue("\($0)".contains("mixup")) }
    }
}
