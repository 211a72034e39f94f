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
        var kinds: Set<ExperimentKind> = []
        for f in files {
            let path = dir.appendingPathComponent(f).path
            let kind = try ExperimentKind.of(path: path)
            kinds.insert(kind)
            switch kind {   // each kind through its own parser, full and --short
            case .distill: XCTAssertNoThrow(try ExperimentConfig.load(path: path), f)
            case .condense:
                XCTAssertNoThrow(try CondenseExperiment.load(path: path), f)
                XCTAssertNoThrow(try CondenseExperiment.load(path: path, short: true), f)
            case .datafree:
                XCTAssertNoThrow(try DataFreeExperiment.load(path: path), f)
                XCTAssertNoThrow(try DataFreeExperiment.load(path: path, short: true), f)
            }
        }
        XCTAssertEqual(kinds, Set(ExperimentKind.allCases), "a shipped file of every kind")
        let sweep = try ExperimentConfig.load(path: dir.appendingPathComponent("feature-relation-fashion-mnist.yaml").path)
        XCTAssertGreaterThanOrEqual(sweep.variants.count, 14)
    }
}
