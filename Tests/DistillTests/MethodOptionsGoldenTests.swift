import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// The faithful-adapter and paper-or-code options and the newer logit methods against PyTorch
/// (Fixtures/make_methods_fixtures.py), with finite-difference checks of each new form.
final class MethodOptionsGoldenTests: XCTestCase {
    let fx = JSONFixture.methods

    // MARK: FitNets regressors

    func testFitNetRepDistillerRegressorForEverySpatialRatio() throws {
        for key in ["fitnet_rd_same", "fitnet_rd_down", "fitnet_rd_up", "fitnet_rd_kernel"] {
            let loss = try assertFeatureGolden(fx, key, "fitnet", ["student": "a", "teacher": "b"])
            let names = Set((loss.adapters?.namedParameters() ?? []).map(\.path))
            XCTAssertEqual(names, ["0.conv.weight", "0.conv.bias", "0.bn.weight", "0.bn.bias"], key)
        }
        let up = try preparedMethod("fitnet", ["student": "a", "teacher": "b"], student: [[2, 3, 2, 2]], teacher: [[2, 4, 4, 4]])
        XCTAssertTrue((up as? FitNetLoss)?.regressors?[0].children.contains { $0.module is ConvTranspose2d } == true)
    }

    func testFitNetWithoutRegressorWhenChannelsMatch() throws {
        let loss = try assertFeatureGolden(fx, "fitnet_none", "fitnet", ["student": "a", "teacher": "b", "regressor": "none"])
        XCTAssertNil(loss.adapters)
        XCTAssertTrue((loss as? FitNetLoss)?.preTrainingStages().first?.modules.isEmpty == true)
    }

