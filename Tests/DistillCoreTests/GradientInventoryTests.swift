import XCTest
import DistillCore

enum GradCases {
    /// Every inventory array, one per op family.
    static var all: [GradCase] { math + shape + select + nn + sampling }
}

/// Iterates the op inventory: every `OpName` must have at least one finite-difference case,
/// checked at first and (unless marked) second order.
final class GradientInventoryTests: XCTestCase {
    func testEveryOpHasAGradientCheck() {
        let covered = Set(GradCases.all.map(\.op))
        for op in OpName.allCases where !covered.contains(op) {
            XCTFail("op \(op.rawValue) has no finite-difference gradient check in GradCases")
        }
    }

    func testFirstOrderGradients() {
        for c in GradCases.all {
            let failures = GradientCheck.firstOrder(c.inputs, c.f)
            XCTAssertTrue(failures.isEmpty, "\(c.name): \(failures.prefix(5))")
        }
    }

    func testSecondOrderGradients() {
        for c in GradCases.all where c.secondOrder {
            let failures = GradientCheck.secondOrder(c.inputs, c.f)
            XCTAssertTrue(failures.isEmpty, "\(c.name) (second order): \(failures.prefix(5))")
        }
    }
}
