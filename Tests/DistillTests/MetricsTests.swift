import Foundation
import XCTest
import DistillTestSupport
import DistillCore
@testable import Distill

/// Metrics against float64 NumPy references, streaming equivalence, hand-computable cases.
final class MetricsTests: XCTestCase {
    let fx = JSONFixture.response

    struct Data { let student: Tensor, teacher: Tensor, labels: IntTensor }

    func data() throws -> Data {
        Data(student: try fx.tensor("metrics.student"), teacher: try fx.tensor("metrics.teacher"),
             labels: IntTensor(try fx.ints("metrics.labels")))
    }

    func expect(_ v: Double?, _ key: String, tol: Double = 1e-9, file: StaticString = #filePath, line: UInt = #line) throws {
        let e = try fx.double("metrics." + key)
        guard let v else { return XCTFail("\(key) is nil", file: file, line: line) }
        XCTAssertEqual(v, e, accuracy: tol, key, file: file, line: line)
    }

    func testPureFunctionsAgainstNumPy() throws {
        let d = try data()
        try expect(Metrics.accuracy(logits: d.student, labels: d.labels), "student_accuracy")
        try expect(Metrics.accuracy(logits: d.teacher, labels: d.labels), "teacher_accuracy")
        try expect(Metrics.negativeLogLikelihood(logits: d.student, labels: d.labels), "student_nll", tol: 1e-9)
        try expect(Metrics.negativeLogLikelihood(logits: d.teacher, labels: d.labels), "teacher_nll", tol: 1e-9)
        try expect(Metrics.expectedCalibrationError(logits: d.student, labels: d.labels), "student_ece", tol: 1e-9)
        try expect(Metrics.expectedCalibrationError(logits: d.teacher, labels: d.labels), "teacher_ece", tol: 1e-9)
        try expect(Metrics.expectedCalibrationError(logits: d.student, labels: d.labels, bins: 10), "student_ece_10", tol: 1e-9)
        try expect(Metrics.agreement(d.teacher, d.student), "agreement")
        try expect(Metrics.predictiveKL(teacherLogits: d.teacher, studentLogits: d.student), "kl", tol: 1e-9)
        // from probabilities (float32 softmax): the same ECE up to float rounding
        try expect(Metrics.expectedCalibrationError(probabilities: d.student.softmax(alongAxis: 1), labels: d.labels), "student_ece", tol: 1e-6)
    }

    func testStreamingEqualsWholeSet() throws {
        let d = try data()
        var acc = FidelityAccumulator()
        var start = 0
        for size in [37, 1, 64, 98] {   // uneven batches covering all 200 rows
            acc.add(studentLogits: d.student.slice(axis: 0, start: start, length: size),
                    teacherLogits: d.teacher.slice(axis: 0, start: start, length: size),
                    labels: IntTensor(Array(d.labels.scalars[start..<(start + size)])))
            start += size
        }
        XCTAssertEqual(start, 200)
        let r = acc.report(split: "test")
        XCTAssertEqual(r.examples, 200); XCTAssertEqual(r.labelledExamples, 200); XCTAssertEqual(r.eceBins, 15)
        try expect(r.student.accuracy, "student_accuracy")
        try expect(r.student.negativeLogLikelihood, "student_nll")
        try expect(r.student.expectedCalibrationError, "student_ece")
        try expect(r.teacher?.accuracy, "teacher_accuracy")
        try expect(r.teacher?.negativeLogLikelihood, "teacher_nll")
        try expect(r.teacher?.expectedCalibrationError, "teacher_ece")
        try expect(r.agreement, "agreement")
        try expect(r.predictiveKL, "kl")
        // Codable round trip
        let json = try JSONEncoder().encode(r)
        XCTAssertEqual(try JSONDecoder().decode(FidelityReport.self, from: json), r)
        XCTAssertTrue(r.description.hasPrefix("test: n=200 student acc 0.5600"), r.description)
    }

