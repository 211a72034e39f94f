import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// Registry entries, tap options, shape refusals in `prepare`, adapters and pre-training stages
/// of the feature-based methods.
final class FeatureSetupTests: XCTestCase {
    static let methods = ["fitnet", "at", "ab", "fsp", "ft", "vid", "nst", "pkt", "reviewkd"]

    func testRegistryListsEveryFeatureMethod() throws {
        XCTAssertEqual(MethodRegistry.feature.map(\.name), Self.methods)
        for m in Self.methods {
            XCTAssertTrue(MethodRegistry.names.contains(m), m)
            XCTAssertNoThrow(try MethodRegistry.make(m), m)
        }
    }

    func testTapOptions() throws {
        let l = try MethodRegistry.make("at", options: ["student": "layer1, layer2.1:input", "teacher": "block1,block2", "point": "input"])
        XCTAssertEqual(l.studentTaps, [FeatureTap(path: "layer1", point: .input), FeatureTap(path: "layer2.1", point: .input)])
        XCTAssertEqual(l.teacherTaps, [FeatureTap(path: "block1", point: .input), FeatureTap(path: "block2", point: .input)])
        XCTAssertEqual(try MethodRegistry.make("pkt").studentTaps, [FeatureTap(path: "fc", point: .input)])
        XCTAssertEqual(try MethodRegistry.make("fitnet").teacherTaps, [FeatureTap(path: "layer2")])
    }

    func testBadOptionsAreRefusedByName() {
        func refuses(_ m: String, _ o: [String: String], _ needle: String, line: UInt = #line) {
            XCTAssertThrowsError(try MethodRegistry.make(m, options: o), line: line) { e in
                XCTAssertTrue("\(e)".contains(needle), "\(e)", line: line)
            }
        }
        refuses("at", ["student": "a,b", "teacher": "c"], "option 'teacher' names 1 taps but 'student' names 2")
        refuses("at", ["point": "middle"], "option 'point' must be 'input' or 'output'")
        refuses("at", ["student": "a:sideways", "teacher": "b"], "point 'sideways'")
        refuses("fsp", ["student": "a", "teacher": "b"], "at least 2")
        refuses("ft", ["student": "a,b", "teacher": "c,d"], "exactly 1")
        refuses("ft", ["p": "3"], "option 'p' must be 1 or 2")
        refuses("vid", ["eps": "x"], "option 'eps' expects a number")
        refuses("fitnet", ["hint_epochs": "-1"], "option 'hint_epochs' must be ≥ 0")
        refuses("ab", ["beta": "3"], "option 'beta' is not an option of this method")
    }

    /// Every refusal names the method, both tap paths and both shapes.
    func assertRefuses(_ m: String, _ o: [String: String], student: [[Int]], teacher: [[Int]], tap i: Int, _ detail: String,
                       line: UInt = #line) throws {
        let loss = try MethodRegistry.make(m, options: o)
        XCTAssertThrowsError(try loss.prepare(studentShapes: student, teacherShapes: teacher), line: line) { e in
            guard case let DistillationError.incompatibleShapes(method, st, ss, tt, ts, _) = e else {
                return XCTFail("\(m): expected incompatibleShapes, got \(e)", line: line)
            }
            XCTAssertEqual(method, m, line: line)
            XCTAssertEqual(st, loss.studentTaps[i].description, line: line)
            XCTAssertEqual(tt, loss.teacherTaps[i].description, line: line)
            XCTAssertEqual(ss, student[i], line: line)
            XCTAssertEqual(ts, teacher[i], line: line)
            let text = "\(e)"
            for needle in ["method '\(m)'", "student tap '\(st)'", Shape.describe(student[i]), "teacher tap '\(tt)'",
                           Shape.describe(teacher[i]), detail] {
                XCTAssertTrue(text.contains(needle), "\(m): '\(needle)' missing from: \(text)", line: line)
            }
        }
    }

    func testFSPRefusesChannelMismatchNamingBothShapesAndTaps() throws {
        try assertRefuses("fsp", ["student": "s1,s2,s3", "teacher": "t1,t2,t3"],
                          student: [[2, 3, 4, 4], [2, 4, 2, 2], [2, 8, 1, 1]], teacher: [[2, 3, 4, 4], [2, 5, 2, 2], [2, 8, 1, 1]],
                          tap: 1, "equal channel counts")
    }

    func testShapeRefusals() throws {
        try assertRefuses("fitnet", ["student": "a", "teacher": "b"], student: [[2, 3, 4, 4]], teacher: [[2, 8]], tap: 0, "a map and a vector")
        try assertRefuses("fitnet", ["student": "a", "teacher": "b"], student: [[2, 3, 4, 4, 2]], teacher: [[2, 3, 4, 4, 2]], tap: 0, "expected maps")
        for m in ["at", "ab", "vid", "nst", "fsp"] {
            try assertRefuses(m, ["student": "a,b", "teacher": "c,d"], student: [[2, 3, 4, 4], [2, 6]], teacher: [[2, 3, 4, 4], [2, 6]],
                              tap: 1, "expected maps [N, C, H, W]")
        }
        try assertRefuses("ft", ["student": "a", "teacher": "b"], student: [[2, 6]], teacher: [[2, 3, 4, 4]], tap: 0, "expected maps")
        try assertRefuses("ft", ["student": "a", "teacher": "b", "rate": "0.25"], student: [[2, 3, 4, 4]], teacher: [[2, 3, 4, 4]],
                          tap: 0, "0 factor channels")
        for m in Self.methods where m != "fsp" && m != "ft" {
            try assertRefuses(m, ["student": "a", "teacher": "b"], student: [[4, 3, 2, 2]], teacher: [[2, 3, 2, 2]], tap: 0, "batch sizes differ")
        }
    }

