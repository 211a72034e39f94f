import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// MLKD against PyTorch (Fixtures/make_new_methods_fixtures.py), a finite-difference check and a
/// toy run.
final class MLKDTests: XCTestCase {
    let fx = NewMethodsGoldenTests.fx

    func testBothFormsMatchTorch() throws {
        let zs = try fx.tensor("mlkd.student"), zt = try fx.tensor("mlkd.teacher")
        let masks = MultiLevelLogitLoss.maskFractions(zt)
        XCTAssertEqual(Double(masks.rows), try fx.double("mlkd.cases.code.mask_rows"), accuracy: 1e-6)
        XCTAssertEqual(Double(masks.classes), try fx.double("mlkd.cases.code.mask_classes"), accuracy: 1e-6)
        for (key, options) in [("code", [:]), ("paper", ["form": "paper"]), ("code_t2_4", ["temperatures": "2,4"])] as [(String, [String: String])] {
            let loss = try MethodRegistry.make("mlkd", options: options)
            let s = Parameter(zs).value
            let l = loss.loss(DistillationBatch(studentLogits: s, teacherLogits: zt, labels: IntTensor([0, 1, 2, 3, 4, 0])))
            XCTAssertEqual(Double(l.item), try fx.double("mlkd.cases.\(key).loss"), accuracy: 1e-3, key)
            assertClose(gradients(of: l, wrt: [s])[0], try fx.tensor("mlkd.cases.\(key).grad_student"), key)
        }
    }

    func testMedianIsNumPysAndOptionsAreChecked() throws {
        XCTAssertEqual(MultiLevelLogitLoss.median([3, 1, 2]), 2)
        XCTAssertEqual(MultiLevelLogitLoss.median([4, 1, 3, 2]), 2.5)
        for (o, key) in [(["temperatures": "4,x"], "temperatures"), (["temperatures": "0"], "temperatures"), (["form": "both"], "form")] {
            XCTAssertThrowsError(try MethodRegistry.make("mlkd", options: o)) { e in XCTAssertTrue("\(e)".contains(key), "\(e)") }
        }
    }

    func testFiniteDifferences() throws {
        let t = seeded([5, 4], -2, 2, seed: 42)
        for form in ["code", "paper"] {
            let loss = try MethodRegistry.make("mlkd", options: ["form": form, "temperatures": "1,3"])
            let failures = GradientCheck.firstOrder([seeded([5, 4], -2, 2, seed: 41)], eps: 1e-2, atol: 2e-3, rtol: 2e-2) { xs in
                loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: t, labels: IntTensor([0, 1, 2, 3, 0])))
            }
            XCTAssertTrue(failures.isEmpty, "\(form): \(failures)")
        }
    }

    /// A linear student on 32 random 8-dimensional inputs learns a fixed linear teacher (4 classes)
    /// from mlkd alone, in either form (80 plain SGD steps at 0.05; measured 0.125 → 1.0 after 200).
    func testToyLearnsTheTeacher() throws {
        for (form, lr) in [("code", Float(0.05)), ("paper", Float(0.05))] {
            var g = SeededGenerator(seed: 8)
            let x = Tensor.normal([32, 8], using: &g)
            let zt = withoutGradients { x.matmul(Tensor.normal([8, 4], std: 2, using: &g)) }
            let w = Parameter(Tensor.normal([8, 4], std: 0.1, using: &g))
            let loss = try MethodRegistry.make("mlkd", options: ["form": form])
            let before = Float(Metrics.agreement(zt, x.matmul(w.value)))
            for _ in 0..<80 {
                w.zeroGradient()
                loss.loss(DistillationBatch(studentLogits: x.matmul(w.value), teacherLogits: zt, labels: IntTensor(Array(repeating: 0, count: 32)))).backward()
                w.value = w.value.detached() - w.gradient! * lr
            }
            let after = Float(Metrics.agreement(zt, x.matmul(w.value)))
            XCTAssertGreaterThan(after, 0.9, "\(form): agreement \(before) → \(after)")
        }
    }
}
