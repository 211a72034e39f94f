import XCTest
@testable import DistillCore

/// Forward values of the joining, selection, masking, dropout and embedding ops on tiny
/// hand-computable inputs (their gradients are checked by the inventory in GradCases+Select).
final class SelectOpsTests: XCTestCase {
    let x23 = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])

    func testConcatenated() {
        let b = Tensor(shape: [2, 1], scalars: [9, 8])
        let c = Tensor.concatenated([x23, b], alongAxis: 1)
        XCTAssertEqual(c.shape, [2, 4])
        XCTAssertEqual(c.scalars, [0, 1, 2, 9, 3, 4, 5, 8])
        let d = Tensor.concatenated([x23, Tensor(shape: [1, 3], scalars: [7, 7, 7])], alongAxis: 0)
        XCTAssertEqual(d.shape, [3, 3])
        XCTAssertEqual(d.scalars, [0, 1, 2, 3, 4, 5, 7, 7, 7])
    }

    func testStacked() {
        let y = x23 + 10
        let s0 = Tensor.stacked([x23, y])
        XCTAssertEqual(s0.shape, [2, 2, 3])
        XCTAssertEqual(s0.scalars, [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15])
        let s2 = Tensor.stacked([x23, y], alongAxis: -1)
        XCTAssertEqual(s2.shape, [2, 3, 2])
        XCTAssertEqual(s2.scalars, [0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15])
        let s1 = Tensor.stacked([x23, y], alongAxis: 1)
        XCTAssertEqual(s1.shape, [2, 2, 3])
        XCTAssertEqual(s1.scalars, [0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15])
    }

    func testIndexSelectAndItsGradientAddsRepeats() {
        let s = x23.indexSelect(alongAxis: 1, indices: IntTensor([2, 0, 2]))
        XCTAssertEqual(s.shape, [2, 3])
        XCTAssertEqual(s.scalars, [2, 0, 2, 5, 3, 5])
        let x = x23.requiringGradient()
        x.indexSelect(alongAxis: 1, indices: IntTensor([2, 0, 2])).sum().backward()
        XCTAssertEqual(x.gradient?.scalars, [1, 0, 2, 1, 0, 2])
    }

    func testGatherMatchesTorchSemantics() {
        // torch.gather(x, 1, [[2, 0], [1, 1]]) with x = [[0, 1, 2], [3, 4, 5]] is [[2, 0], [4, 4]]
        let idx = IntTensor(shape: [2, 2], scalars: [2, 0, 1, 1])
        XCTAssertEqual(x23.gather(alongAxis: 1, indices: idx).scalars, [2, 0, 4, 4])
        // along axis 0 with a smaller index: out[i][j] = x[idx[i][j]][j]
        let idx0 = IntTensor(shape: [1, 3], scalars: [1, 0, 1])
        XCTAssertEqual(x23.gather(alongAxis: 0, indices: idx0).scalars, [3, 1, 5])
        let x = x23.requiringGradient()
        x.gather(alongAxis: 1, indices: idx).sum().backward()
        XCTAssertEqual(x.gradient?.scalars, [1, 0, 1, 0, 2, 0])
    }

    func testMultiAxisPad() {
        let p = Tensor(shape: [1, 2], scalars: [1, 2]).padded([(before: 1, after: 0), (before: 0, after: 1)], value: -1)
        XCTAssertEqual(p.shape, [2, 3])
        XCTAssertEqual(p.scalars, [-1, -1, -1, 1, 2, -1])
    }

    func testComparisonsBroadcastAndAreConstants() {
        let row = Tensor([1, 3, 5])
        let col = Tensor(shape: [2, 1], scalars: [3, 4])
        XCTAssertEqual(row.greater(col).scalars, [0, 0, 1, 0, 0, 1])
        XCTAssertEqual(row.greaterEqual(col).scalars, [0, 1, 1, 0, 0, 1])
        XCTAssertEqual(row.less(col).scalars, [1, 0, 0, 1, 1, 0])
        XCTAssertEqual(row.lessEqual(col).scalars, [1, 1, 0, 1, 1, 0])
        XCTAssertEqual(row.equal(col).scalars, [0, 1, 0, 0, 0, 0])
        XCTAssertEqual(row.greater(3).scalars, [0, 0, 1])
        XCTAssertEqual(row.greaterEqual(3).scalars, [0, 1, 1])
        XCTAssertEqual(row.less(3).scalars, [1, 0, 0])
        XCTAssertEqual(row.lessEqual(3).scalars, [1, 1, 0])
        XCTAssertEqual(row.equal(3).scalars, [0, 1, 0])
        XCTAssertFalse(row.requiringGradient().greater(0).requiresGradient)
    }

    func testSelectWhereBroadcasts() {
        let mask = Tensor(shape: [2, 1], scalars: [1, 0])
        let r = Tensor.select(where: mask, x23, Tensor([-1, -2, -3]))
        XCTAssertEqual(r.scalars, [0, 1, 2, -1, -2, -3])
        let a = x23.requiringGradient(), b = Tensor([-1, -2, -3]).requiringGradient()
        Tensor.select(where: mask, a, b).sum().backward()
        XCTAssertEqual(a.gradient?.scalars, [1, 1, 1, 0, 0, 0])
        XCTAssertEqual(b.gradient?.scalars, [1, 1, 1])
        let scalarMask = Tensor.select(where: Tensor(0), x23, Tensor(7))
        XCTAssertEqual(scalarMask.scalars, [7, 7, 7, 7, 7, 7])
    }

    func testSelectWhereGeneralBroadcastMatchesExpandedOperands() {
        let m = Inputs.uniform([2, 1, 3], seed: 1).greater(0)
        let a = Inputs.uniform([4, 1], seed: 2), b = Inputs.uniform([1, 4, 3], seed: 3)
        let r = Tensor.select(where: m, a, b)
        XCTAssertEqual(r.shape, [2, 4, 3])
        let me = m.expanded(to: [2, 4, 3]).scalars, ae = a.expanded(to: [2, 4, 3]).scalars, be = b.expanded(to: [2, 4, 3]).scalars
        XCTAssertEqual(r.scalars, (0..<24).map { me[$0] != 0 ? ae[$0] : be[$0] })
    }

    func testEmbeddingLooksUpRows() {
        let w = Tensor(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
        let e = embedding(IntTensor(shape: [2, 2], scalars: [2, 0, 1, 2]), weight: w)
        XCTAssertEqual(e.shape, [2, 2, 2])
        XCTAssertEqual(e.scalars, [20, 21, 0, 1, 10, 11, 20, 21])
        let wg = w.requiringGradient()
        embedding(IntTensor([2, 2, 0]), weight: wg).sum().backward()
        XCTAssertEqual(wg.gradient?.scalars, [1, 1, 0, 0, 2, 2])
    }

    func testDropoutKeepsTheRightFractionScaledAndIsSeeded() {
        let x = Tensor.ones([64, 1001])   // odd count: exercises the tail
        for p: Float in [0.5, 0.25, 0.1] {
            var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
            let y1 = dropout(x, probability: p, using: &g1)
            let y2 = dropout(x, probability: p, using: &g2)
            XCTAssertEqual(y1.scalars, y2.scalars, "same seed, same mask")
            XCTAssertEqual(g1.state, g2.state)
            let scale = 1 / (1 - p)
            let kept = y1.scalars.filter { $0 != 0 }
            XCTAssertTrue(kept.allSatisfy { $0 == scale }, "kept elements are scaled by 1/(1-p)")
            let frac = Double(kept.count) / Double(x.count)
            // binomial standard deviation √(p(1−p)/n) ≈ 0.002 here; allow 5σ
            XCTAssertEqual(frac, Double(1 - p), accuracy: 0.01, "p = \(p)")
            var g3 = SeededGenerator(seed: 6)
            XCTAssertNotEqual(dropout(x, probability: p, using: &g3).scalars, y1.scalars, "another seed, another mask")
        }
    }

    func testDropoutIdentityCasesAndGradient() {
        var g = SeededGenerator(seed: 1)
        let before = g.state
        let x = x23.requiringGradient()
        XCTAssertTrue(dropout(x, probability: 0, using: &g).storage === x.storage)
        XCTAssertTrue(dropout(x, probability: 0.5, training: false, using: &g).storage === x.storage)
        XCTAssertEqual(g.state, before, "identity cases draw nothing")
        XCTAssertEqual(dropout(x23, probability: 1, using: &g).scalars, [0, 0, 0, 0, 0, 0])
        let y = dropout(x, probability: 0.5, using: &g)
        y.sum().backward()
        // the gradient is the mask: 2 where kept, 0 where dropped, i.e. y / x where x ≠ 0
        for i in 1..<6 { XCTAssertEqual(x.gradient!.scalars[i], y.scalars[i] / x23.scalars[i]) }
    }
}
