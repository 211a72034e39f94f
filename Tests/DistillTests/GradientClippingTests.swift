import XCTest
import DistillCore
import DistillNN
@testable import Distill

final class GradientClippingTests: XCTestCase {
    func gradients(_ seed: UInt64) throws -> [Parameter] {
        var g = SeededGenerator(seed: seed)
        let model = Sequential(Linear(4, 3, using: &g), ReLU(), Linear(3, 2, using: &g))
        let loss = crossEntropy(logits: model(seeded([5, 4], -3, 3, seed: seed)), labels: IntTensor([0, 1, 1, 0, 1]))
        loss.backward()
        return model.parameters
    }

    func norm(_ ps: [Parameter]) -> Double {
        ps.reduce(0.0) { s, p in s + p.gradient!.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    func testLargeGradientsAreScaledToTheLimitAndKeepTheirDirection() throws {
        let ps = try gradients(1)
        let before = ps.map { $0.gradient!.scalars }, n = norm(ps)
        XCTAssertGreaterThan(n, 0.01)
        let reported = Gradients.clip(ps, maxNorm: Float(n / 4))
        XCTAssertEqual(Double(reported), n, accuracy: 1e-5 * n)
        XCTAssertEqual(norm(ps), n / 4, accuracy: 1e-4 * n)
        for (p, b) in zip(ps, before) {
            for (x, y) in zip(p.gradient!.scalars, b) { XCTAssertEqual(x, y / 4, accuracy: 1e-5 * max(1, abs(y))) }
        }
    }

    func testSmallGradientsAreLeftAlone() throws {
        let ps = try gradients(2)
        let before = ps.map { $0.gradient!.scalars }
        Gradients.clip(ps, maxNorm: Float(norm(ps) * 2))
        XCTAssertEqual(ps.map { $0.gradient!.scalars }, before)
    }

    func testTheOptionIsValidatedAndSurvivesTheResolvedConfig() throws {
        let yaml = """
        name: clip
        teacher: {model: mlp:8, train: {epochs: 1}}
        student: {model: mlp:8, train: {epochs: 1, grad_clip: 5}}
        """
        let c = try ExperimentConfig.parse(yaml, file: "c.yaml")
        XCTAssertEqual(c.student.train.gradClip, 5)
        XCTAssertNil(c.teacher.train.gradClip)
        XCTAssertEqual(try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c), file: "r.yaml"), c)
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml, file: "c.yaml", overrides: ["student.train.grad_clip=0"])) { e in
            XCTAssertTrue("\(e)".contains("grad_clip"), "\(e)")
        }
        // nil is not written, so configurations (and checkpoints) of runs without clipping are unchanged
        let json = String(decoding: try JSONEncoder().encode(c.teacher.train), as: UTF8.self)
        XCTAssertFalse(json.contains("grad_clip"), json)
    }
}
