import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// DAFL's generator and iteration, and the mode-collapse guard.
final class DAFLTests: XCTestCase {
    func testGeneratorShapesAndNearestUpsampling() {
        let g = DAFLGenerator(latent: 8, channels: 1, imageSize: 28, seed: 1)
        var r = SeededGenerator(seed: 2)
        XCTAssertEqual(g(Tensor.normal([3, 8], using: &r)).shape, [3, 1, 28, 28])
        let x = Tensor(shape: [1, 1, 1, 2], scalars: [1, 2])
        XCTAssertEqual(DAFLGenerator.upsample2(x).scalars, [1, 1, 2, 2, 1, 1, 2, 2])
        XCTAssertTrue(GradientCheck.firstOrder([Tensor.normal([1, 2, 2, 3], using: &r)]) { DAFLGenerator.upsample2($0[0]) }.isEmpty)
    }

    func testOneIterationTrainsGeneratorAndStudentButNotTheTeacher() throws {
        let teacherNet = try ModelZoo.make("lenet5", seed: 3)
        let teacher = try FrozenTeacher(teacherNet, spec: "lenet5", classCount: 10)
        let student = try ModelZoo.make("lenet5:half=true", seed: 4)
        var s = DAFLSettings(); s.batchSize = 16; s.latent = 8
        let gen = DAFLGenerator(latent: 8, seed: 5)
        let trainer = try DAFLTrainer(generator: gen, student: student, teacher: teacher, settings: s, seed: 6)
        let before = gen.l1.weight.value.scalars, sBefore = student.parameters[0].value.scalars
        let step = trainer.step()
        for v in [step.oneHot, step.informationEntropy, step.activation, step.kd] { XCTAssertTrue(v.isFinite) }
        XCTAssertLessThanOrEqual(step.informationEntropy, 0)   // negative entropy
        XCTAssertNotEqual(gen.l1.weight.value.scalars, before)
        XCTAssertNotEqual(student.parameters[0].value.scalars, sBefore)
        for (path, p) in teacherNet.namedParameters() { XCTAssertNil(p.gradient, "\(path)") }
        XCTAssertEqual(trainer.sample(5).shape, [5, 1, 28, 28])
    }

    func testDiversityFlagsIdenticalImagesAndOneClassAsCollapse() {
        var r = SeededGenerator(seed: 1)
        let one = Tensor.normal([1, 1, 4, 4], using: &r)
        let same = Tensor.concatenated(Array(repeating: one, count: 8), alongAxis: 0)
        let logits = Tensor.normal([8, 10], using: &r)
        let d = BatchDiversity.measure(images: same, teacherLogits: logits)
        XCTAssertEqual(d.meanPairwiseDistance, 0, accuracy: 1e-6)
        XCTAssertTrue(d.collapsed(pixels: 16))
        let varied = BatchDiversity.measure(images: Tensor.normal([8, 1, 4, 4], using: &r), teacherLogits: Tensor(shape: [8, 10], scalars: (0..<80).map { $0 % 11 == 0 ? 5 : 0 }))
        XCTAssertEqual(varied.classesPresent, 8)
        XCTAssertEqual(varied.predictedClassEntropy, Float(log(8.0)), accuracy: 1e-5)
        XCTAssertFalse(varied.collapsed(pixels: 16))
    }
}
