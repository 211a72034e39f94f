import XCTest
import DistillCore
@testable import DistillData

final class AugmentationTests: XCTestCase {
    /// One 1×3×4 image with a single lit pixel at (y, x).
    func dot(y: Int, x: Int, h: Int = 3, w: Int = 4) -> Tensor {
        var s = [Float](repeating: 0, count: h * w)
        s[y * w + x] = 1
        return Tensor(shape: [1, 1, h, w], scalars: s)
    }

    func lit(_ t: Tensor) -> [[Int]] {
        var r: [[Int]] = []
        for y in 0..<t.shape[2] { for x in 0..<t.shape[3] where t[0, 0, y, x] != 0 { r.append([y, x]) } }
        return r
    }

    func testShiftMovesPixelsAndFillsZeros() {
        XCTAssertEqual(lit(Augmentation.shifted(dot(y: 1, x: 1), dx: [1], dy: [0])), [[1, 2]])
        XCTAssertEqual(lit(Augmentation.shifted(dot(y: 1, x: 1), dx: [0], dy: [1])), [[2, 1]])
        XCTAssertEqual(lit(Augmentation.shifted(dot(y: 1, x: 1), dx: [-1], dy: [-1])), [[0, 0]])
        XCTAssertEqual(lit(Augmentation.shifted(dot(y: 0, x: 3), dx: [1], dy: [0])), [], "shifted off the edge")
        let ones = Tensor.ones([1, 1, 3, 4])
        let s = Augmentation.shifted(ones, dx: [2], dy: [-1])
        XCTAssertEqual(s.scalars, [0, 0, 1, 1,
                                   0, 0, 1, 1,
                                   0, 0, 0, 0])
        XCTAssertEqual(Augmentation.shifted(ones, dx: [9], dy: [0]).scalars, [Float](repeating: 0, count: 12))
    }

    func testPaddedCropWindow() {
        // Pad 1 and crop 5×6 at offset (0, 0) of the padded image: the image sits at (1, 1).
        let c = Augmentation.window(dot(y: 0, x: 0), height: 5, width: 6, top: [-1], left: [-1])
        XCTAssertEqual(c.shape, [1, 1, 5, 6])
        XCTAssertEqual(lit(c), [[1, 1]])
        // Random crops with padding 4 keep the size and only move content by at most 4.
        var g = SeededGenerator(seed: 5)
        var b = Batch(images: Tensor.ones([8, 3, 8, 8]), labels: IntTensor([Int](repeating: 0, count: 8)), indices: Array(0..<8))
        Augmentation.randomCrop(padding: 4).apply(to: &b, using: &g)
        XCTAssertEqual(b.images.shape, [8, 3, 8, 8])
        let sums = (0..<8).map { i in b.images.scalars[(i * 192)..<((i + 1) * 192)].reduce(0, +) }
        XCTAssertTrue(sums.allSatisfy { $0 >= 3 * 4 * 4 && $0 <= 192 }, "\(sums)")
        XCTAssertGreaterThan(Set(sums).count, 1, "offsets vary across the batch")
    }

