import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// Toy teacher → student: a linear student trained with `hinton` by plain SGD matches a fixed
/// random linear teacher on random 8-dimensional inputs with 4 classes.
final class KDConvergenceTests: XCTestCase {
    func testLinearStudentLearnsLinearTeacherWithHinton() throws {
        var g = SeededGenerator(seed: 42)
        let n = 128, d = 8, c = 4
        let x = Tensor.normal([n, d], using: &g)
        let wt = Tensor.normal([d, c], std: 2, using: &g), bt = Tensor.normal([c], std: 0.5, using: &g)
        let teacher = withoutGradients { x.matmul(wt) + bt }
        let labels = teacher.argmax(alongAxis: 1)
        let w = Parameter(Tensor.normal([d, c], std: 0.1, using: &g)), b = Parameter(Tensor.zeros([c]))
        let loss = try MethodRegistry.make("hinton")   // T = 4, α = 0.9
        let kd = try MethodRegistry.make("kd")
        func student() -> Tensor { x.matmul(w.value) + b.value }
        let kd0 = kd.loss(DistillationBatch(studentLogits: student(), teacherLogits: teacher, labels: labels)).item
        let agreement0 = Metrics.agreement(teacher, student())
        let lr: Float = 0.5
        for _ in 0..<100 {
            let l = loss.loss(DistillationBatch(studentLogits: student(), teacherLogits: teacher, labels: labels))
            l.backward()
            for p in [w, b] {
                let step = p.value.detached() - p.gradient! * lr
                p.value = step
            }
        }
        let s = student()
        let kd1 = kd.loss(DistillationBatch(studentLogits: s, teacherLogits: teacher, labels: labels)).item
        let agreement1 = Metrics.agreement(teacher, s)
        XCTAssertLessThan(kd1, 0.2 * kd0, "KD soft term \(kd0) → \(kd1)")
        XCTAssertGreaterThan(agreement1, 0.9, "agreement \(agreement0) → \(agreement1)")
        XCTAssertGreaterThan(agreement1, agreement0)
    }
}
