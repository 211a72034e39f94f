import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// A loss that returns a fixed multiple of the student logits' sum, for objective tests.
final class ScaledSumLoss: DistillationLoss {
    let name = "scaled-sum"
    let scale: Float
    init(_ scale: Float) { self.scale = scale }
    func loss(_ batch: DistillationBatch) -> Tensor { batch.studentLogits.sum() * scale }
}

final class ObjectiveTests: XCTestCase {
    func testWeightedSumOfTerms() throws {
        let obj = try Objective([("a", 2, ScaledSumLoss(1)), ("b", 0.5, ScaledSumLoss(3)), ("off", 0, ScaledSumLoss(100))])
        let s = Tensor(shape: [1, 2], scalars: [1, 2]).requiringGradient()
        let batch = DistillationBatch(studentLogits: s, teacherLogits: Tensor.zeros([1, 2]), labels: IntTensor([0]))
        let l = obj(batch)
        XCTAssertEqual(l.item, 2 * 3 + 0.5 * 9, accuracy: 1e-5)
        XCTAssertEqual(obj.lastValues.map(\.name), ["a", "b"])
        l.backward()
        XCTAssertEqual(s.gradient!.scalars, [3.5, 3.5])
    }

    func testInvalidObjectivesAreRefused() {
        XCTAssertThrowsError(try Objective([])) { XCTAssertTrue("\($0)".contains("no terms")) }
        XCTAssertThrowsError(try Objective([("a", 1, ScaledSumLoss(1)), ("a", 1, ScaledSumLoss(1))])) { XCTAssertTrue("\($0)".contains("'a' appears twice")) }
        XCTAssertThrowsError(try Objective([("a", -1, ScaledSumLoss(1))])) { XCTAssertTrue("\($0)".contains("weight -1")) }
        XCTAssertThrowsError(try Objective([("a", .nan, ScaledSumLoss(1))]))
    }

    func testUnknownMethodListsKnownOnes() {
        XCTAssertThrowsError(try MethodRegistry.make("no-such-method")) { e in
            XCTAssertTrue("\(e)".contains("unknown distillation method 'no-such-method'"), "\(e)")
        }
    }
}