    func testFlipAndNormalize() {
        var t = Tensor(shape: [2, 1, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        Augmentation.flip(&t, where: [true, false])
        XCTAssertEqual(t.scalars, [3, 2, 1, 4, 5, 6])
        var rgb = Tensor(shape: [1, 3, 1, 2], scalars: [0.5, 1, 0.5, 1, 0.5, 1])
        Augmentation.normalize(&rgb, mean: [0.5, 0, 1], std: [0.5, 1, 0.25])
        XCTAssertEqual(rgb.scalars, [0, 1, 0.5, 1, -2, 0])
        // Flip with p = 0.5 flips about half of a large batch, reproducibly.
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 1)
        let images = Tensor(shape: [200, 1, 1, 2], scalars: (0..<200).flatMap { _ in [Float(0), 1] })
        var b1 = Batch(images: images, labels: IntTensor([Int](repeating: 0, count: 200)), indices: Array(0..<200))
        var b2 = b1
        Augmentation.horizontalFlip().apply(to: &b1, using: &g1)
        Augmentation.horizontalFlip().apply(to: &b2, using: &g2)
        XCTAssertEqual(b1.images.scalars, b2.images.scalars)
        let flipped = stride(from: 0, to: 400, by: 2).filter { b1.images.scalars[$0] == 1 }.count
        XCTAssertTrue((70...130).contains(flipped), "\(flipped) of 200 flipped")
    }

    func testJitterBounds() {
        var g = SeededGenerator(seed: 9)
        var b = Batch(images: Tensor(shape: [50, 1, 7, 7], scalars: (0..<50).flatMap { _ in (0..<49).map { $0 == 24 ? Float(1) : 0 } }),
                      labels: IntTensor([Int](repeating: 0, count: 50)), indices: Array(0..<50))
        Augmentation.jitter(2).apply(to: &b, using: &g)
        var offsets = Set<[Int]>()
        for i in 0..<50 {
            let plane = Array(b.images.scalars[(i * 49)..<((i + 1) * 49)])
            let at = plane.firstIndex(of: 1)!
            XCTAssertEqual(plane.reduce(0, +), 1)
            offsets.insert([at / 7 - 3, at % 7 - 3])
        }
        XCTAssertTrue(offsets.allSatisfy { abs($0[0]) <= 2 && abs($0[1]) <= 2 })
        XCTAssertGreaterThan(offsets.count, 10)
        var z = SeededGenerator(seed: 9), same = b
        same.images = Tensor.ones([2, 1, 3, 3])
        Augmentation.jitter(0).apply(to: &same, using: &z)
        XCTAssertEqual(same.images.scalars, [Float](repeating: 1, count: 18))
    }

    func testMixup() {
        var g = SeededGenerator(seed: 4)
        let images = Tensor(shape: [4, 1, 1, 2], scalars: [0, 0, 1, 1, 2, 2, 3, 3])
        var b = Batch(images: images, labels: IntTensor([10, 11, 12, 13]), indices: [0, 1, 2, 3])
        Augmentation.mixup(alpha: 1).apply(to: &b, using: &g)
        let m = try! XCTUnwrap(b.mixing)
        XCTAssertTrue((0...1).contains(m.lambda))
        XCTAssertEqual(m.partners.sorted(), [0, 1, 2, 3])
        XCTAssertEqual(m.partnerLabels.scalars, m.partners.map { 10 + $0 })
        for i in 0..<4 {
            XCTAssertEqual(b.images[i, 0, 0, 1], m.lambda * Float(i) + (1 - m.lambda) * Float(m.partners[i]), accuracy: 1e-6)
        }
        // Beta(α, α) is symmetric about 0.5; small α piles mass near 0 and 1.
        for alpha: Float in [0.2, 2] {
            var r = SeededGenerator(seed: 11)
            let draws = (0..<4000).map { _ in Augmentation.sampleBeta(alpha, alpha, using: &r) }
            let mean = draws.reduce(0, +) / 4000
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4000
            XCTAssertEqual(mean, 0.5, accuracy: 0.02, "α \(alpha)")
            XCTAssertEqual(variance, 1 / (4 * (2 * alpha + 1)), accuracy: 0.01, "α \(alpha)")
        }
    }

    func testParse() throws {
        XCTAssertEqual(try Augmentation.parse("jitter:2,flip"), Augmentation([.jitter(2), .flip(0.5)]))
        XCTAssertEqual(try Augmentation.parse(" crop:4 , flip:0.3 ,mixup"), Augmentation([.crop(padding: 4, size: nil), .flip(0.3), .mixup(alpha: 0.2)]))
        XCTAssertEqual(try Augmentation.parse("crop:2:28"), .randomCrop(padding: 2, size: 28))
        XCTAssertEqual(try Augmentation.parse("jitter"), .jitter(2))
        XCTAssertEqual(try Augmentation.parse("normalize:fashion-mnist"), .normalize(mean: [0.2860], std: [0.3530]))
        XCTAssertEqual(try Augmentation.parse("normalize:0.5/0.4:0.2/0.1"), .normalize(mean: [0.5, 0.4], std: [0.2, 0.1]))
        XCTAssertEqual(try Augmentation.parse("none").steps, [])
        XCTAssertEqual(try Augmentation.parse("").steps, [])
        let a = try Augmentation.parse("crop:4,flip,normalize:cifar10,mixup:1.0")
        XCTAssertEqual(try Augmentation.parse(a.description), a)
        XCTAssertEqual(Augmentation.jitter(2).then(.horizontalFlip()), try Augmentation.parse("jitter:2,flip"))

        func fails(_ spec: String, _ fragment: String) {
            XCTAssertThrowsError(try Augmentation.parse(spec)) { e in
                XCTAssertTrue("\(e)".contains(fragment), "'\(e)' lacks '\(fragment)'")
                XCTAssertTrue("\(e)".contains(spec.trimmingCharacters(in: .whitespaces)), "'\(e)' does not quote the spec")
            }
        }
        fails("jitter:2,rotate:15", "unknown step 'rotate' (known: jitter, crop, flip, normalize, mixup)")
        fails("jitter:-1", "an integer in 0…65536")
        fails("jitter:1:2", "at most 1 argument")
        fails("flip:1.5", "probability")
        fails("normalize:imagenet", "unknown preset 'imagenet'")
        fails("normalize:0.5/0.4:0.2", "2 means but 1 stds")
        fails("normalize:0.5:0", "positive")
        fails("mixup:0", "alpha")
        fails("crop:4:0", "positive")
        fails("jitter,,flip", "unknown step ''")
    }
}