    func testPrepareBuildsAdaptersThatReceiveGradients() throws {
        let s = [2, 2, 4, 4], t = [2, 3, 2, 2]
        for m in ["fitnet", "ab", "ft", "vid"] {
            let loss = try preparedMethod(m, ["student": "a", "teacher": "b"], student: [s], teacher: [t])
            let adapters = try XCTUnwrap(loss.adapters, m)
            XCTAssertGreaterThan(adapters.parameterCount(), 0, m)
            let objective = try Objective([(m, 1, loss)])
            XCTAssertTrue(objective.adapters.first === adapters, m)
            let student = seeded(s, seed: 1).requiringGradient()
            objective(featureBatch([student], [seeded(t, seed: 2)])).backward()
            XCTAssertNotNil(student.gradient, m)
            for (path, p) in adapters.namedParameters() {
                let g = try XCTUnwrap(p.gradient, "\(m): \(path) got no gradient")
                XCTAssertTrue(g.scalars.contains { $0 != 0 }, "\(m): \(path) got a zero gradient")
            }
        }
        // Methods without adapters, and AB with equal channels (identity connector), have none to train.
        for m in ["at", "fsp", "nst", "pkt"] { XCTAssertNil(try MethodRegistry.make(m).adapters, m) }
        let ab = try preparedMethod("ab", ["student": "a", "teacher": "b"], student: [t], teacher: [t])
        XCTAssertEqual(ab.adapters?.parameterCount(), 0)
    }

    func testPreparedAdaptersAreSeeded() throws {
        func weights(_ seed: String) throws -> [Float] {
            try preparedMethod("fitnet", ["student": "a", "teacher": "b", "seed": seed], student: [[2, 2, 2, 2]], teacher: [[2, 3, 2, 2]])
                .adapters!.parameters.flatMap(\.value.scalars)
        }
        XCTAssertEqual(try weights("3"), try weights("3"))
        XCTAssertNotEqual(try weights("3"), try weights("4"))
    }

    func testPreTrainingStages() throws {
        let s = [[2, 2, 4, 4], [2, 3, 2, 2]], t = [[2, 2, 4, 4], [2, 3, 2, 2]]
        let expected: [(String, [String: String], String, PreTrainingStage.StudentScope, Int)] = [
            ("fitnet", ["student": "a", "teacher": "b", "hint_epochs": "5"], "fitnet-hint", .upToTaps, 5),
            ("ab", ["student": "a,b", "teacher": "c,d", "init_epochs": "7"], "ab-init", .upToTaps, 7),
            ("fsp", ["student": "a,b", "teacher": "c,d"], "fsp-init", .upToTaps, 30),
            ("ft", ["student": "a", "teacher": "b", "init_epochs": "2"], "ft-paraphraser", .frozen, 2),
        ]
        for (m, o, stageName, scope, epochs) in expected {
            let n = (o["student"] ?? "").split(separator: ",").count
            let loss = try preparedMethod(m, o, student: Array(s.prefix(n)), teacher: Array(t.prefix(n)))
            let multi = try XCTUnwrap(loss as? MultiStageDistillationLoss, m)
            let stages = multi.preTrainingStages()
            XCTAssertEqual(stages.map(\.name), [stageName])
            XCTAssertEqual(stages[0].student, scope, m)
            XCTAssertEqual(stages[0].epochs, epochs, m)
            if m != "ft", m != "fsp" { XCTAssertTrue(stages[0].modules.first === loss.adapters, m) }
            let student = s.prefix(n).enumerated().map { seeded($1, seed: UInt64($0)) }
            let teacher = t.prefix(n).enumerated().map { seeded($1, seed: UInt64(10 + $0)) }
            // Apart from FT's paraphraser stage, a stage optimises the method's own loss (AB's
            // scaled by RepDistiller's 3/1000, which the main stage leaves to the objective weight).
            if m != "ft" {
                let scale: Float = m == "ab" ? 0.003 : 1
                XCTAssertEqual(stages[0].loss(featureBatch(student, teacher)).item, scale * loss.loss(featureBatch(student, teacher)).item,
                               accuracy: 1e-6, m)
            }
        }
        for m in ["at", "vid", "nst", "pkt"] { XCTAssertFalse(try MethodRegistry.make(m) is MultiStageDistillationLoss, m) }
    }

    /// Convergence smoke test: the FitNets hint stage, run with plain gradient descent on a tiny
    /// convolutional student and its regressor, drives the hint loss down.
    func testHintStageReducesHintLoss() throws {
        var g = SeededGenerator(seed: 5)
        let student = Sequential(Conv2d(1, 2, kernel: 3, padding: 1, using: &g), ReLU())
        let teacher = Sequential(Conv2d(1, 3, kernel: 3, padding: 1, using: &g), Tanh())
        let loss = try preparedMethod("fitnet", ["student": "0", "teacher": "1"], student: [[4, 2, 4, 4]], teacher: [[4, 3, 4, 4]])
        let stage = try XCTUnwrap((loss as? MultiStageDistillationLoss)?.preTrainingStages().first)
        let x = seeded([4, 1, 4, 4], seed: 6)
        let tf = try withoutGradients { try teacher.forward(x, capturing: [FeatureTap(path: "1")]).features }
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            let sf = try student.forward(x, capturing: [FeatureTap(path: "0")]).features
            let l = stage.loss(featureBatch(sf, tf))
            if step == 0 { first = l.item }
            last = l.item
            l.backward()
            for p in student.parameters + stage.moduleParameters {
                guard let grad = p.gradient else { continue }
                p.value = p.value.detached() - grad * 0.2
            }
        }
        XCTAssertLessThan(last, first * 0.7, "hint loss \(first) → \(last)")
    }
}
