import XCTest
import DistillCore

/// The gradient checker has teeth: ops recorded with deliberately wrong pullbacks are caught.
final class GradientCheckerTests: XCTestCase {
    /// x², recorded with the pullback g·3x instead of g·2x (wrong first derivative).
    static func squareWrongFirst(_ x: Tensor) -> Tensor {
        let r = x.detached() * x.detached()
        return Tensor.record(.pow, result: r, inputs: [x]) { g, _ in [g * x * 3] }
    }

    /// x³ with the right first derivative, 3x²·g, but computed on detached values, so the
    /// pullback is a constant on the tape and its own derivative (6x·g) is lost: correct at
    /// first order, wrong at second. This is the typical bug the second-order check exists for.
    static func cubeConstantPullback(_ x: Tensor) -> Tensor {
        let r = x.detached().pow(3)
        return Tensor.record(.pow, result: r, inputs: [x]) { g, _ in [g * (x.detached() * x.detached() * 3)] }
    }

    /// x³ whose pullback is recorded as its own op with a wrong derivative of its own: the
    /// value 3x²·g is right, but differentiating it with respect to x gives 9x·g, not 6x·g.
    static func cubeWrongSecond(_ x: Tensor) -> Tensor {
        let r = x.detached().pow(3)
        return Tensor.record(.pow, result: r, inputs: [x]) { g, _ in
            let v = g.detached() * x.detached() * x.detached() * 3
            return [Tensor.record(.pow, result: v, inputs: [g, x]) { gg, _ in
                [gg * x * x * 3, gg * g * x * 9]
            }]
        }
    }

    let input = Inputs.uniform([2, 3], 0.5, 1.5, seed: 90)

    func testCorrectOpsPass() {
        XCTAssertTrue(GradientCheck.firstOrder([input]) { $0[0].pow(3) }.isEmpty)
        XCTAssertTrue(GradientCheck.secondOrder([input]) { $0[0].pow(3) }.isEmpty)
    }

    func testWrongFirstDerivativeIsCaught() {
        let first = GradientCheck.firstOrder([input]) { Self.squareWrongFirst($0[0]) }
        XCTAssertEqual(first.count, input.count, "every element's gradient is 1.5× too large")
        // the wrong pullback also makes the Hessian-vector product wrong (3 instead of 2)
        let second = GradientCheck.secondOrder([input]) { Self.squareWrongFirst($0[0]) * $0[0] }
        XCTAssertFalse(second.isEmpty)
    }

    func testPullbackOffTheTapeIsCaughtAtSecondOrder() {
        XCTAssertTrue(GradientCheck.firstOrder([input]) { Self.cubeConstantPullback($0[0]) }.isEmpty)
        let second = GradientCheck.secondOrder([input]) { Self.cubeConstantPullback($0[0]) }
        XCTAssertEqual(second.count, input.count, "\(second)")
    }

    func testWrongSecondDerivativeIsCaught() {
        XCTAssertTrue(GradientCheck.firstOrder([input]) { Self.cubeWrongSecond($0[0]) }.isEmpty)
        let second = GradientCheck.secondOrder([input]) { Self.cubeWrongSecond($0[0]) }
        XCTAssertEqual(second.count, input.count, "\(second)")
    }
}
