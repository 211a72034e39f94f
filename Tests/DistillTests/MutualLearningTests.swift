import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Deep mutual learning: the update rule on two linear students against a hand computation of
/// the gradients (CE + KL(peer ‖ self), batch mean), in both update orders; peers detached.
final class MutualLearningTests: XCTestCase {
    let x: [[Float]] = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.8]]
    let y = [2, 0, 1]
    let lr: Float = 0.3

    func config() -> TrainingConfig { SchemeFixtures.plainSGD(learningRate: lr) }
    func cohort() -> [(name: String, module: Module, spec: String)] { SchemeFixtures.linearPair(("a", "b"), seeds: (11, 12)) }

    func batch() -> Batch {
        Batch(images: Tensor(shape: [3, 2], scalars: x.flatMap { $0 }), labels: IntTensor(y), indices: [0, 1, 2])
    }

    // MARK: hand computation, in plain arrays

    struct Lin { var w: [[Float]]; var b: [Float] }

    func lin(_ m: Module) -> Lin {
        let l = m as! Linear
        let w = l.weight.value.scalars, b = l.bias!.value.scalars
        return Lin(w: (0..<3).map { Array(w[$0 * 2..<$0 * 2 + 2]) }, b: b)
    }

    func probabilities(_ m: Lin) -> [[Float]] {
        x.map { row in
            let z = (0..<3).map { c in m.w[c][0] * row[0] + m.w[c][1] * row[1] + m.b[c] }
            let mx = z.max()!, e = z.map { exp($0 - mx) }, s = e.reduce(0, +)
            return e.map { $0 / s }
        }
    }

    /// One SGD step of L = CE(y, p) + KL(q ‖ p) (batch means) for the student `m` whose peer predicts q:
    /// ∂L/∂z = (2p − onehot(y) − q) / N.
    func stepped(_ m: Lin, peer q: [[Float]]) -> Lin {
        let p = probabilities(m), n = Float(x.count)
        var out = m
        for c in 0..<3 {
            var gw: [Float] = [0, 0], gb: Float = 0
            for r in 0..<x.count {
                let g = (2 * p[r][c] - (y[r] == c ? 1 : 0) - q[r][c]) / n
                gw[0] += g * x[r][0]; gw[1] += g * x[r][1]; gb += g
            }
            out.w[c][0] -= lr * gw[0]; out.w[c][1] -= lr * gw[1]; out.b[c] -= lr * gb
        }
        return out
    }

    func assertSame(_ got: Lin, _ want: Lin, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for c in 0..<3 {
            for k in 0..<2 { XCTAssertEqual(got.w[c][k], want.w[c][k], accuracy: 1e-6, "\(what) weight[\(c)][\(k)]", file: file, line: line) }
            XCTAssertEqual(got.b[c], want.b[c], accuracy: 1e-6, "\(what) bias[\(c)]", file: file, line: line)
        }
    }

    func runOneStep(_ update: MutualLearning.Update) throws -> (before: [Lin], after: [Lin], out: StepOutput) {
        let scheme = try MutualLearning(cohort: cohort(), config: config(), update: update)
        let before = scheme.members.map { lin($0.module) }
        let updater = StepUpdater(scheme: scheme, gradClip: nil)
        let ctx = StepContext(epoch: 0, step: 0, batch: 0, stepsPerEpoch: 1, epochs: 1, learningRate: lr)
        for g in scheme.groups { g.optimizer.learningRate = lr }
        let out = try scheme.step(batch(), context: ctx, updater: updater)
        return (before, scheme.members.map { lin($0.module) }, out)
    }

    func testSimultaneousUpdateMatchesTheHandComputation() throws {
        let (before, after, out) = try runOneStep(.simultaneous)
        let pa = probabilities(before[0]), pb = probabilities(before[1])
        assertSame(after[0], stepped(before[0], peer: pb), "student a")
        assertSame(after[1], stepped(before[1], peer: pa), "student b")
        // the logged terms are each student's CE and KL before the update
        func ce(_ p: [[Float]]) -> Float {
            var s: Float = 0
            for (row, label) in zip(p, y) { s -= log(row[label]) }
            return s / 3
        }
        func kl(_ q: [[Float]], _ p: [[Float]]) -> Float {
            var s: Float = 0
            for r in 0..<3 { for c in 0..<3 { s += q[r][c] * (log(q[r][c]) - log(p[r][c])) } }
            return s / 3
        }
        let terms = Dictionary(uniqueKeysWithValues: out.terms.map { ($0.name, $0.value) })
        XCTAssertEqual(terms["ce.a"]!, ce(pa), accuracy: 1e-5)
        XCTAssertEqual(terms["kl.a"]!, kl(pb, pa), accuracy: 1e-5)
        XCTAssertEqual(terms["kl.b"]!, kl(pa, pb), accuracy: 1e-5)
        XCTAssertEqual(out.loss, ce(pa) + kl(pb, pa) + ce(pb) + kl(pa, pb), accuracy: 1e-5)
    }

    func testSequentialUpdateTeachesTheSecondStudentWithTheFirstOnesNewPredictions() throws {
        let (before, after, _) = try runOneStep(.sequential)
        let a1 = stepped(before[0], peer: probabilities(before[1]))
        assertSame(after[0], a1, "student a")
        assertSame(after[1], stepped(before[1], peer: probabilities(a1)), "student b, taught by the updated a")
        let (_, simultaneous, _) = try runOneStep(.simultaneous)
        XCTAssertNotEqual(simultaneous[1].b, after[1].b, "the two orders differ")
    }

    func testPeersAreDetached() throws {
        let scheme = try MutualLearning(cohort: cohort(), config: config())
        let logits = scheme.members.map { $0.module(batch().images) }
        for m in scheme.members { m.module.zeroGradients() }
        scheme.mimicry(0, logits).backward()
        let peerGradient = scheme.members[1].module.parameters.compactMap(\.gradient).flatMap(\.scalars)
        XCTAssertTrue(peerGradient.allSatisfy { $0 == 0 }, "the KL of student a must not reach student b: \(peerGradient)")
        XCTAssertTrue(scheme.members[0].module.parameters.contains { ($0.gradient?.scalars ?? []).contains { $0 != 0 } })
    }

    func testEachStudentIsItsOwnObjectWithItsOwnOptimizer() throws {
        let scheme = try MutualLearning(cohort: cohort(), config: config())
        XCTAssertFalse(scheme.members[0].module === scheme.members[1].module)
        XCTAssertEqual(scheme.groups.map(\.name), ["a", "b"])
        XCTAssertTrue(scheme.groups[0].parameters.allSatisfy { $0.path.hasPrefix("a.") })
    }

    func testACohortNeedsTwoStudentsAndAPositiveTemperature() {
        var g = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try MutualLearning(cohort: [("a", Linear(2, 3, using: &g), "linear")], config: config())) {
            XCTAssertTrue("\($0)".contains("at least 2 students"), "\($0)")
        }
        XCTAssertThrowsError(try MutualLearning(cohort: cohort(), config: config(), temperature: 0))
    }
}
