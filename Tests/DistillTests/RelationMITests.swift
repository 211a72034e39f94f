import Foundation
import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill
#if canImport(FoundationXML)
import FoundationXML
#endif

/// All-pairs MI distillation: PyTorch golden values for every λ mode, gradients, λ constraints,
/// shape refusals, and the λ graph SVG.
final class RelationMITests: XCTestCase {
    let fx = JSONFixture.relation
    let teacherPaths = "layer1,layer2,fc:input", studentPaths = "block1,block2,head:input"

    func fixtureFeatures() throws -> (students: [Tensor], teachers: [Tensor]) {
        ((0..<3).map { try! fx.tensor("mi.students.\($0)") }, (0..<3).map { try! fx.tensor("mi.teachers.\($0)") })
    }

    /// An `mi` loss prepared on the fixture's shapes with its regressor weights loaded.
    func fixtureLoss(_ mode: String) throws -> MutualInformationLoss {
        _ = try fx.value("mi.students.2")
        let (s, t) = try fixtureFeatures()
        let loss = try MethodRegistry.make("mi", options: ["student": studentPaths, "teacher": teacherPaths, "lambda": mode]) as! MutualInformationLoss
        try loss.prepare(studentShapes: s.map(\.shape), teacherShapes: t.map(\.shape))
        var state = try fx.tensorDict("mi.state")
        let own = Set(loss.adapters!.stateDict().keys)
        state = state.filter { own.contains($0.key) }
        if mode == "learned" { state["lambda_logits"] = try fx.tensor("mi.lambda_logits") }
        try loss.adapters!.loadStateDict(state)
        return loss
    }

    func testMatchesPyTorchInEveryLambdaMode() throws {
        let (s, t) = try fixtureFeatures()
        for mode in ["pairwise", "all", "learned"] {
            let loss = try fixtureLoss(mode)
            assertClose(loss.lambdaMatrix, try fx.tensor("mi.\(mode).lambda"), atol: 1e-6, "\(mode) λ")
            let r = backpropagate(loss, student: s, teacher: t)
            XCTAssertEqual(r.value, try fx.number("mi.\(mode).loss"), accuracy: 1e-4, mode)
            for j in 0..<3 {
                assertClose(r.student[j], try fx.tensor("mi.\(mode).grad_students.\(j)"), rtol: 1e-3, atol: 1e-6, "\(mode) ∂/∂s\(j)")
            }
            let expected = try fx.tensorDict("mi.\(mode).grads")
            for (name, g) in expected {
                assertClose(r.params[name] ?? Tensor.zeros(g.shape), g, rtol: 1e-3, atol: 1e-6, "\(mode) ∂/∂\(name)")
            }
            if mode == "learned" {
                assertClose(r.params["lambda_logits"] ?? Tensor.zeros([3, 3]), try fx.tensor("mi.learned.grad_lambda_logits"),
                                    rtol: 1e-3, atol: 1e-6, "∂/∂λ logits")
            }
            // pairwise builds only the diagonal pairs
            XCTAssertEqual(loss.adapters!.children.count, mode == "pairwise" ? 3 : 9, mode)
        }
    }

    func testPerPairNLLMatchesPyTorch() throws {
        let (s, t) = try fixtureFeatures()
        let loss = try fixtureLoss("all")
        let nll = try fx.tensor("mi.all.nll")
        for i in 0..<3 {
            for j in 0..<3 {
                let plan = loss.plans[i][j]!
                XCTAssertEqual(loss.pairLoss(plan, student: s[j], teacher: t[i]).item, nll[i, j], accuracy: 1e-4, "pair \(i),\(j)")
            }
        }
    }

    func testGradientsWithRespectToFeaturesAndAdapters() throws {
        // maps with a spatial mismatch both ways, and a vector: every kind of pair, small sizes
        let s = [seeded([2, 2, 2, 2], seed: 21), seeded([2, 2], seed: 22)]
        let t = [seeded([2, 2, 1, 1], seed: 23), seeded([2, 1, 4, 4], seed: 24), seeded([2, 3], seed: 25)]
        let loss = try MutualInformationLoss(studentTaps: [FeatureTap(path: "a"), FeatureTap(path: "b")],
                                             teacherTaps: [FeatureTap(path: "x"), FeatureTap(path: "y"), FeatureTap(path: "z")],
                                             lambda: .learned, initialVariance: 0.5, seed: 4)
        try loss.prepare(studentShapes: s.map(\.shape), teacherShapes: t.map(\.shape))
        // move the λ logits off zero so the softmax gradient is generic
        loss.adapters!.namedParameters().first { $0.path == "lambda_logits" }!.parameter.value = seeded([3, 2], seed: 26)
        checkLossGradients(loss, student: s, teacher: t, eps: 3e-3, atol: 3e-3, "mi learned")
    }

