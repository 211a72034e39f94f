import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// Loss values and gradients (student features and adapter parameters) against PyTorch,
/// Fixtures/make_feature_fixtures.py; adapter weights come from the fixture.
final class FeatureGoldenTests: XCTestCase {
    /// Runs `method` on fixture case `key` and compares the loss and every gradient.
    @discardableResult
    func golden(_ key: String, _ method: String, _ options: [String: String], rtol: Float = 1e-4, atol: Float = 1e-6,
                file: StaticString = #filePath, line: UInt = #line) throws -> DistillationLoss {
        try assertFeatureGolden(JSONFixture.feature, key, method, options, rtol: rtol, atol: atol, file: file, line: line)
    }

    func testFitNetMapWithPooledStudent() throws {
        try golden("fitnet_map", "fitnet", ["student": "a", "teacher": "b", "regressor": "conv1x1"])
    }

    func testFitNetVectors() throws {
        try golden("fitnet_vec", "fitnet", ["student": "a", "teacher": "b"])
    }

    func testAttentionTransfer() throws {
        try golden("at", "at", ["student": "a,b", "teacher": "c,d"])
    }

    func testActivationBoundaries() throws {
        try golden("ab", "ab", ["student": "a,b", "teacher": "c,d"])
    }

    func testFSP() throws {
        try golden("fsp", "fsp", ["student": "a,b,c", "teacher": "d,e,f"])
    }

    func testFactorTransferAndParaphraserStage() throws {
        let c = try JSONFixture.feature.scoped("cases.ft")
        // The paraphraser must be loaded before the loss runs: prepare, load both, then compare.
        let student = try c.tensors("student"), teacher = try c.tensors("teacher")
        let ft = try XCTUnwrap(try preparedMethod("ft", ["student": "a", "teacher": "b"], student: student.map(\.shape),
                                                  teacher: teacher.map(\.shape)) as? FactorTransferLoss)
        let paraphraser = try XCTUnwrap(ft.paraphraser)
        try paraphraser.loadStateDict(try c.tensorDict("paraphraser"))
        try ft.adapters!.loadStateDict(try c.tensorDict("state"))
        let leaves = student.map { $0.requiringGradient() }
        let l = ft.loss(featureBatch(leaves, teacher))
        l.backward()
        let expected = try c.number("loss")
        XCTAssertEqual(l.item, expected, accuracy: abs(expected) * 1e-4 + 1e-6, "ft: loss")
        assertClose(leaves[0].gradient, try c.tensors("grad_student")[0], rtol: 1e-3, atol: 1e-6, "ft: d loss / d student")
        let grads = try c.tensorDict("grad_state")
        for (path, p) in ft.adapters!.namedParameters() {
            assertClose(p.gradient, try XCTUnwrap(grads[path], path), rtol: 1e-3, atol: 1e-6, "ft: d loss / d \(path)")
        }
        // The frozen paraphraser receives nothing from the main loss.
        XCTAssertTrue(paraphraser.parameters.allSatisfy { $0.gradient == nil }, "ft: paraphraser got gradients from the main loss")

        // Paraphraser stage: reconstruction loss and its gradients.
        let stage = try XCTUnwrap(ft.preTrainingStages().first)
        XCTAssertEqual(stage.name, "ft-paraphraser")
        XCTAssertEqual(stage.student, .frozen)
        XCTAssertFalse(stage.needsStudent)
        XCTAssertTrue(stage.modules.first === paraphraser)
        let rec = stage.loss(featureBatch([], teacher))
        rec.backward()
        let expectedRec = try c.number("reconstruction")
        XCTAssertEqual(rec.item, expectedRec, accuracy: abs(expectedRec) * 1e-4 + 1e-6, "ft: reconstruction")
        let pg = try c.tensorDict("grad_paraphraser")
        XCTAssertEqual(Set(paraphraser.namedParameters().map(\.path)), Set(pg.keys))
        for (path, p) in paraphraser.namedParameters() {
            assertClose(p.gradient, try XCTUnwrap(pg[path], path), rtol: 1e-3, atol: 1e-6, "ft-paraphraser: d rec / d \(path)")
        }
    }

    func testVID() throws {
        try golden("vid", "vid", ["student": "a,b", "teacher": "c,d"])
        // The default initial variance: α = softplus⁻¹(5 − ε).
        let c = try JSONFixture.feature.scoped("cases.vid")
        let fresh = try preparedMethod("vid", ["student": "a", "teacher": "b"], student: [[2, 3, 4, 4]], teacher: [[2, 4, 2, 2]])
        let alpha = try XCTUnwrap(fresh.adapters?.namedParameters().first { $0.path == "0.log_scale" }).parameter.value
        for a in alpha.scalars { XCTAssertEqual(a, try c.number("init_log_scale"), accuracy: 1e-5) }
    }

    func testNST() throws {
        try golden("nst", "nst", ["student": "a", "teacher": "b"])
    }

    func testPKT() throws {
        try golden("pkt", "pkt", ["student": "a", "teacher": "b"])
    }
}
