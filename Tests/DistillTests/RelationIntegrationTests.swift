import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// Every relation method on real taps of two small CNNs: probe, prepare, loss, backward into the
/// student and the adapters; and a few Adam steps lower the MI loss with learned λ.
final class RelationIntegrationTests: XCTestCase {
    let input = ModelInput(channels: 1, height: 8, width: 8, classes: 3)

    func models() throws -> (teacher: Module, student: Module, x: Tensor) {
        let teacher = try ModelZoo.make("cnn:6x8,fc=12", input: input, seed: 1).eval()
        let student = try ModelZoo.make("cnn:3x4,fc=6", input: input, seed: 2)
        return (teacher, student, seeded([4, 1, 8, 8], seed: 3))
    }

    func batch(_ loss: DistillationLoss, _ teacher: Module, _ student: Module, _ x: Tensor) throws -> DistillationBatch {
        let (tl, tf) = try withoutGradients { try teacher.forward(x, capturing: loss.teacherTaps) }
        let (sl, sf) = try student.forward(x, capturing: loss.studentTaps)
        return DistillationBatch(studentLogits: sl, teacherLogits: tl, studentFeatures: sf, teacherFeatures: tf,
                                 labels: IntTensor([0, 1, 2, 0]), indices: [3, 0, 7, 5])
    }

    func testEveryMethodTrainsTheStudentThroughRealTaps() throws {
        let configs: [(String, [String: String])] = [
            ("sp", ["student": "conv1,conv2", "teacher": "conv1,conv2"]),
            ("rkd", ["student": "fc1", "teacher": "fc1"]),
            ("cc", ["student": "fc2:input", "teacher": "fc2:input", "feat_dim": "5"]),
            ("cc", ["student": "fc1", "teacher": "fc1", "kernel": "repdistiller", "feat_dim": "5"]),
            ("crd", ["student": "fc1", "teacher": "fc1", "feat_dim": "5", "nce_k": "6", "dataset_size": "10"]),
            ("mi", ["student": "conv1,fc1", "teacher": "conv1,conv2,fc1", "lambda": "learned"]),
            ("mi", ["student": "conv1,conv2", "teacher": "conv1,conv2", "lambda": "pairwise"]),
        ]
        for (name, options) in configs {
            let (teacher, student, x) = try models()
            let loss = try MethodRegistry.make(name, options: options)
            let probe = try batch(loss, teacher, student, x)
            try loss.prepare(studentShapes: probe.studentFeatures.map(\.shape), teacherShapes: probe.teacherFeatures.map(\.shape))
            let l = loss.loss(try batch(loss, teacher, student, x))
            XCTAssertTrue(l.item.isFinite && l.shape == [], "\(name) \(options)")
            l.backward()
            let g = try student.module(at: "conv1").parameters[0].gradient
            XCTAssertNotNil(g, "\(name): no gradient reached the student")
            XCTAssertTrue(g!.scalars.allSatisfy(\.isFinite), name)
            for (path, p) in loss.adapters?.namedParameters() ?? [] {
                XCTAssertNotNil(p.gradient, "\(name): adapter \(path) got no gradient")
            }
            XCTAssertTrue(teacher.parameters.allSatisfy { $0.gradient == nil }, "\(name): the teacher must stay a constant")
        }
    }

    func testAdamStepsLowerTheLearnedLambdaMILoss() throws {
        let (teacher, student, x) = try models()
        let loss = try MethodRegistry.make("mi", options: ["student": "conv2,fc1", "teacher": "conv1,conv2", "lambda": "learned"]) as! MutualInformationLoss
        let probe = try batch(loss, teacher, student, x)
        try loss.prepare(studentShapes: probe.studentFeatures.map(\.shape), teacherShapes: probe.teacherFeatures.map(\.shape))
        let opt = Adam(student.trainableParameters() + loss.adapters!.trainableParameters(), learningRate: 0.05)
        var values: [Float] = []
        for _ in 0..<15 {
            student.zeroGradients(); loss.adapters!.zeroGradients()
            let l = loss.loss(try batch(loss, teacher, student, x))
            values.append(l.item)
            l.backward()
            opt.step()
        }
        XCTAssertLessThan(values.last!, values.first! - 0.05, "\(values)")
        for c in loss.lambdaMatrix.sum(alongAxis: 0).scalars { XCTAssertEqual(c, 1, accuracy: 1e-5) }
        XCTAssertNotEqual(loss.lambdaMatrix.scalars, [0.5, 0.5, 0.5, 0.5])
    }
}
