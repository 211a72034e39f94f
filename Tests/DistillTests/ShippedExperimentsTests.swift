import XCTest
@testable import Distill

/// Every experiment file under `experiments/` parses and validates (keys, types, models,
/// methods and options of every variant), so a shipped file never fails after hours of training.
final class ShippedExperimentsTests: XCTestCase {
    func testEveryShippedExperimentValidates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("experiments")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5, "\(files)")
        for f in files {
            XCTAssertNoThrow(try ExperimentConfig.load(path: dir.appendingPathComponent(f).path), f)
        }
        let sweep = try ExperimentConfig.load(path: dir.appendingPathComponent("feature-relation-fashion-mnist.yaml").path)
        XCTAssertGreaterThanOrEqual(sweep.variants.count, 14)
    }
}
