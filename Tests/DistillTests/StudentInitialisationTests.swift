import XCTest
import DistillCore
import DistillNN
@testable import Distill

final class StudentInitialisationTests: XCTestCase {
    func model(_ seed: UInt64) throws -> Module {
        try ModelZoo.make("cnn:4x8,fc=16,bn=1", input: ModelInput(channels: 1, height: 8, width: 8, classes: 3), seed: seed)
    }

    func testInterpolatesEveryParameterAndBuffer() throws {
        let teacher = try model(1)
        // give the teacher non-default running statistics
        teacher.train()
        _ = teacher(seeded([4, 1, 8, 8], seed: 3))
        let t = teacher.stateDict()
        for lambda: Float in [0, 0.25, 1] {
            let student = try model(2)
            let r = student.stateDict()
            try StudentInitialisation.interpolate(student, towards: teacher, lambda: lambda)
            let s = student.stateDict()
            XCTAssertEqual(Set(s.keys), Set(t.keys))
            XCTAssertTrue(s.keys.contains { $0.hasSuffix("running_mean") })
            for (k, v) in s {
                let expected = zip(t[k]!.scalars, r[k]!.scalars).map { lambda * $0 + (1 - lambda) * $1 }
                for (a, b) in zip(v.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-6, "\(k) at λ = \(lambda)") }
            }
        }
    }

    func testAStudentOfAnotherArchitectureIsRefusedAndLeftAlone() throws {
        let student = try ModelZoo.make("cnn:4x8,fc=16", input: ModelInput(channels: 1, height: 8, width: 8, classes: 3), seed: 2)
        let before = student.stateDict()
        XCTAssertThrowsError(try StudentInitialisation.interpolate(student, towards: try model(1), lambda: 0.5)) { e in
            XCTAssertTrue("\(e)".contains("bn1"), "\(e)")
        }
        XCTAssertEqual(student.stateDict().mapValues(\.scalars), before.mapValues(\.scalars))
    }
}
