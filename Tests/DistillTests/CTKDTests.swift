import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// CTKD against PyTorch (Fixtures/make_new_methods_fixtures.py: loss, student and temperature
/// gradients through the reversal, the cosine curriculum), a finite-difference check, and a toy run.
final class CTKDTests: XCTestCase {
    let fx = NewMethodsGoldenTests.fx

    func ctkd(_ o: [String: String] = [:]) throws -> CurriculumTemperatureKDLoss {
        try XCTUnwrap(try MethodRegistry.make("ctkd", options: o) as? CurriculumTemperatureKDLoss)
    }

    func testCurriculumMatchesTheReference() throws {
        let loss = try ctkd()
        let expected = try fx.value("ctkd.curriculum") as! [Double]
        for (e, v) in expected.enumerated() { XCTAssertEqual(Double(loss.lambda(referenceEpoch: e)), v, accuracy: 1e-6, "epoch \(e)") }
        XCTAssertEqual(loss.lambda(referenceEpoch: 1), -0.0244717, accuracy: 1e-6)
        XCTAssertEqual(loss.lambda(referenceEpoch: 40), -1)
    }

    /// Cases at λ = 1 (no reversal), at the reference's epoch 3 and 12 (our epochs 2 and 11).
    func testLossAndGradientsMatchTorch() throws {
        let zs = try fx.tensor("ctkd.student"), zt = try fx.tensor("ctkd.teacher"), theta = try fx.tensor("ctkd.theta")
        for (key, options, epoch) in [("lambda_1", ["lambda_max": "1", "lambda_min": "1"], 0), ("epoch_3", [:], 2), ("epoch_12", [:], 11)] as [(String, [String: String], Int)] {
            let loss = try ctkd(options)
            loss.temperatureModule.globalT.value = theta
            let s = Parameter(zs).value
            let l = loss.loss(DistillationBatch(studentLogits: s, teacherLogits: zt, labels: IntTensor([0, 1, 2, 3, 0]), epoch: epoch))
            XCTAssertEqual(Double(l.item), try fx.double("ctkd.cases.\(key).loss"), accuracy: 1e-4, key)
            XCTAssertEqual(Double(loss.lastTemperature!), try fx.double("ctkd.cases.\(key).tau"), accuracy: 1e-5, key)
            let g = gradients(of: l, wrt: [s, loss.temperatureModule.globalT.value])
            assertClose(g[0], try fx.tensor("ctkd.cases.\(key).grad_student"), "\(key) student gradient")
            XCTAssertEqual(Double(g[1].scalars[0]), try fx.double("ctkd.cases.\(key).grad_theta"), accuracy: 1e-4, "\(key) θ gradient")
        }
    }

    /// With λ = 1 the tape's gradients are the true ones: finite differences over the student
    /// logits and θ (the adapter parameter).
    func testFiniteDifferenceCheckWithoutReversal() throws {
        let loss = try ctkd(["lambda_max": "1", "lambda_min": "1"])
        let s = seeded([4, 3], -2, 2, seed: 31), t = seeded([4, 3], -2, 2, seed: 32)
        let failures = GradientCheck.firstOrder([s, loss.temperatureModule.globalT.value.detached()], eps: 1e-2, atol: 2e-3, rtol: 2e-2) { xs in
            loss.temperatureModule.globalT.value = xs[1]
            defer { loss.temperatureModule.globalT.value = xs[1].detached() }
            return loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: t, labels: IntTensor([0, 1, 2, 0])))
        }
        XCTAssertTrue(failures.isEmpty, "\(failures)")
    }

    func testBadOptionsAreRefused() {
        for (o, key) in [(["t_start": "0"], "t_start"), (["t_end": "-1"], "t_end"), (["lambda_max": "2"], "lambda_max"),
                         (["lambda_min": "0.5"], "lambda_min"), (["decay_loops": "0"], "decay_loops")] {
            XCTAssertThrowsError(try MethodRegistry.make("ctkd", options: o)) { e in XCTAssertTrue("\(e)".contains(key), "\(e)") }
        }
    }

    /// ce + ctkd on the linear toy over 20 "epochs" of 15 steps: the student learns the teacher,
    /// the temperature stays finite inside (t_start, t_start + t_end), and θ moved.
    func testToyConvergesWithAdversarialTemperature() throws {
        let toy = KDConvergenceTests.Toy()
        let ce = try MethodRegistry.make("ce"), loss = try ctkd()
        let before = toy.agreement
        for epoch in 0..<20 {
            for _ in 0..<15 {
                var b = toy.batch(); b.epoch = epoch
                (ce.loss(b) * 0.1 + loss.loss(b) * 0.9).backward()
                for p in [toy.w, toy.b, loss.temperatureModule.globalT] { p.value = p.value.detached() - p.gradient! * 0.5 }
            }
        }
        let tau = try XCTUnwrap(loss.lastTemperature)
        XCTAssertTrue(tau.isFinite && tau > 1 && tau < 21, "τ \(tau)")
        XCTAssertNotEqual(loss.temperatureModule.globalT.value.scalars[0], 1)
        XCTAssertGreaterThan(toy.agreement, 0.9, "agreement \(before) → \(toy.agreement)")
    }
}
