import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// Toy teacher → student: a linear student trained by plain SGD matches a fixed random linear
/// teacher on random 8-dimensional inputs with 4 classes.
final class KDConvergenceTests: XCTestCase {
    /// The toy: 128 inputs, the teacher's logits and top-1 labels, and the student's parameters.
    struct Toy {
        let x: Tensor, teacher: Tensor, labels: IntTensor
        let w: Parameter, b: Parameter

        init() {
            var g = SeededGenerator(seed: 42)
            let n = 128, d = 8, c = 4
            let inputs = Tensor.normal([n, d], using: &g)
            let wt = Tensor.normal([d, c], std: 2, using: &g), bt = Tensor.normal([c], std: 0.5, using: &g)
            x = inputs
            teacher = withoutGradients { inputs.matmul(wt) + bt }
            labels = teacher.argmax(alongAxis: 1)
            w = Parameter(Tensor.normal([d, c], std: 0.1, using: &g)); b = Parameter(Tensor.zeros([c]))
        }

        func student() -> Tensor { x.matmul(w.value) + b.value }
        func batch() -> DistillationBatch { DistillationBatch(studentLogits: student(), teacherLogits: teacher, labels: labels) }
        var agreement: Float { Float(Metrics.agreement(teacher, student())) }

        /// `steps` plain SGD steps on `loss` alone.
        func train(_ loss: DistillationLoss, lr: Float, steps: Int) {
            for _ in 0..<steps {
                loss.loss(batch()).backward()
                for p in [w, b] { p.value = p.value.detached() - p.gradient! * lr }
            }
        }
    }

    func testLinearStudentLearnsLinearTeacherWithHinton() throws {
        let toy = Toy()
        let kd = try MethodRegistry.make("kd")
        let kd0 = kd.loss(toy.batch()).item, agreement0 = toy.agreement
        toy.train(try MethodRegistry.make("hinton"), lr: 0.5, steps: 100)   // T = 4, α = 0.9
        let kd1 = kd.loss(toy.batch()).item, agreement1 = toy.agreement
        XCTAssertLessThan(kd1, 0.2 * kd0, "KD soft term \(kd0) → \(kd1)")
        XCTAssertGreaterThan(agreement1, 0.9, "agreement \(agreement0) → \(agreement1)")
        XCTAssertGreaterThan(agreement1, agreement0)
    }

    func testLinearStudentLearnsLinearTeacherWithDISTAndStandardisedKD() throws {
        // learning rates by a coarse look (DIST at lr 20+ with τ = 1 stalls near 0.8 agreement)
        for (m, o, lr) in [("dist", [:], Float(5)), ("dist", ["temperature": "4"], Float(2)),
                           ("kd", ["standardize": "true", "temperature": "2"], Float(2)), ("dist", ["standardize": "true"], Float(5))] as [(String, [String: String], Float)] {
            let toy = Toy()
            let before = toy.agreement
            toy.train(try MethodRegistry.make(m, options: o), lr: lr, steps: 300)
            XCTAssertGreaterThan(toy.agreement, 0.9, "\(m) \(o): agreement \(before) → \(toy.agreement)")
            XCTAssertGreaterThan(toy.agreement, before, "\(m) \(o)")
        }
    }
}
