import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// The methods of issue #14 published since 2021 against PyTorch (Fixtures/make_new_methods_fixtures.py),
/// with finite-difference checks and a convergence smoke test.
final class NewMethodsGoldenTests: XCTestCase {
    static let fx: JSONFixture = { do { return try JSONFixture(named: "new_methods_fixtures") } catch { preconditionFailure("\(error)") } }()

    func ndBatch(_ k: Int) throws -> (s: Tensor, t: Tensor, labels: IntTensor, loss: Double, grad: Tensor, centres: Tensor) {
        let f = Self.fx
        return (try f.tensor("nd.batch\(k).student"), try f.tensor("nd.batch\(k).teacher"), IntTensor(try f.ints("nd.batch\(k).labels")),
                try f.double("nd.batch\(k).loss"), try f.tensor("nd.batch\(k).grad_student"), try f.tensor("nd.batch\(k).centres"))
    }

    /// Two batches in order: the running class means and the loss and gradient of each match.
    func testNDLossMatchesTorchWithRunningClassMeans() throws {
        let nd = try preparedMethod("nd", ["student": "a", "teacher": "b"], student: [[6, 5]], teacher: [[6, 5]])
        for k in 0..<2 {
            let b = try ndBatch(k)
            let s = Parameter(b.s).value
            let l = nd.loss(DistillationBatch(studentLogits: Tensor.zeros([6, 3]), teacherLogits: Tensor.zeros([6, 3]),
                                              studentFeatures: [s], teacherFeatures: [b.t], labels: b.labels))
            XCTAssertEqual(Double(l.item), b.loss, accuracy: 1e-5, "nd batch \(k)")
            assertClose(gradients(of: l, wrt: [s])[0], b.grad, "nd grad batch \(k)")
            let dirs = try XCTUnwrap((nd as? NormDirectionLoss)?.centerDirections)
            let c = b.centres, norms = (c * c).sum(alongAxis: 1, keepDims: true).sqrt()
            assertClose(dirs, c / norms, "nd centre directions after batch \(k)")
        }
        // state round trip: a fresh loss loaded with the state gives batch 1's loss again
        let state = (nd as! NormDirectionLoss).lossState
        XCTAssertEqual(Set(state.keys), ["sums", "counts"])
        XCTAssertEqual(state["counts"]!.scalars, [4, 4, 4])
        let fresh = try preparedMethod("nd", ["student": "a", "teacher": "b"], student: [[6, 5]], teacher: [[6, 5]]) as! NormDirectionLoss
        try fresh.loadLossState(state)
        assertClose(fresh.centerDirections!, (nd as! NormDirectionLoss).centerDirections!, rtol: 1e-6, atol: 1e-6, "nd centres restored")
        XCTAssertThrowsError(try fresh.loadLossState(["sums": Tensor.zeros([3, 4])]))
    }

    func testNDGradientAndRefusals() throws {
        let nd = try preparedMethod("nd", ["student": "a", "teacher": "b"], student: [[6, 5]], teacher: [[6, 5]])
        let b = try ndBatch(0)
        // the same batch over and over keeps the running means (the finite differences call the loss many times)
        checkLossGradients(nd, student: [b.s], teacher: [b.t], scale: 10, eps: 1e-3, "nd", evaluate: { batch in
            var x = batch; x.labels = b.labels; x.studentLogits = Tensor.zeros([6, 3]); return nd.loss(x)
        })
        XCTAssertThrowsError(try preparedMethod("nd", ["student": "a", "teacher": "b"], student: [[6, 5]], teacher: [[6, 4]])) { e in
            XCTAssertTrue("\(e)".contains("equal size (5 vs 4)"), "\(e)")
        }
        XCTAssertThrowsError(try MethodRegistry.make("nd", options: ["student": "a"])) { e in XCTAssertTrue("\(e)".contains("teacher"), "\(e)") }
        XCTAssertTrue(try MethodRegistry.entry("nd").card.contains("KD++"))
    }

    /// KD++ on the linear toy: ce + kd + nd on the inputs-as-embeddings of a two-layer student
    /// learn the teacher (agreement > 0.9) and the ND term falls by more than a fifth in 300 SGD steps.
    func testKDPlusPlusSmoke() throws {
        var g = SeededGenerator(seed: 11)
        let n = 96, d = 6, c = 3
        let x = Tensor.normal([n, d], using: &g)
        let teacherHead = Tensor.normal([d, c], std: 2, using: &g)
        let te = withoutGradients { x.matmul(Tensor.normal([d, d], std: 0.7, using: &g)) }
        let zt = withoutGradients { te.matmul(teacherHead) }
        let y = zt.argmax(alongAxis: 1)
        let w1 = Parameter(Tensor.normal([d, d], std: 0.3, using: &g)), w2 = Parameter(Tensor.normal([d, c], std: 0.3, using: &g))
        let ce = try MethodRegistry.make("ce"), kd = try MethodRegistry.make("kd")
        let nd = try preparedMethod("nd", ["student": "a", "teacher": "b"], student: [[n, d]], teacher: [[n, d]])
        func step() -> (Float, Float) {
            let emb = x.matmul(w1.value), z = emb.matmul(w2.value)
            let batch = DistillationBatch(studentLogits: z, teacherLogits: zt, studentFeatures: [emb], teacherFeatures: [te], labels: y)
            let l = nd.loss(batch)
            (ce.loss(batch) + kd.loss(batch) + l).backward()
            return (l.item, Float(Metrics.agreement(zt, z)))
        }
        var first: Float = 0, last: (Float, Float) = (0, 0)
        for k in 0..<300 {
            w1.zeroGradient(); w2.zeroGradient()
            last = step()
            if k == 0 { first = last.0 }
            XCTAssertTrue(last.0.isFinite)
            for p in [w1, w2] { p.value = p.value.detached() - p.gradient! * 0.05 }
        }
        XCTAssertLessThan(last.0, 0.8 * first, "nd \(first) → \(last.0)")   // measured 0.994 → 0.700
        XCTAssertGreaterThan(last.1, 0.9, "agreement \(last.1)")
    }
}
