import XCTest
@testable import DistillCore

/// oneDNN convolution primitives (both layouts) against the im2col kernels, direction by
/// direction, and the dispatch that chooses between them.
final class DNNLConvTests: XCTestCase {
    override func tearDown() { ConvDispatch.setMode(nil) }

    static func geometry(n: Int, c: Int, h: Int, w: Int, o: Int, k: (Int, Int), s: (Int, Int) = (1, 1), p: (Int, Int) = (0, 0),
                         d: (Int, Int) = (1, 1), groups: Int = 1) -> ConvGeometry {
        ConvGeometry(n: n, c: c, h: h, w: w, o: o,
                     oh: ConvGeometry.outExtent(h, k: k.0, s: s.0, p: p.0, d: d.0), ow: ConvGeometry.outExtent(w, k: k.1, s: s.1, p: p.1, d: d.1),
                     kh: k.0, kw: k.1, sh: s.0, sw: s.1, ph: p.0, pw: p.1, dh: d.0, dw: d.1, groups: groups)
    }

    /// Stride 2, padding, dilation, groups (depthwise too), 1×1, odd sizes, batch 1, a right
    /// padding that floor rounding makes negative, and a ResNet-20 stage at small batch.
    static let geometries: [(String, ConvGeometry)] = [
        ("stride 2 pad 1", geometry(n: 2, c: 8, h: 9, w: 9, o: 16, k: (3, 3), s: (2, 2), p: (1, 1))),
        ("dilation 2", geometry(n: 3, c: 5, h: 11, w: 10, o: 7, k: (3, 3), p: (2, 2), d: (2, 2))),
        ("groups 4", geometry(n: 2, c: 8, h: 7, w: 7, o: 12, k: (3, 3), p: (1, 1), groups: 4)),
        ("depthwise", geometry(n: 2, c: 8, h: 6, w: 6, o: 8, k: (3, 3), p: (1, 1), groups: 8)),
        ("1×1", geometry(n: 2, c: 16, h: 5, w: 5, o: 8, k: (1, 1))),
        ("1×1 stride 2", geometry(n: 2, c: 16, h: 8, w: 8, o: 32, k: (1, 1), s: (2, 2))),
        ("odd sizes", geometry(n: 2, c: 3, h: 13, w: 7, o: 5, k: (5, 3), s: (3, 2), p: (2, 1))),
        ("batch 1 LeNet conv1", geometry(n: 1, c: 1, h: 28, w: 28, o: 6, k: (5, 5))),
        ("negative right padding", geometry(n: 2, c: 4, h: 8, w: 8, o: 4, k: (3, 3), s: (2, 2))),
        ("stride dilation groups", geometry(n: 1, c: 4, h: 6, w: 5, o: 4, k: (2, 2), s: (2, 1), p: (1, 0), d: (2, 1), groups: 2)),
        ("ResNet stage 1", geometry(n: 4, c: 16, h: 32, w: 32, o: 16, k: (3, 3), p: (1, 1))),
    ]

