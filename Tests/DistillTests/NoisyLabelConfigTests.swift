import XCTest
import DistillCore
import DistillData
@testable import Distill

/// `label_noise:`, co-teaching's forget rate, `teacher.stop_epoch` and `label_smoothing`: parsed,
/// resolved and read back; every bad value refused before training, naming the file and the key.
final class NoisyLabelConfigTests: XCTestCase {
    func assertRefused(_ yaml: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml, file: "bad.yaml"), file: file, line: line) { e in
            for f in fragments + ["bad.yaml"] { XCTAssertTrue("\(e)".contains(f), "'\(f)' not in: \(e)", file: file, line: line) }
        }
    }

    let coTeaching = """
    name: ct
    label_noise: {kind: pair, rate: 0.45, seed: 3, clean: 10}
    scheme:
      kind: co-teaching
      participants: [{name: f, model: "mlp:8"}, {name: g, model: "mlp:8"}]
      gradual: 5
      schedule: paper
    """

    func testNoiseAndCoTeachingParseAndReadBack() throws {
        let c = try ExperimentConfig.parse(coTeaching, file: "ct.yaml")
        XCTAssertEqual(c.labelNoise, try LabelNoise(kind: .pair, rate: 0.45, seed: 3, clean: 10))
        let o = try c.scheme.coTeachingOptions(noiseRate: c.labelNoise?.rate)
        XCTAssertEqual(o.forgetRate, 0.45); XCTAssertEqual(o.gradualEpochs, 5); XCTAssertEqual(o.schedule, .paper)
        let again = try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c), file: "resolved.yaml")
        XCTAssertEqual(again.labelNoise, c.labelNoise)
        XCTAssertEqual(again.scheme, c.scheme)
    }

    func testStopEpochAndLabelSmoothingReadBack() throws {
        let c = try ExperimentConfig.parse("""
        teacher: {model: "mlp:8", stop_epoch: 2, train: {epochs: 4, label_smoothing: 0.1}}
        """)
        XCTAssertEqual(c.teacher.stopEpoch, 2)
        XCTAssertEqual(c.teacher.train.labelSmoothing, 0.1)
        XCTAssertEqual(try ExperimentConfig.parse(ExperimentReport.resolvedConfig(c)), c)
        XCTAssertNil(try ExperimentConfig.parse("name: x").teacher.train.labelSmoothing)
    }

    func testBadValuesAreRefused() {
        assertRefused("label_noise: {kind: symmetric, rate: 1}", ["label_noise.rate", "[0, 1)", "bad.yaml:1"])
        assertRefused("label_noise: {kind: symmetric, rate: -0.2}", ["label_noise.rate", "[0, 1)"])
        assertRefused("label_noise: {kind: uniform, rate: 0.2}", ["label_noise.kind", "symmetric or pair"])
        assertRefused("label_noise: {kind: pair}", ["label_noise.rate"])
        assertRefused("label_noise: {rate: 0.2, clen: 5}", ["clen"])
        assertRefused(coTeaching.replacingOccurrences(of: "label_noise: {kind: pair, rate: 0.45, seed: 3, clean: 10}\n", with: ""),
                      ["scheme.forget_rate", "label_noise"])
        assertRefused(coTeaching + "\n  forget_rate: 1.2", ["scheme.forget_rate", "[0, 1)"])
        assertRefused(coTeaching.replacingOccurrences(of: "schedule: paper", with: "schedule: linear"), ["scheme.schedule", "code or paper"])
        assertRefused(coTeaching.replacingOccurrences(of: ", {name: g, model: \"mlp:8\"}", with: ""), ["scheme.participants", "2 to 2"])
        assertRefused("teacher: {stop_epoch: 5, train: {epochs: 4}}", ["teacher.stop_epoch", "1 to 4"])
        assertRefused("teacher: {stop_epoch: 1, logits: t.npy}", ["teacher.stop_epoch", "trained here"])
        assertRefused("teacher: {train: {label_smoothing: 1}}", ["label_smoothing", "[0, 1)"])
        assertRefused("student: {train: {label_smoothing: 0.1}}", ["student.train.label_smoothing", "ce:label_smoothing"])
    }
}
