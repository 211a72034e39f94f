import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// sp, rkd and cc: PyTorch golden values, finite-difference gradients, option and shape refusals.
final class RelationLossTests: XCTestCase {
    let fx = JSONFixture.relation

    // MARK: sp

    func testSimilarityPreservingMatchesPyTorch() throws {
        let loss = try MethodRegistry.make("sp", options: ["student": "a, b", "teacher": "c,d"])
        let s = [try fx.tensor("sp.s0"), try fx.tensor("sp.s1")], t = [try fx.tensor("sp.t0"), try fx.tensor("sp.t1")]
        try loss.prepare(studentShapes: s.map(\.shape), teacherShapes: t.map(\.shape))
        let r = backpropagate(loss, student: s, teacher: t)
        XCTAssertEqual(r.value, try fx.number("sp.loss"), accuracy: 1e-5)
        assertClose(r.student[0], try fx.tensor("sp.grad_s0"), "sp ∂/∂s0")
        assertClose(r.student[1], try fx.tensor("sp.grad_s1"), "sp ∂/∂s1")
    }

    func testSimilarityPreservingGradients() throws {
        let loss = try SimilarityPreservingLoss(studentTaps: [FeatureTap(path: "x")], teacherTaps: [FeatureTap(path: "y")])
        let s = seeded([3, 2, 2], seed: 1), t = seeded([3, 5], seed: 2)
        checkLossGradients(loss, student: [s], teacher: [t], eps: 3e-3, "sp")
    }

    func testSimilarityPreservingRefusesBatchMismatchNamingBoth() throws {
        let loss = try MethodRegistry.make("sp", options: ["student": "layer3", "teacher": "layer2.1"])
        XCTAssertThrowsError(try loss.prepare(studentShapes: [[8, 16, 4, 4]], teacherShapes: [[4, 32, 4, 4]])) { e in
            let m = "\(e)"
            for part in ["layer3:output", "[8, 16, 4, 4]", "layer2.1:output", "[4, 32, 4, 4]", "batch sizes 8 and 4"] {
                XCTAssertTrue(m.contains(part), "'\(part)' not in: \(m)")
            }
        }
        XCTAssertThrowsError(try MethodRegistry.make("sp", options: ["student": "a,b", "teacher": "c"])) { e in
            XCTAssertTrue("\(e)".contains("one teacher tap per student tap"), "\(e)")
        }
    }

    func testTapOptionsAreRequiredAndParsed() throws {
        for method in ["sp", "rkd", "cc", "crd", "mi", "nd"] {
            XCTAssertThrowsError(try MethodRegistry.make(method, options: ["teacher": "fc:input"])) { e in
                XCTAssertTrue("\(e)".contains("option 'student' is required"), "\(method): \(e)")
            }
            XCTAssertThrowsError(try MethodRegistry.make(method, options: ["student": "fc:input"])) { e in
                XCTAssertTrue("\(e)".contains("option 'teacher' is required"), "\(method): \(e)")
            }
        }
        let l = try MethodRegistry.make("rkd", options: ["student": "fc:input", "teacher": "avgpool"])
        XCTAssertEqual(l.studentTaps, [FeatureTap(path: "fc", point: .input)])
        XCTAssertEqual(l.teacherTaps, [FeatureTap(path: "avgpool", point: .output)])
        XCTAssertThrowsError(try MethodRegistry.make("rkd", options: ["student": "fc:middle", "teacher": "x"])) { e in
            XCTAssertTrue("\(e)".contains("'fc:middle'"), "\(e)")
        }
        XCTAssertThrowsError(try MethodRegistry.make("rkd", options: ["student": "a,b", "teacher": "x"])) { e in
            XCTAssertTrue("\(e)".contains("exactly one feature"), "\(e)")
        }
        XCTAssertThrowsError(try MethodRegistry.make("rkd", options: ["student": "a", "teacher": "x", "temperature": "4"])) { e in
            XCTAssertTrue("\(e)".contains("'temperature' is not an option"), "\(e)")
        }
        XCTAssertEqual(Set(MethodRegistry.relation.map(\.name)), ["sp", "rkd", "cc", "crd", "mi", "nd"])
    }

