import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// The data-free loss terms against PyTorch: Fixtures/make_datafree_fixtures.py, written from the
/// NVlabs DeepInversion and huawei-noah DAFL formulas. Values and input gradients.
final class DataFreeLossGoldenTests: XCTestCase {
    let fixture = Result { try JSONFixture(named: "datafree_fixtures") }

    /// Compares `f` on the fixture's inputs with its loss and gradients (gradient of input k
    /// checked for k in `gradOf`).
    func golden(_ key: String, gradOf: [Int]? = nil, rtol: Float = 1e-4, _ f: ([Tensor]) -> Tensor,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try fixture.get().scoped(key)
        let inputs = try c.tensors("inputs").map { $0.requiringGradient() }
        let grads = try c.tensors("grads")
        let expected = try c.number("loss")
        let l = f(inputs)
        XCTAssertEqual(l.item, expected, accuracy: abs(expected) * rtol + 1e-6, "\(key): loss", file: file, line: line)
        l.backward()
        for k in gradOf ?? Array(inputs.indices) {
            let g = try XCTUnwrap(inputs[k].gradient, "\(key): no gradient for input \(k)", file: file, line: line)
            XCTAssertEqual(g.shape, grads[k].shape, file: file, line: line)
            for (a, b) in zip(g.scalars, grads[k].scalars) {
                XCTAssertEqual(a, b, accuracy: abs(b) * 1e-3 + 1e-5, "\(key): gradient of input \(k)", file: file, line: line)
            }
        }
    }

    func testRFeatureThroughAFrozenBatchNormTeacher() throws {
        let c = try fixture.get().scoped("r_feature")
        let bn = BatchNorm2d(3)
        bn.runningMean.value = try c.tensor("running_mean")
        bn.runningVar.value = try c.tensor("running_var")
        let teacher = try FrozenTeacher(bn, spec: "bn", classCount: 3)
        XCTAssertEqual(teacher.batchNormPaths, [""])
        try golden("r_feature") { DataFreeLoss.bnStatistics(teacher($0[0]).batchNorm) }
        XCTAssertNil(bn.weight?.gradient, "the frozen teacher's parameters accumulate no gradient")
    }

    func testTotalVariationL1AndL2() throws {
        try golden("tv_l1") { DataFreeLoss.totalVariation($0[0]).l1 }
        try golden("tv_l2") { DataFreeLoss.totalVariation($0[0]).l2 }
    }

    func testL2Prior() throws {
        try golden("l2_prior") { DataFreeLoss.l2Prior($0[0]) }
    }

    func testAdaptiveDeepInversionCompetitionBothForms() throws {
        try golden("adi_js") { DataFreeLoss.competition(studentLogits: $0[0], teacherLogits: $0[1]) }
        try golden("adi_js_paper") { DataFreeLoss.competition(studentLogits: $0[0], teacherLogits: $0[1], paperForm: true) }
    }

    func testDAFLLosses() throws {
        try golden("dafl_one_hot") { DataFreeLoss.daflOneHot($0[0]) }
        try golden("dafl_information_entropy") { DataFreeLoss.daflInformationEntropy($0[0]) }
        try golden("dafl_activation") { DataFreeLoss.daflActivation($0[0]) }
        try golden("dafl_kd", gradOf: [0]) { DataFreeLoss.daflKD(studentLogits: $0[0], teacherLogits: $0[1]) }
    }

    func testAMissingKeyFails() throws {
        XCTAssertThrowsError(try fixture.get().scoped("no_such_case"))
    }
}
