import XCTest
import DistillCore
@testable import DistillData

/// The two noise models of co-teaching: their transition matrices, the realised rate on many
/// labels, where the corrupted labels go, the clean prefix, determinism and refusals.
final class LabelNoiseTests: XCTestCase {
    let labels = (0..<20_000).map { $0 % 10 }

    func testTransitionMatricesAreThePapers() throws {
        let s = try LabelNoise(kind: .symmetric, rate: 0.45).transitionMatrix(classes: 4)
        for (a, b) in zip(s[0], [0.55, 0.15, 0.15, 0.15]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        let p = try LabelNoise(kind: .pair, rate: 0.45).transitionMatrix(classes: 4)
        for (a, b) in zip(p[3], [0.45, 0, 0, 0.55]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        for row in s + p { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12) }
    }

    func testSymmetricNoiseFlipsTheRateUniformlyToOtherClasses() throws {
        let noise = try LabelNoise(kind: .symmetric, rate: 0.5, seed: 3)
        let noisy = noise.corrupt(labels, classes: 10)
        let flipped = zip(labels, noisy).filter { $0 != $1 }
        XCTAssertEqual(Double(flipped.count) / Double(labels.count), 0.5, accuracy: 0.015)
        // where label 0 went: each of the 9 other classes about equally often
        var to = [Int](repeating: 0, count: 10)
        for (a, b) in flipped where a == 0 { to[b] += 1 }
        XCTAssertEqual(to[0], 0)
        let n = Double(to.reduce(0, +))
        for c in 1..<10 { XCTAssertEqual(Double(to[c]) / n, 1.0 / 9, accuracy: 0.04, "class \(c)") }
        XCTAssertEqual(noise.corrupt(labels, classes: 10), noisy, "seeded")
        XCTAssertNotEqual(try LabelNoise(kind: .symmetric, rate: 0.5, seed: 4).corrupt(labels, classes: 10), noisy)
    }

    func testPairFlipGoesToTheNextClass() throws {
        let noisy = try LabelNoise(kind: .pair, rate: 0.45, seed: 1).corrupt(labels, classes: 10)
        let flipped = zip(labels, noisy).filter { $0 != $1 }
        XCTAssertEqual(Double(flipped.count) / Double(labels.count), 0.45, accuracy: 0.015)
        XCTAssertTrue(flipped.allSatisfy { $1 == ($0 + 1) % 10 })
    }

    func testCleanPrefixAndUnlabelledRowsAreKept() throws {
        var withUnlabelled = labels
        for i in stride(from: 5000, to: 20_000, by: 7) { withUnlabelled[i] = Dataset.unlabelledMarker }
        let noisy = try LabelNoise(kind: .symmetric, rate: 0.9, clean: 3000).corrupt(withUnlabelled, classes: 10)
        XCTAssertEqual(Array(noisy[..<3000]), Array(withUnlabelled[..<3000]))
        XCTAssertNotEqual(Array(noisy[3000...]), Array(withUnlabelled[3000...]))
        for i in stride(from: 5000, to: 20_000, by: 7) { XCTAssertEqual(noisy[i], Dataset.unlabelledMarker) }
        // a row's corruption does not depend on the others: the clean prefix does not shift it
        let other = try LabelNoise(kind: .symmetric, rate: 0.9, clean: 0).corrupt(withUnlabelled, classes: 10)
        XCTAssertEqual(Array(noisy[3000...]), Array(other[3000...]))
    }

    func testRatesOutsideTheUnitIntervalAreRefused() {
        for r in [-0.1, 1, 1.5, .nan] {
            XCTAssertThrowsError(try LabelNoise(kind: .pair, rate: r)) { XCTAssertTrue("\($0)".contains("label_noise.rate"), "\($0)") }
        }
        XCTAssertThrowsError(try LabelNoise(kind: .pair, rate: 0.2, clean: -1))
    }

    func testDatasetCountsTheFlippedLabels() throws {
        let d = Dataset(name: "d", images: Tensor(shape: [100, 1, 1, 1], repeating: 0), labels: IntTensor((0..<100).map { $0 % 3 }), classCount: 3)
        let (noisy, flipped) = d.withLabelNoise(try LabelNoise(kind: .pair, rate: 0.3, seed: 2))
        XCTAssertEqual(flipped, zip(d.labels.scalars, noisy.labels.scalars).filter { $0 != $1 }.count)
        XCTAssertGreaterThan(flipped, 10)
    }
}