    // MARK: rkd

    func testRKDMatchesPyTorch() throws {
        let loss = try MethodRegistry.make("rkd", options: ["student": "s", "teacher": "t"])
        let s = try fx.tensor("rkd.s"), t = try fx.tensor("rkd.t")
        try loss.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
        let r = backpropagate(loss, student: [s], teacher: [t])
        XCTAssertEqual(r.value, try fx.number("rkd.loss"), accuracy: 1e-4)
        assertClose(r.student[0], try fx.tensor("rkd.grad_s"), rtol: 1e-3, atol: 1e-4, "rkd ∂/∂s")
        let d = RelationalKDLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), distanceWeight: 1, angleWeight: 0)
        XCTAssertEqual(d.loss(featureBatch([s], [t])).item, try fx.number("rkd.distance"), accuracy: 1e-5)
        let a = RelationalKDLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), distanceWeight: 0, angleWeight: 1)
        XCTAssertEqual(a.loss(featureBatch([s], [t])).item, try fx.number("rkd.angle"), accuracy: 1e-5)
    }

    func testRKDGradients() {
        let loss = RelationalKDLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), distanceWeight: 1, angleWeight: 2)
        let s = seeded([4, 3], seed: 3), t = seeded([4, 2], -2, 2, seed: 4)
        checkLossGradients(loss, student: [s], teacher: [t], eps: 2e-3, atol: 3e-3, "rkd")
    }

    func testRKDOnOneExampleIsZero() {
        let loss = RelationalKDLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"))
        let s = seeded([1, 3], seed: 5).requiringGradient()
        let l = loss.loss(featureBatch([s], [seeded([1, 2], seed: 6)]))
        XCTAssertEqual(l.item, 0)
        l.backward()
        XCTAssertEqual(s.gradient?.scalars ?? [0, 0, 0], [0, 0, 0])
    }

    // MARK: cc

    func testCorrelationCongruenceMatchesPyTorch() throws {
        for kernel in ["gaussian", "repdistiller"] {
            let key = "cc_" + kernel
            let loss = try MethodRegistry.make("cc", options: ["student": "s", "teacher": "t", "kernel": kernel, "feat_dim": "3"])
            let s = try fx.tensor(key + ".s"), t = try fx.tensor(key + ".t")
            try loss.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
            try loss.adapters!.loadStateDict(try fx.tensorDict(key + ".state"))
            let r = backpropagate(loss, student: [s], teacher: [t])
            XCTAssertEqual(r.value, try fx.number(key + ".loss"), accuracy: 1e-5 * max(1, r.value), kernel)
            assertClose(r.student[0], try fx.tensor(key + ".grad_s"), rtol: 1e-3, atol: 1e-5, "\(kernel) ∂/∂s")
            for (name, g) in try fx.tensorDict(key + ".grads") {
                assertClose(r.params[name] ?? Tensor.zeros(g.shape), g, rtol: 1e-3, atol: 1e-5, "\(kernel) ∂/∂\(name)")
            }
        }
    }

    func testCorrelationCongruenceGradients() throws {
        for kernel in CorrelationCongruenceLoss.Kernel.allCases {
            let loss = CorrelationCongruenceLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), kernel: kernel, featureDim: 2, seed: 3)
            let s = seeded([3, 2, 2], seed: 7), t = seeded([3, 3], seed: 8)
            try loss.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
            XCTAssertEqual(loss.adapters?.namedParameters().map(\.path), ["embed_s.weight", "embed_s.bias", "embed_t.weight", "embed_t.bias"])
            checkLossGradients(loss, student: [s], teacher: [t], eps: 3e-3, "cc \(kernel)")
        }
    }

    func testCorrelationCongruenceRefusesBadKernel() {
        XCTAssertThrowsError(try MethodRegistry.make("cc", options: ["student": "s", "teacher": "t", "kernel": "polynomial"])) { e in
            XCTAssertTrue("\(e)".contains("gaussian, repdistiller"), "\(e)")
        }
    }
}
