import XCTest
import DistillCore
import DistillNN
@testable import DistillData
@testable import Distill

/// With mixup, teacher and student see the same blended images and the objective is blended
/// like the labels: λ·L(y) + (1 − λ)·L(y_partner).
final class MixupDistillationTests: XCTestCase {
    func session(_ methods: [MethodSpec]) throws -> (DistillationSession, Module, Module) {
        var g = SeededGenerator(seed: 3)
        let teacherNet = Linear(4, 3, using: &g), student = Linear(4, 3, using: &g)
        let s = try DistillationSession(student: student, teacher: ModelTeacher(teacherNet, classCount: 3), methods: methods,
                                        probe: seeded([2, 4], seed: 1), datasetSize: 6)
        return (s, student, teacherNet)
    }

    func testTheObjectiveIsBlendedLikeTheLabels() throws {
        let (s, student, teacher) = try session([MethodSpec(name: "ce"), MethodSpec(name: "kd", weight: 0.5, options: ["temperature": "2"])])
        let x = seeded([6, 4], seed: 2), y = IntTensor([0, 1, 2, 0, 1, 2]), partners = [3, 4, 5, 0, 1, 2]
        let mix = Mixing(lambda: 0.3, partners: partners, partnerLabels: IntTensor(partners.map { y.scalars[$0] }))
        let mixed = try s.loss(Batch(images: x, labels: y, indices: Array(0..<6), mixing: mix)).loss.item
        let (zs, zt) = withoutGradients { (student(x), teacher(x)) }
        let kd = HintonLoss(temperature: 2, alpha: 1, name: "kd").loss(DistillationBatch(studentLogits: zs, teacherLogits: zt, labels: y)).item
        let expected = 0.3 * crossEntropy(logits: zs, labels: y).item + 0.7 * crossEntropy(logits: zs, labels: mix.partnerLabels).item + 0.5 * kd
        XCTAssertEqual(mixed, expected, accuracy: 1e-5)
        let plain = try s.loss(Batch(images: x, labels: y, indices: Array(0..<6))).loss.item
        XCTAssertEqual(plain, crossEntropy(logits: zs, labels: y).item + 0.5 * kd, accuracy: 1e-5)
    }

    func testMixupIsRefusedWithAMemoryBank() throws {
        var g = SeededGenerator(seed: 4)
        let student = Sequential(Linear(4, 5, using: &g), ReLU(), Linear(5, 3, using: &g))
        let teacher = Sequential(Linear(4, 6, using: &g), ReLU(), Linear(6, 3, using: &g))
        let s = try DistillationSession(student: student, teacher: ModelTeacher(teacher, classCount: 3),
                                        methods: [MethodSpec(name: "ce"),
                                                  MethodSpec(name: "crd", options: ["student": "1", "teacher": "1", "feat_dim": "4", "nce_k": "3"])],
                                        probe: seeded([2, 4], seed: 1), datasetSize: 6)
        let x = seeded([6, 4], seed: 2), y = IntTensor([0, 1, 2, 0, 1, 2])
        XCTAssertNoThrow(try s.loss(Batch(images: x, labels: y, indices: Array(0..<6))))
        let mix = Mixing(lambda: 0.5, partners: [1, 0, 3, 2, 5, 4], partnerLabels: IntTensor([1, 0, 0, 2, 2, 1]))
        XCTAssertThrowsError(try s.loss(Batch(images: x, labels: y, indices: Array(0..<6), mixing: mix))) { e in
            XCTAssertTrue("\(e)".contains("mixup") && "\(e)".contains("crd"), "\(e)")
        }
    }
}
