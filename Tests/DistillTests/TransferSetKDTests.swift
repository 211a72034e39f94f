import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// KD on a transfer set with minibatch augmentation: the spec is checked (geometric steps only,
/// the image size kept), the augmented run is deterministic for a seed and differs from the plain
/// one, and the plain run is what it was before augmentation existed (no extra draws).
final class TransferSetKDTests: XCTestCase {
    func testAugmentationSpecsAreChecked() throws {
        var kd = TransferSetKD()
        kd.augmentation = "crop:2,flip,jitter:1"
        XCTAssertEqual(try kd.parsedAugmentation(imageShape: [1, 28, 28]).steps.count, 3)
        for (spec, phrase) in [("mixup", "takes only jitter, crop, flip"), ("normalize:mnist", "takes only"),
                               ("crop:2:20", "must keep the image size"), ("crop:40", "crop padding 40"), ("warp", "warp")] {
            kd.augmentation = spec
            XCTAssertThrowsError(try kd.parsedAugmentation(imageShape: [1, 28, 28]), spec) { e in
                XCTAssertTrue("\(e)".contains(phrase), "\(spec): \(e)")
            }
        }
    }

    func testAugmentedKDIsSeededAndLeavesThePlainRunAlone() throws {
        let teacherNet = try ModelZoo.make("lenet5:bn=true", input: .fashionMNIST, seed: 1)
        let teacher = try FrozenTeacher(teacherNet, spec: "lenet5:bn=true", classCount: 10)
        var g = SeededGenerator(seed: 3)
        let images = Tensor.uniform([24, 1, 28, 28], low: 0, high: 1, using: &g)
        func trained(_ spec: String?) throws -> [Float] {
            var kd = TransferSetKD()
            kd.steps = 4; kd.batchSize = 8; kd.augmentation = spec
            let s = try ModelZoo.make("lenet5:half=true", input: .fashionMNIST, seed: 5)
            kd.distil(student: s, teacher: teacher, images: images)
            return s.namedParameters().flatMap { $0.parameter.value.scalars }
        }
        let plain = try trained(nil), none = try trained("none")
        let a = try trained("crop:2,flip"), b = try trained("crop:2,flip")
        XCTAssertEqual(plain, none)
        XCTAssertEqual(a, b, "the same seed gives the same augmented run")
        XCTAssertNotEqual(a, plain, "the augmentation changed nothing")
    }
}
