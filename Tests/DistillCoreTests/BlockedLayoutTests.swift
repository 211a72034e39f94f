import XCTest
@testable import DistillCore

/// Activations kept in oneDNN's nChw16c layout between layers: the reorders, the storage that
/// holds either layout, the blocked batch-norm kernels, and a small residual network whose
/// values and gradients must match the plain im2col path while staying blocked inside.
final class BlockedLayoutTests: XCTestCase {
    override func tearDown() { ConvDispatch.setMode(nil) }

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: -2...3, using: &g) }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Swift.max(b.map { Swift.abs($0) }.max() ?? 0, 1e-6)
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertFalse(a.contains { !$0.isFinite }, "\(what): non-finite value", file: file, line: line)
        XCTAssertLessThanOrEqual(err, tolerance * scale, "\(what): max error \(err) against scale \(scale)", file: file, line: line)
    }

    func testLayoutOnlyForFourDimensionsWithChannelsInBlocksOfSixteen() {
        XCTAssertNotNil(Blocked16(shape: [2, 32, 3, 5]))
        XCTAssertNil(Blocked16(shape: [2, 24, 3, 5]))
        XCTAssertNil(Blocked16(shape: [2, 0, 3, 5]))
        XCTAssertNil(Blocked16(shape: [2, 16, 3]))
        XCTAssertNil(Blocked16(shape: [0, 16, 3, 3]))
    }

    /// The reorder follows the index formula exactly, both ways, on thread-split and serial sizes.
    func testReordersFollowTheIndexFormula() {
        for shape in [[2, 32, 5, 7], [3, 16, 1, 1], [64, 32, 8, 8]] {
            let l = Blocked16(shape: shape)!
            let x = values(l.count, seed: UInt64(l.count))
            var b = [Float](repeating: .nan, count: l.count), back = b
            x.withUnsafeBufferPointer { xp in b.withUnsafeMutableBufferPointer { BlockedReorder.toBlocked(xp.baseAddress!, $0.baseAddress!, l) } }
            for n in 0..<l.n { for c in 0..<l.c { for p in 0..<l.plane {
                let blocked = ((n * l.blocks + c / 16) * l.plane + p) * 16 + c % 16
                XCTAssertEqual(b[blocked], x[(n * l.c + c) * l.plane + p], "\(shape) n \(n) c \(c) p \(p)")
            } } }
            b.withUnsafeBufferPointer { bp in back.withUnsafeMutableBufferPointer { BlockedReorder.toPlain(bp.baseAddress!, $0.baseAddress!, l) } }
            XCTAssertEqual(back, x, "\(shape) round trip")
        }
    }

    func testStorageMakesThePlainCopyOnReadAndDropsTheBlockedOneOnWrite() {
        let l = Blocked16(shape: [2, 16, 3, 3])!
        let x = values(l.count, seed: 5)
        var blocked = [Float](repeating: 0, count: l.count)
        x.withUnsafeBufferPointer { xp in blocked.withUnsafeMutableBufferPointer { BlockedReorder.toBlocked(xp.baseAddress!, $0.baseAddress!, l) } }
        var t = Tensor.makeBlocked(l.shape, l) { $0.update(from: blocked, count: l.count) }
        XCTAssertEqual(t.storage.blockedOnlyLayout, l)
        XCTAssertFalse(t.storage.hasPlain)
        let copy = t   // shares the storage
        XCTAssertEqual(t.scalars, x, "plain read")
        XCTAssertTrue(t.storage.hasPlain)
        XCTAssertNil(t.storage.blockedOnlyLayout, "no longer blocked-only once plain exists")
        XCTAssertNotNil(t.storage.blocked(as: l), "the blocked copy is kept while both agree")
        t.withUnsafeMutableBufferPointer { $0[0] = 42 }   // copy-on-write: copy still holds the old storage
        XCTAssertEqual(copy.scalars, x)
        XCTAssertEqual(t.scalars[0], 42)
        XCTAssertNil(t.storage.blocked(as: l), "a write drops the blocked copy")
        var unique = Tensor.makeBlocked(l.shape, l) { $0.update(from: blocked, count: l.count) }
        unique.withUnsafeMutableBufferPointer { $0[1] = -7 }
        XCTAssertNil(unique.storage.blocked(as: l), "an in-place write on a unique storage drops the blocked copy")
        XCTAssertEqual(unique.scalars[1], -7)
        XCTAssertEqual(Array(unique.scalars[2...]), Array(x[2...]))
        let blockedCopy = Tensor.makeBlocked(l.shape, l) { $0.update(from: blocked, count: l.count) }
        let dup = blockedCopy.storage.copy()
        XCTAssertEqual(dup.blockedOnlyLayout, l)
        XCTAssertEqual(Tensor(storage: dup, shape: l.shape).scalars, x)
    }

    /// Elementwise ops stay blocked when an operand is blocked-only, mixed with plain operands too.
    func testElementwiseOpsStayBlocked() {
        let l = Blocked16(shape: [2, 16, 4, 4])!
        let xs = values(l.count, seed: 7), ys = values(l.count, seed: 8)
        var xb = [Float](repeating: 0, count: l.count)
        xs.withUnsafeBufferPointer { xp in xb.withUnsafeMutableBufferPointer { BlockedReorder.toBlocked(xp.baseAddress!, $0.baseAddress!, l) } }
        let x = Tensor.makeBlocked(l.shape, l) { $0.update(from: xb, count: l.count) }
        let y = Tensor(shape: l.shape, scalars: ys)
        let r = x.relu(), s = x + y, t = y * x
        XCTAssertEqual(r.storage.blockedOnlyLayout, l)
        XCTAssertEqual(s.storage.blockedOnlyLayout, l)
        XCTAssertEqual(t.storage.blockedOnlyLayout, l)
        XCTAssertEqual(r.scalars, xs.map { Swift.max($0, 0) })
        XCTAssertEqual(s.scalars, zip(xs, ys).map { $0 + $1 })
        XCTAssertEqual(t.scalars, zip(ys, xs).map { $0 * $1 })
        XCTAssertNil((y + y).storage.blockedOnlyLayout, "plain operands give a plain result")
        let flat = x.reshaped([2, l.count / 2])   // another shape over the same elements: still exact
        XCTAssertEqual((flat + y.reshaped([2, l.count / 2])).scalars, zip(xs, ys).map { $0 + $1 })
    }

    /// The blocked batch-norm kernels against the plain ones on the same values.
    func testBlockedBatchNormKernelsMatchPlain() {
        for shape in [[3, 32, 5, 7], [64, 16, 8, 8]] {
            let l = Blocked16(shape: shape)!
            let x = values(l.count, seed: 11), g = values(l.count, seed: 12)
            var xb = [Float](repeating: 0, count: l.count), gb = xb
            x.withUnsafeBufferPointer { p in xb.withUnsafeMutableBufferPointer { BlockedReorder.toBlocked(p.baseAddress!, $0.baseAddress!, l) } }
            g.withUnsafeBufferPointer { p in gb.withUnsafeMutableBufferPointer { BlockedReorder.toBlocked(p.baseAddress!, $0.baseAddress!, l) } }
            let (n, c, s) = (l.n, l.c, l.plane)
            let (m0, v0) = BatchNormKernels.moments(x, n: n, c: c, s: s)
            let (m1, v1) = BatchNormKernels.moments(blocked: xb, l)
            assertClose(m1, m0, "\(shape) mean", tolerance: 1e-5)
            assertClose(v1, v0, "\(shape) variance", tolerance: 1e-5)
            let invstd = v0.map { 1 / ($0 + 1e-5).squareRoot() }
            let (sg0, sgx0) = BatchNormKernels.gradientSums(g, x, n: n, c: c, s: s, mean: m0, invstd: invstd)
            let (sg1, sgx1) = BatchNormKernels.gradientSums(blocked: gb, xb, l, mean: m0, invstd: invstd)
            assertClose(sg1, sg0, "\(shape) Σg", tolerance: 1e-5)
            assertClose(sgx1, sgx0, "\(shape) Σg·x̂", tolerance: 1e-5)
            let w = values(c, seed: 13)
            var dx0 = [Float](repeating: 0, count: l.count), dx1 = dx0, y0 = dx0, y1 = dx0
            BatchNormKernels.trainingInputGradient(g, x, n: n, c: c, s: s, mean: m0, invstd: invstd, weight: w, sumG: sg0, sumGX: sgx0, &dx0)
            BatchNormKernels.trainingInputGradient(blocked: gb, xb, l, mean: m0, invstd: invstd, weight: w, sumG: sg0, sumGX: sgx0, &dx1)
            BatchNormKernels.affine(x, n: n, c: c, s: s, scale: w, shift: invstd, &y0)
            BatchNormKernels.affine(blocked: xb, l, scale: w, shift: invstd, &y1)
            var plain1 = [Float](repeating: 0, count: l.count), plainY = plain1
            dx1.withUnsafeBufferPointer { p in plain1.withUnsafeMutableBufferPointer { BlockedReorder.toPlain(p.baseAddress!, $0.baseAddress!, l) } }
            y1.withUnsafeBufferPointer { p in plainY.withUnsafeMutableBufferPointer { BlockedReorder.toPlain(p.baseAddress!, $0.baseAddress!, l) } }
            assertClose(plain1, dx0, "\(shape) input gradient", tolerance: 1e-5)
            assertClose(plainY, y0, "\(shape) affine", tolerance: 1e-6)
        }
    }

    /// Two residual blocks (conv 3×3 → BN → ReLU → conv → BN, + shortcut, ReLU), then a mean:
    /// on oneDNN's blocked kernels the activations inside stay blocked, and values, input and
    /// weight gradients and batch-norm gradients match im2col on plain tensors.
    func testResidualBlocksStayBlockedAndMatchPlain() {
        let n = 4, c = 16, hw = 8
        let x0 = Tensor(shape: [n, c, hw, hw], scalars: values(n * c * hw * hw, seed: 21))
        let w1 = Tensor(shape: [c, c, 3, 3], scalars: values(c * c * 9, seed: 22).map { $0 * 0.1 })
        let w2 = Tensor(shape: [c, c, 3, 3], scalars: values(c * c * 9, seed: 23).map { $0 * 0.1 })
        let gamma = Tensor(shape: [c], scalars: values(c, seed: 24).map { 1 + 0.1 * $0 })
        func run(_ mode: ConvMode) -> (out: [Float], grads: [[Float]], blockedInside: Bool) {
            ConvDispatch.setMode(mode)
            let x = x0.requiringGradient(), a = w1.requiringGradient(), b = w2.requiringGradient(), gm = gamma.requiringGradient()
            var rm = Tensor.zeros([c]), rv = Tensor.ones([c])
            var blockedInside = true
            var h = x
            for _ in 0..<2 {
                let y1 = conv2d(h, weight: a, padding: (1, 1))
                blockedInside = blockedInside && y1.storage.blockedOnlyLayout != nil
                let z1 = batchNorm(y1, weight: gm, bias: nil, runningMean: &rm, runningVar: &rv, training: true).relu()
                blockedInside = blockedInside && z1.storage.blockedOnlyLayout != nil
                let y2 = batchNorm(conv2d(z1, weight: b, padding: (1, 1)), weight: gm, bias: nil, runningMean: &rm, runningVar: &rv, training: true)
                h = (y2 + h).relu()
            }
            blockedInside = blockedInside && h.storage.blockedOnlyLayout != nil
            let loss = (h * h).mean()
            loss.backward()
            return (h.scalars, [x.gradient!.scalars, a.gradient!.scalars, b.gradient!.scalars, gm.gradient!.scalars, rm.scalars, rv.scalars],
                    blockedInside)
        }
        let plain = run(.im2col)
        let blocked = run(.dnnlBlocked)
        XCTAssertFalse(plain.blockedInside)
        XCTAssertTrue(blocked.blockedInside, "activations left the blocked layout inside the network")
        assertClose(blocked.out, plain.out, "output")
        for (i, name) in ["input gradient", "conv 1 weight gradient", "conv 2 weight gradient", "γ gradient", "running mean", "running var"].enumerated() {
            assertClose(blocked.grads[i], plain.grads[i], name, tolerance: 2e-4)
        }
    }

    /// A downsampling block under `rule`: the 1×1 stride-2 shortcut (16→32) reads the blocked
    /// activation in place and returns a blocked output, and the block's output and gradients
    /// (input, both weights of the main path and the shortcut's) match im2col.
    func testRuleKeepsOneByOneShortcutsBlockedAndMatchesPlain() {
        let n = 4, c = 16, o = 32, hw = 8
        let x0 = Tensor(shape: [n, c, hw, hw], scalars: values(n * c * hw * hw, seed: 31))
        let w0 = Tensor(shape: [c, c, 3, 3], scalars: values(c * c * 9, seed: 32).map { $0 * 0.1 })
        let w1 = Tensor(shape: [o, c, 3, 3], scalars: values(o * c * 9, seed: 33).map { $0 * 0.1 })
        let ws = Tensor(shape: [o, c, 1, 1], scalars: values(o * c, seed: 34).map { $0 * 0.3 })
        func run(_ mode: ConvMode) -> (out: [Float], grads: [[Float]], shortcutBlocked: Bool) {
            ConvDispatch.setMode(mode)
            let x = x0.requiringGradient(), a = w0.requiringGradient(), b = w1.requiringGradient(), s = ws.requiringGradient()
            let h = conv2d(x, weight: a, padding: (1, 1)).relu()
            let main = conv2d(h, weight: b, stride: (2, 2), padding: (1, 1))
            let shortcut = conv2d(h, weight: s, stride: (2, 2))
            let y = (main + shortcut).relu()
            let loss = (y * y).mean()
            loss.backward()
            return (y.scalars, [x.gradient!.scalars, a.gradient!.scalars, b.gradient!.scalars, s.gradient!.scalars],
                    h.storage.blockedOnlyLayout != nil && shortcut.storage.blockedOnlyLayout != nil)
        }
        let plain = run(.im2col)
        let rule = run(.rule)
        XCTAssertFalse(plain.shortcutBlocked)
        XCTAssertTrue(rule.shortcutBlocked, "the 1×1 shortcut made its input or output plain")
        assertClose(rule.out, plain.out, "output")
        for (i, name) in ["input gradient", "conv 1 weight gradient", "conv 2 weight gradient", "shortcut weight gradient"].enumerated() {
            assertClose(rule.grads[i], plain.grads[i], name, tolerance: 2e-4)
        }
    }

    /// The DeepInversion pattern: eval-mode batch norm on a blocked convolution output whose
    /// batch statistics also feed a loss (read plain), gradients taken with respect to the input
    /// (plain and blocked gradients meet at the convolution output).
    func testInputGradientThroughEvalBatchNormAndStatisticsMatchesPlain() {
        let n = 6, c = 6, o = 16
        let x0 = Tensor(shape: [n, c, 12, 12], scalars: values(n * c * 144, seed: 31))
        let w = Tensor(shape: [o, c, 5, 5], scalars: values(o * c * 25, seed: 32).map { $0 * 0.05 })
        let gamma = Tensor(shape: [o], scalars: values(o, seed: 33).map { 1 + 0.1 * $0 })
        let beta = Tensor(shape: [o], scalars: values(o, seed: 34).map { 0.1 * $0 })
        func run(_ mode: ConvMode) -> (loss: Float, grad: [Float], blocked: Bool) {
            ConvDispatch.setMode(mode)
            let x = x0.requiringGradient()
            var rm = Tensor(shape: [o], scalars: values(o, seed: 35).map { 0.1 * $0 })
            var rv = Tensor(shape: [o], scalars: values(o, seed: 36).map { 1 + 0.2 * Swift.abs($0) })
            let y = conv2d(x, weight: w, padding: (1, 1))
            let blocked = y.storage.blockedOnlyLayout != nil
            let mu = y.mean(alongAxes: [0, 2, 3]), centred = y - mu.reshaped([1, o, 1, 1])
            let variance = (centred * centred).mean(alongAxes: [0, 2, 3])
            let stats = ((mu - rm) * (mu - rm)).sum() + ((variance - rv) * (variance - rv)).sum()
            let z = batchNorm(y, weight: gamma, bias: beta, runningMean: &rm, runningVar: &rv, training: false).relu()
            let loss = stats + (z * z).mean()
            loss.backward()
            return (loss.item, x.gradient!.scalars, blocked)
        }
        let plain = run(.im2col), blocked = run(.rule)
        XCTAssertTrue(blocked.blocked, "the 6→16 5×5 convolution should compute blocked under the rule")
        XCTAssertEqual(blocked.loss, plain.loss, accuracy: 1e-4 * Swift.abs(plain.loss))
        assertClose(blocked.grad, plain.grad, "input gradient", tolerance: 2e-4)
    }
}