    /// max |a − b| ≤ 1e-4 · max |b|: relative to the largest magnitude, since entries near zero
    /// come from cancelling sums whose rounding depends on the summation order.
    func assertRelativelyClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = b.map { Swift.abs($0) }.max() ?? 0
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertFalse(a.contains { !$0.isFinite }, "\(what): non-finite value", file: file, line: line)
        XCTAssertLessThanOrEqual(err, 1e-4 * Swift.max(scale, 1e-6), "\(what): max error \(err) against scale \(scale)", file: file, line: line)
    }

    func testPrimitivesMatchIm2colInEveryDirection() {
        var built = 0
        for (i, (name, g)) in Self.geometries.enumerated() {
            let seed = UInt64(300 + 10 * i)
            let x = Inputs.uniform(g.inputShape, seed: seed), w = Inputs.uniform(g.weightShape, seed: seed + 1)
            let b = Inputs.uniform([g.o], seed: seed + 2), dy = Inputs.uniform(g.outputShape, seed: seed + 3)
            let xp = x.storage.pointer, wp = w.storage.pointer, bp = b.storage.pointer, dyp = dy.storage.pointer
            let yRef = Tensor.make(g.outputShape) { ConvKernels.forwardIm2col(x: xp, weight: wp, bias: bp, y: $0, g) }
            let dxRef = Tensor.make(g.inputShape) { ConvKernels.backwardDataIm2col(dy: dyp, weight: wp, dx: $0, g) }
            let dwRef = Tensor.make(g.weightShape) { ConvKernels.backwardWeightIm2col(x: xp, dy: dyp, dw: $0, g) }
            let dbRef = Tensor.make([g.o]) { ConvKernels.biasGradient(dy: dyp, db: $0, n: g.n, o: g.o, plane: g.ohw) }
            for layout in DNNLConvLayout.allCases {
                let what = "\(name) (\(g)), \(layout)"
                var ok = true
                // the outputs start as NaN so an unwritten element fails
                let y = Tensor.make(g.outputShape) { o in
                    o.initialize(repeating: .nan, count: Shape.count(g.outputShape))
                    ok = DNNLConv.forward(x: xp, weight: wp, bias: bp, y: o, g, layout: layout)
                }
                guard ok else { print("DNNLConvTests: oneDNN declined \(what) forward"); continue }
                assertRelativelyClose(y.scalars, yRef.scalars, "\(what) forward")
                let dx = Tensor.make(g.inputShape) { o in
                    o.initialize(repeating: .nan, count: Shape.count(g.inputShape))
                    ok = DNNLConv.backwardData(dy: dyp, weight: wp, dx: o, g, layout: layout)
                }
                if ok { assertRelativelyClose(dx.scalars, dxRef.scalars, "\(what) backward data") } else { print("declined \(what) backward data") }
                var db = Tensor.zeros([g.o])
                let dw = Tensor.make(g.weightShape) { o in
                    o.initialize(repeating: .nan, count: Shape.count(g.weightShape))
                    db = Tensor.make([g.o]) { ok = DNNLConv.backwardWeight(x: xp, dy: dyp, dw: o, db: $0, g, layout: layout) }
                }
                if ok {
                    assertRelativelyClose(dw.scalars, dwRef.scalars, "\(what) backward weight")
                    assertRelativelyClose(db.scalars, dbRef.scalars, "\(what) bias gradient")
                } else { print("declined \(what) backward weight") }
                let dw2 = Tensor.make(g.weightShape) { ok = DNNLConv.backwardWeight(x: xp, dy: dyp, dw: $0, g, layout: layout) }
                if ok { assertRelativelyClose(dw2.scalars, dwRef.scalars, "\(what) backward weight without bias") }
                built += 1
            }
        }
        // oneDNN builds at least the plain and the blocked forward of most geometries
        XCTAssertGreaterThanOrEqual(built, Self.geometries.count, "oneDNN built too few convolutions")
    }

    /// The public ops give the same values and gradients under every mode, and `auto` records
    /// one decision per direction.
    func testModesAgreeThroughTheOps() {
        let x = Inputs.uniform([3, 6, 10, 9], seed: 400), w = Inputs.uniform([8, 3, 3, 3], seed: 401)
        let b = Inputs.uniform([8], seed: 402), t = Inputs.uniform([3, 8, 5, 5], seed: 403)
        let wt = Inputs.uniform([8, 4, 3, 3], seed: 404)
        func compute() -> [Tensor] {
            let xs = x.requiringGradient(), ws = w.requiringGradient(), bs = b.requiringGradient(), wts = wt.requiringGradient()
            let y = conv2d(xs, weight: ws, bias: bs, stride: (2, 2), padding: (1, 1), groups: 2)
            let z = convTranspose2d(t, weight: wts, stride: (2, 2), padding: (1, 1), outputPadding: (1, 0))
            let loss = (y * y).sum() + (z * z).sum()
            return [y, z] + gradients(of: loss, wrt: [xs, ws, bs, wts])
        }
        ConvDispatch.setMode(.im2col)
        let reference = compute()
        for mode in [ConvMode.dnnl, .dnnlPlain, .dnnlBlocked, .auto, .rule] {
            ConvDispatch.setMode(mode)
            let got = compute()
            for (k, (a, r)) in zip(got, reference).enumerated() {
                XCTAssertEqual(a.shape, r.shape)
                assertRelativelyClose(a.scalars, r.scalars, "mode \(mode.rawValue), output \(k)")
            }
        }
        let g = Self.geometry(n: 3, c: 6, h: 10, w: 9, o: 8, k: (3, 3), s: (2, 2), p: (1, 1), groups: 2)
        for d in ConvDirection.allCases { XCTAssertNotNil(ConvDispatch.decision(g, d, mode: .auto), "auto decided \(d)") }
    }

    /// `rule` picks by geometry alone: oneDNN blocked for 3×3 layers over 3+ channels, LeNet-5's
    /// 6→16 5×5 and 1×1 shortcuts over 16-multiple channels; im2col for other 1×1 convolutions,
    /// grouped and single-channel convolutions.
    func testRuleChoosesByGeometry() {
        let blocked: [(String, ConvGeometry)] = [
            ("ResNet stage 16→16", Self.geometry(n: 8, c: 16, h: 32, w: 32, o: 16, k: (3, 3), p: (1, 1))),
            ("ResNet 32→64 s2", Self.geometry(n: 8, c: 32, h: 16, w: 16, o: 64, k: (3, 3), s: (2, 2), p: (1, 1))),
            ("RGB first layer", Self.geometry(n: 8, c: 3, h: 32, w: 32, o: 16, k: (3, 3), p: (1, 1))),
            ("LeNet conv2", Self.geometry(n: 8, c: 6, h: 14, w: 14, o: 16, k: (5, 5))),
            ("1×1 shortcut 16→32 s2", Self.geometry(n: 8, c: 16, h: 32, w: 32, o: 32, k: (1, 1), s: (2, 2))),
        ]
        let im2col: [(String, ConvGeometry)] = [
            ("1×1 connector 24→40", Self.geometry(n: 8, c: 24, h: 8, w: 8, o: 40, k: (1, 1))),
            ("1-channel 3×3", Self.geometry(n: 8, c: 1, h: 28, w: 28, o: 16, k: (3, 3), p: (1, 1))),
            ("LeNet conv1", Self.geometry(n: 8, c: 1, h: 28, w: 28, o: 6, k: (5, 5), p: (2, 2))),
            ("groups 4", Self.geometry(n: 2, c: 8, h: 7, w: 7, o: 12, k: (3, 3), p: (1, 1), groups: 4)),
        ]
        for (name, g) in blocked {
            XCTAssertTrue(DNNLConv.supports(g, .forward, .blocked), "\(name): oneDNN builds it")
            XCTAssertEqual(ConvDispatch.ruleBackend(g), .dnnl(.blocked), name)
        }
        for (name, g) in im2col {
            XCTAssertEqual(ConvDispatch.ruleBackend(g), .im2col, name)
        }
    }

    /// Same inputs, same bits under `rule` (the property `auto`'s timing cannot promise), and
    /// values within rounding of im2col on a ResNet stage.
    func testRuleIsReproducibleBitForBit() {
        let x = Inputs.uniform([4, 16, 12, 12], seed: 420), w = Inputs.uniform([16, 16, 3, 3], seed: 421)
        func compute() -> [Tensor] {
            let xs = x.requiringGradient(), ws = w.requiringGradient()
            let y = conv2d(xs, weight: ws, padding: (1, 1))
            return [y] + gradients(of: (y * y).sum(), wrt: [xs, ws])
        }
        ConvDispatch.setMode(.im2col)
        let reference = compute()
        ConvDispatch.setMode(.rule)
        let first = compute(), second = compute()
        for k in 0..<3 {
            XCTAssertEqual(first[k].scalars, second[k].scalars, "output \(k) differs between two identical calls")
            assertRelativelyClose(first[k].scalars, reference[k].scalars, "rule against im2col, output \(k)")
        }
    }

    /// Second derivatives through the convolution (double backward) agree between kernels.
    func testSecondOrderAgreesBetweenKernels() {
        let x = Inputs.uniform([2, 4, 7, 7], seed: 410), w = Inputs.uniform([6, 4, 3, 3], seed: 411)
        func hvp() -> [Tensor] {
            let xs = x.requiringGradient(), ws = w.requiringGradient()
            let y = conv2d(xs, weight: ws, stride: (2, 2), padding: (1, 1))
            let g = gradients(of: (y * y * y).sum(), wrt: [xs, ws], createGraph: true)
            return gradients(of: (g[0] * g[0]).sum() + (g[1] * g[1]).sum(), wrt: [xs, ws])
        }
        ConvDispatch.setMode(.im2col)
        let reference = hvp()
        ConvDispatch.setMode(.dnnl)
        let got = hvp()
        for k in 0..<2 { assertRelativelyClose(got[k].scalars, reference[k].scalars, "second-order gradient \(k)") }
    }
}