    func testHandComputableCases() {
        let z = Tensor(shape: [3, 3], scalars: [2, 0, 0, 0, 1, 0, 0, 0, 3])
        // identical models: agreement 1, KL 0
        XCTAssertEqual(Metrics.agreement(z, z), 1)
        XCTAssertEqual(Metrics.predictiveKL(teacherLogits: z, studentLogits: z), 0, accuracy: 1e-15)
        XCTAssertEqual(Metrics.agreement(z, -z), 0)
        XCTAssertEqual(Metrics.accuracy(logits: z, labels: IntTensor([0, 1, 0])), 2.0 / 3, accuracy: 1e-15)
        // uniform logits over C classes: NLL = log C; confidence 1/C
        let u = Tensor.zeros([4, 4])
        XCTAssertEqual(Metrics.negativeLogLikelihood(logits: u, labels: IntTensor([0, 1, 2, 3])), Foundation.log(4), accuracy: 1e-12)
        // argmax ties go to class 0: accuracy 1/4; every confidence 0.25 in one bin: ECE = |0.25 − 0.25| = 0
        XCTAssertEqual(Metrics.accuracy(logits: u, labels: IntTensor([0, 1, 2, 3])), 0.25)
        XCTAssertEqual(Metrics.expectedCalibrationError(logits: u, labels: IntTensor([0, 1, 2, 3])), 0, accuracy: 1e-12)
        // two confident rows, one right one wrong: confidence p in both, ECE = |1/2 − p|
        let p = Tensor(shape: [2, 2], scalars: [0.9, 0.1, 0.9, 0.1])
        XCTAssertEqual(Metrics.expectedCalibrationError(probabilities: p, labels: IntTensor([0, 1])), 0.4, accuracy: 1e-6)
        // unlabelled rows are skipped by label metrics; none labelled → NaN, and nil in a report
        XCTAssertEqual(Metrics.accuracy(logits: z, labels: IntTensor([0, -1, -1])), 1)
        XCTAssertTrue(Metrics.accuracy(logits: z, labels: IntTensor([-1, -1, -1])).isNaN)
        var acc = FidelityAccumulator()
        acc.add(studentLogits: z, teacherLogits: z, labels: IntTensor([-1, -1, -1]))
        let r = acc.report(split: "transfer")
        XCTAssertNil(r.student.accuracy); XCTAssertEqual(r.agreement, 1); XCTAssertEqual(r.labelledExamples, 0)
        var plain = FidelityAccumulator()
        plain.add(studentLogits: z, labels: IntTensor([0, 1, 2]))
        XCTAssertNil(plain.report(split: "test").teacher); XCTAssertNil(plain.agreement)
        XCTAssertEqual(plain.accuracy, 1)
    }

    func testEnsembleTargets() throws {
        let members = try fx.tensors("ensemble.members")
        XCTAssertEqual(members.count, 3)
        assertClose(EnsembleTarget.meanProbabilities(members), try fx.tensor("ensemble.mean_probabilities"), rtol: 1e-5, atol: 1e-6, "mean probabilities")
        assertClose(EnsembleTarget.meanLogits(members), try fx.tensor("ensemble.mean_logits"), atol: 1e-6, "mean logits")
        // one member: its own log-probabilities; extreme logits stay finite
        let big = Tensor(shape: [1, 3], scalars: [1000, -1000, 0])
        let flipped = Tensor(shape: [1, 3], scalars: [-1000, 1000, 0])
        let lp = EnsembleTarget.meanProbabilities([big, flipped])   // mean probabilities [½, ½, ~0]
        XCTAssertTrue(lp.scalars.allSatisfy { $0.isFinite }, "\(lp.scalars)")
        XCTAssertEqual(lp.scalars[0], -logf(2), accuracy: 1e-6)
        XCTAssertEqual(lp.scalars[1], -logf(2), accuracy: 1e-6)
        assertClose(EnsembleTarget.meanProbabilities([big]), big.logSoftmax(alongAxis: 1), atol: 1e-6, "one member")
        let failures = GradientCheck.firstOrder(Array(members.prefix(2))) { EnsembleTarget.meanProbabilities($0) }
        XCTAssertTrue(failures.isEmpty, "\(failures.prefix(3))")
    }

    func testMissingFixtureKeyFails() {
        XCTAssertThrowsError(try fx.double("metrics.no_such_metric")) { XCTAssertTrue("\($0)".contains("no_such_metric")) }
        XCTAssertThrowsError(try fx.tensor("losses.kd_T9.grad"))
    }
}
