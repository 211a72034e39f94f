import XCTest
import DistillCore
import DistillNN
@testable import Distill

final class LandscapeTests: XCTestCase {
    let input = ModelInput(channels: 1, height: 8, width: 8, classes: 4)

    func testKDLossMatchesTheTrainingTerm() {
        let s = seeded([6, 4], -3, 3, seed: 1), t = seeded([6, 4], -3, 3, seed: 2)
        for temperature: Float in [1, 4] {
            let term = HintonLoss(temperature: temperature, alpha: 1, name: "kd")
                .loss(DistillationBatch(studentLogits: s, teacherLogits: t, labels: IntTensor([0, 1, 2, 3, 0, 1]))).item
            XCTAssertEqual(Landscape.kdLoss(student: s, teacher: t, temperature: temperature).loss, Double(term), accuracy: 1e-4)
        }
        XCTAssertEqual(Landscape.kdLoss(student: t, teacher: t, temperature: 2).loss, 0, accuracy: 1e-9)
        XCTAssertEqual(Landscape.kdLoss(student: t, teacher: t, temperature: 2).agreement, 1)
    }

    func testBatchNormVariancesStayPositiveAnywhereOnThePlane() throws {
        let bnInput = ModelInput(channels: 1, height: 8, width: 8, classes: 3)
        let a = try ModelZoo.make("cnn:4x8,fc=16,bn=1", input: bnInput, seed: 1)
        let b = try ModelZoo.make("cnn:4x8,fc=16,bn=1", input: bnInput, seed: 2)
        a.train(); _ = a(seeded([6, 1, 8, 8], -3, 3, seed: 5))   // running variances away from 1
        let keys = a.stateDict().keys.sorted()
        let fa = Landscape.Flat(a.stateDict(), keys: keys), fb = Landscape.Flat(b.stateDict(), keys: keys)
        // the round trip gives the state back
        for (k, v) in fa.state(fa.values) {
            for (x, y) in zip(v.scalars, a.stateDict()[k]!.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(y)), k) }
        }
        // far past either end of the line, every variance is still positive
        for t: Float in [-3, 4] {
            let far = fa.state(zip(fa.values, fb.values).map { $0 + t * ($1 - $0) })
            for (k, v) in far where k.hasSuffix("running_var") { XCTAssertTrue(v.scalars.allSatisfy { $0 > 0 }, "\(k) at \(t)") }
        }
    }

    func testPlaneThroughInitStudentAndTeacher() throws {
        let initial = try ModelZoo.make("mlp:8", input: input, seed: 1)
        let student = try ModelZoo.make("mlp:8", input: input, seed: 2)
        let teacher = try ModelZoo.make("mlp:8", input: input, seed: 3)
        let images = seeded([20, 1, 8, 8], seed: 4)
        let tLogits = withoutGradients { teacher.eval(); return teacher(images) }
        let spec = LandscapeSpec(grid: 5, linePoints: 5, examples: 20, margin: 0.25, seeds: 1)
        let r = try Landscape.measure(model: try ModelZoo.make("mlp:8", input: input), initial: initial.stateDict(),
                                      student: student.stateDict(), teacher: teacher.stateDict(), images: images,
                                      teacherLogits: tLogits, temperature: 2, spec: spec, seed: 0)
        // distances in the plane are distances in parameter space
        func distance(_ a: [String: Tensor], _ b: [String: Tensor]) -> Double {
            a.keys.reduce(0.0) { s, k in s + zip(a[k]!.scalars, b[k]!.scalars).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }.squareRoot()
        }
        let (i, s, t) = (initial.stateDict(), student.stateDict(), teacher.stateDict())
        let ps = r.points["student"]!, pt = r.points["teacher"]!
        XCTAssertEqual(ps[0], distance(i, s), accuracy: 1e-3)
        XCTAssertEqual(ps[1], 0)
        XCTAssertEqual((pt[0] * pt[0] + pt[1] * pt[1]).squareRoot(), distance(i, t), accuracy: 1e-3)
        XCTAssertEqual(((pt[0] - ps[0]) * (pt[0] - ps[0]) + pt[1] * pt[1]).squareRoot(), distance(s, t), accuracy: 1e-3)
        XCTAssertEqual(r.x.count, 5); XCTAssertEqual(r.y.count, 5); XCTAssertEqual(r.loss.count, 5)
        XCTAssertTrue(r.loss.joined().allSatisfy { $0.isFinite && $0 >= -1e-9 })
        XCTAssertLessThan(r.x.first!, 0); XCTAssertGreaterThan(r.x.last!, max(ps[0], pt[0]))
        // the line runs from the student (a = 0) to the teacher (a = 1), where the loss vanishes
        XCTAssertEqual(r.line, [-0.25, 0, 0.25, 0.5, 0.75, 1, 1.25])
        let mid = try ModelZoo.make("mlp:8", input: input)
        try mid.loadStateDict(s.reduce(into: [String: Tensor]()) { $0[$1.key] = $1.value * 0.5 + t[$1.key]! * 0.5 })
        mid.eval()
        let expected = Landscape.kdLoss(student: withoutGradients { mid(images) }, teacher: tLogits, temperature: 2)
        XCTAssertEqual(r.lineLoss[3], expected.loss, accuracy: 1e-4 * max(1, expected.loss))
        XCTAssertEqual(r.lineAgreement[3], expected.agreement)
        XCTAssertEqual(r.lineLoss[5], 0, accuracy: 1e-6)
        XCTAssertEqual(r.lineAgreement[5], 1)
        let plots = Landscape.plots(r, title: "t")
        XCTAssertTrue(plots.plane.contains("<svg") && plots.plane.contains("teacher") && plots.plane.contains("student"))
        XCTAssertTrue(plots.line.contains("agreement"))
    }
}