    func testFitNetRegressorRefusals() throws {
        func refuses(_ o: [String: String], _ s: [Int], _ t: [Int], _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try preparedMethod("fitnet", o.merging(["student": "a", "teacher": "b"]) { x, _ in x }, student: [s], teacher: [t]),
                                 line: line) { e in
                guard case .incompatibleShapes? = e as? DistillationError else { return XCTFail("\(e)", line: line) }
                XCTAssertTrue("\(e)".contains(text), "\(e)", line: line)
            }
        }
        refuses(["regressor": "none"], [2, 3, 4, 4], [2, 4, 4, 4], "regressor=none needs equal channels (3 vs 4)")
        refuses([:], [2, 3, 3, 3], [2, 4, 8, 8], "bridges a student map of the teacher's height or larger, twice it or half it, not 3 → 8")
        refuses([:], [2, 3, 8, 4], [2, 4, 4, 4], "not the teacher's shape")
    }

    func testFitNetRepDistillerGradients() throws {
        for (s, t) in [([2, 2, 4, 4], [2, 3, 2, 2]), ([2, 2, 2, 2], [2, 3, 4, 4])] {
            let loss = try preparedMethod("fitnet", ["student": "a", "teacher": "b"], student: [s], teacher: [t])
            // a small step: the ReLU after the batch norm has kinks (the gradients also match PyTorch's above)
            checkLossGradients(loss, student: [seeded(s, seed: 11)], teacher: [seeded(t, seed: 12)], scale: 10, eps: 1e-3, atol: 5e-3,
                               "fitnet repdistiller \(s) → \(t)")
        }
    }

    // MARK: Attention transfer (paper) and factor transfer (RepDistiller's factor)

    func testAttentionTransferPaperForm() throws {
        try assertFeatureGolden(fx, "at_paper", "at", ["student": "a,b", "teacher": "c,d", "mode": "paper"])
        let loss = try preparedMethod("at", ["student": "a,b", "teacher": "c,d", "mode": "paper"], student: [[2, 2, 4, 4], [2, 2, 2, 2]],
                                      teacher: [[2, 3, 2, 2], [2, 2, 2, 2]])
        checkLossGradients(loss, student: [seeded([2, 2, 4, 4], seed: 21), seeded([2, 2, 2, 2], seed: 22)],
                           teacher: [seeded([2, 3, 2, 2], seed: 23), seeded([2, 2, 2, 2], seed: 24)], scale: 10, "at paper")
    }

    func testFactorTransferWithRepDistillersFactor() throws {
        let c = try fx.scoped("cases.ft_repdistiller")
        let student = try c.tensors("student"), teacher = try c.tensors("teacher")
        let ft = try XCTUnwrap(try preparedMethod("ft", ["student": "a", "teacher": "b", "factor": "repdistiller"], student: student.map(\.shape),
                                                  teacher: teacher.map(\.shape)) as? FactorTransferLoss)
        try XCTUnwrap(ft.paraphraser).loadStateDict(try c.tensorDict("paraphraser"))
        try ft.adapters!.loadStateDict(try c.tensorDict("state"))
        let leaf = student[0].requiringGradient()
        let l = ft.loss(featureBatch([leaf], teacher))
        l.backward()
        let expected = try c.number("loss")
        XCTAssertEqual(l.item, expected, accuracy: abs(expected) * 1e-4 + 1e-6, "ft repdistiller: loss")
        assertClose(leaf.gradient, try c.tensors("grad_student")[0], rtol: 1e-3, atol: 1e-6, "ft repdistiller: d loss / d student")
        let grads = try c.tensorDict("grad_state")
        for (path, p) in ft.adapters!.namedParameters() {
            assertClose(p.gradient, try XCTUnwrap(grads[path], path), rtol: 1e-3, atol: 1e-6, "ft repdistiller: d loss / d \(path)")
        }
    }

    // MARK: Correlation congruence without embedding heads

    func testCorrelationCongruenceWithoutEmbeddings() throws {
        let g = try assertFeatureGolden(fx, "cc_none_gaussian", "cc", ["student": "a", "teacher": "b", "embed": "none"])
        XCTAssertNil(g.adapters)
        try assertFeatureGolden(fx, "cc_none_repdistiller", "cc", ["student": "a", "teacher": "b", "embed": "none", "kernel": "repdistiller"])
        XCTAssertThrowsError(try preparedMethod("cc", ["student": "a", "teacher": "b", "embed": "none", "kernel": "repdistiller"],
                                                student: [[4, 5]], teacher: [[4, 6]])) { XCTAssertTrue("\($0)".contains("needs features of equal size"), "\($0)") }
        XCTAssertThrowsError(try MethodRegistry.make("cc", options: ["student": "a", "teacher": "b", "embed": "none", "feat_dim": "64"])) {
            XCTAssertTrue("\($0)".contains("'feat_dim' is not an option"), "\($0)")
        }
        let loss = try preparedMethod("cc", ["student": "a", "teacher": "b", "embed": "none"], student: [[4, 6]], teacher: [[4, 3]])
        checkLossGradients(loss, student: [seeded([4, 6], seed: 31)], teacher: [seeded([4, 3], seed: 32)], scale: 100, "cc embed=none")
    }

    // MARK: Logit options and DIST

    /// Value and gradient against `response.KEY`, then central differences of the same loss.
    func response(_ key: String, _ method: String, _ options: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let loss = try MethodRegistry.make(method, options: options)
        let x = try fx.tensor("logits.student"), t = try fx.tensor("logits.teacher"), y = IntTensor(try fx.ints("logits.labels"))
        let s = x.requiringGradient()
        let v = loss.loss(DistillationBatch(studentLogits: s, teacherLogits: t, labels: y))
        let expected = try fx.double("response.\(key).value")
        XCTAssertEqual(Double(v.item), expected, accuracy: 1e-5 * abs(expected) + 1e-6, key, file: file, line: line)
        v.backward()
        assertClose(s.gradient!, try fx.tensor("response.\(key).grad"), atol: 1e-6, "\(key) gradient", file: file, line: line)
        let failures = GradientCheck.firstOrder([x], eps: 1e-2) { xs in
            loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: t, labels: y)) * 10
        }
        XCTAssertTrue(failures.isEmpty, "\(key) finite differences: \(failures.prefix(3))", file: file, line: line)
    }

    func testHintonWithoutTheT2Factor() throws {
        try response("hinton_T4_a0.9_not2", "hinton", ["t2": "false"])
        try response("kd_T4_not2", "kd", ["t2": "false"])
    }

    func testLogitStandardisation() throws {
        try response("hinton_T2_a0.9_std", "hinton", ["standardize": "true", "temperature": "2"])
        try response("kd_T4_std", "kd", ["standardize": "true"])
        try response("dkd_a1_b8_T4_std", "dkd", ["standardize": "true"])
        try response("dist_b1_g1_T1_std", "dist", ["standardize": "true"])
        // z-scored rows: mean 0, unbiased std 1 (up to ε), invariant to a row's shift and scale
        let z = try fx.tensor("logits.student")
        let a = ResponseTerms.standardized(z), b = ResponseTerms.standardized(z * 3 + 2)
        assertClose(a, b, atol: 1e-5, "standardisation is shift- and scale-invariant")
        assertClose(a.mean(alongAxis: 1), Tensor.zeros([z.shape[0]]), atol: 1e-6, "row means")
        assertClose((a * a).sum(alongAxis: 1) / Float(z.shape[1] - 1), Tensor.ones([z.shape[0]]), atol: 1e-5, "row variances")
    }

    func testDIST() throws {
        try response("dist_b1_g1_T1", "dist")
        try response("dist_b2_g2_T4", "dist", ["beta": "2", "gamma": "2", "temperature": "4"])
        // identical logits: both correlations are 1, the loss 0
        let z = try fx.tensor("logits.teacher")
        XCTAssertEqual(DISTLoss().loss(DistillationBatch(studentLogits: z, teacherLogits: z, labels: IntTensor([]))).item, 0, accuracy: 1e-5)
    }
}