    func testLambdaColumnsSumToOneAndLearnedLambdaTrains() throws {
        let s = [seeded([2, 3], seed: 31), seeded([2, 2], seed: 32)]
        let t = [seeded([2, 2], seed: 33), seeded([2, 4], seed: 34), seeded([2, 1], seed: 35)]
        for mode in MutualInformationLoss.LambdaMode.allCases {
            let st = mode == .pairwise ? Array(s.prefix(2)) : s
            let tt = mode == .pairwise ? Array(t.prefix(2)) : t
            let loss = try MutualInformationLoss(studentTaps: st.indices.map { FeatureTap(path: "s\($0)") },
                                                 teacherTaps: tt.indices.map { FeatureTap(path: "t\($0)") }, lambda: mode)
            try loss.prepare(studentShapes: st.map(\.shape), teacherShapes: tt.map(\.shape))
            let lam = loss.lambdaMatrix
            XCTAssertEqual(lam.shape, [tt.count, st.count])
            for c in lam.sum(alongAxis: 0).scalars { XCTAssertEqual(c, 1, accuracy: 1e-6, "\(mode)") }
            XCTAssertTrue(lam.scalars.allSatisfy { $0 >= 0 })
            if mode == .learned {
                let logits = loss.adapters!.namedParameters().first { $0.path == "lambda_logits" }!.parameter
                let r = backpropagate(loss, student: st, teacher: tt)
                let g = r.params["lambda_logits"]
                XCTAssertNotNil(g)
                XCTAssertGreaterThan(g!.scalars.map(abs).max()!, 1e-4)
                // one SGD step changes λ and keeps the columns normalised
                logits.value = logits.value.detached() - g! * 1
                XCTAssertNotEqual(loss.lambdaMatrix.scalars, lam.scalars)
                for c in loss.lambdaMatrix.sum(alongAxis: 0).scalars { XCTAssertEqual(c, 1, accuracy: 1e-6) }
            }
        }
    }

    func testPairwiseRefusesUnequalLayerCountsNamingTheTaps() {
        XCTAssertThrowsError(try MethodRegistry.make("mi", options: ["student": "block1,block2", "teacher": teacherPaths, "lambda": "pairwise"])) { e in
            let m = "\(e)"
            for part in ["3 teacher taps", "layer1:output", "layer2:output", "fc:input", "2 student taps", "block1:output", "block2:output"] {
                XCTAssertTrue(m.contains(part), "'\(part)' not in: \(m)")
            }
        }
        XCTAssertThrowsError(try MethodRegistry.make("mi", options: ["student": "a", "teacher": "b", "lambda": "most"])) { e in
            XCTAssertTrue("\(e)".contains("pairwise, all, learned"), "\(e)")
        }
    }

    func testShapeRefusalsNameBothShapesAndTaps() throws {
        let loss = try MethodRegistry.make("mi", options: ["student": "block1", "teacher": "layer1,encoder"])
        XCTAssertThrowsError(try loss.prepare(studentShapes: [[4, 8, 4, 4]], teacherShapes: [[2, 16, 4, 4], [4, 16]])) { e in
            let m = "\(e)"
            for part in ["block1:output", "[4, 8, 4, 4]", "layer1:output", "[2, 16, 4, 4]", "batch sizes differ"] {
                XCTAssertTrue(m.contains(part), "'\(part)' not in: \(m)")
            }
        }
        XCTAssertThrowsError(try loss.prepare(studentShapes: [[4, 8, 4, 4]], teacherShapes: [[4, 16, 4, 4], [4, 10, 16, 2, 2]])) { e in
            let m = "\(e)"
            for part in ["block1:output", "[4, 8, 4, 4]", "encoder:output", "[4, 10, 16, 2, 2]", "token sequences and [b, C] vectors only"] {
                XCTAssertTrue(m.contains(part), "'\(part)' not in: \(m)")
            }
        }
    }

    // MARK: λ graph

    func testLambdaGraphIsWellFormedSVG() throws {
        let loss = try fixtureLoss("learned")
        let svg = LambdaGraph.svg(for: loss)
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertEqual(svg.components(separatedBy: "<line ").count - 1, 9)
        XCTAssertTrue(svg.contains("layer1:output") && svg.contains("head:input"))
        // stroke widths ∝ λ: the widest edge belongs to the largest λ
        let lam = loss.lambdaMatrix.scalars
        let widths = svg.components(separatedBy: "stroke-width=\"").dropFirst().map { Float($0.prefix { $0 != "\"" })! }
        XCTAssertEqual(widths.count, 9)
        for (w, l) in zip(widths, lam) { XCTAssertEqual(w, 12 * l, accuracy: 0.01) }

        // labels with XML metacharacters are escaped; the result parses as XML
        let odd = LambdaGraph.svg(teacherLayers: ["a<b>&\"c\""], studentLayers: ["x'y", "z"], lambda: Tensor(shape: [1, 2], scalars: [1, 1]))
        XCTAssertTrue(odd.contains("a&lt;b&gt;&amp;&quot;c&quot;"))
        for doc in [svg, odd, LambdaGraph.svg(for: try fixtureLoss("pairwise"))] {
            #if canImport(FoundationXML) || os(macOS)
            let xml = try XMLDocument(xmlString: doc)
            XCTAssertEqual(xml.rootElement()?.name, "svg")
            XCTAssertEqual(xml.rootElement()?.uri, "http://www.w3.org/2000/svg")
            let parser = XMLParser(data: Data(doc.utf8))
            XCTAssertTrue(parser.parse(), "SVG does not parse: \(String(describing: parser.parserError))")
            #else
            XCTAssertTrue(doc.hasSuffix("</svg>\n") && doc.components(separatedBy: "<g ").count == doc.components(separatedBy: "</g>").count)
            #endif
        }
        // pairwise: only the three diagonal edges are drawn
        XCTAssertEqual(LambdaGraph.svg(for: try fixtureLoss("pairwise")).components(separatedBy: "<line ").count - 1, 3)
    }
}
