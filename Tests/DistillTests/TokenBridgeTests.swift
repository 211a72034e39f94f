import XCTest
import DistillCore
import DistillNN
@testable import DistillData
@testable import Distill

/// Token sequences [N, T, D] facing maps, vectors and other sequences (`TokenBridge`): the
/// layout rules, the element placement of a patch grid, MI and FitNets on tokens equal the same
/// losses on the converted maps, gradients reach the tokens, and a ViT student distils from a
/// convolutional teacher through `DistillationSession`.
final class TokenBridgeTests: XCTestCase {
    func testLayoutRules() {
        XCTAssertEqual(TokenBridge.layout([2, 17, 8], facing: [2, 6, 4, 4]), .grid(h: 4, w: 4, dropFirst: true))
        XCTAssertEqual(TokenBridge.layout([2, 16, 8], facing: [2, 6, 7, 7]), .grid(h: 4, w: 4, dropFirst: false))
        XCTAssertEqual(TokenBridge.layout([2, 1, 8], facing: [2, 6, 7, 7]), .grid(h: 1, w: 1, dropFirst: false))
        XCTAssertEqual(TokenBridge.layout([2, 11, 8], facing: [2, 6, 4, 4]), .sequence)
        XCTAssertEqual(TokenBridge.layout([2, 17, 8], facing: [2, 6]), .sequence)
        XCTAssertEqual(TokenBridge.layout([2, 17, 8], facing: [2, 5, 8]), .sequence)
        XCTAssertEqual(TokenBridge.layout([2, 6, 4, 4], facing: [2, 17, 8]), .unchanged)
        XCTAssertEqual(TokenBridge.shape([2, 17, 8], .grid(h: 4, w: 4, dropFirst: true)), [2, 8, 4, 4])
        XCTAssertEqual(TokenBridge.shape([2, 11, 8], .sequence), [2, 8, 11, 1])
    }

    func testAGridPutsTokenKAtRowKDivWColumnKModW() {
        let n = 2, t = 5, d = 3   // class token + a 2×2 grid
        let x = Tensor(shape: [n, t, d], scalars: (0..<(n * t * d)).map(Float.init))
        let m = TokenBridge.apply(x, .grid(h: 2, w: 2, dropFirst: true))
        XCTAssertEqual(m.shape, [n, d, 2, 2])
        for b in 0..<n { for c in 0..<d { for k in 0..<4 {
            XCTAssertEqual(m.scalars[((b * d + c) * 2 + k / 2) * 2 + k % 2], x.scalars[(b * t + k + 1) * d + c])
        } } }
        let s = TokenBridge.apply(x, .sequence)
        XCTAssertEqual(s.shape, [n, d, t, 1])
        XCTAssertEqual(s.scalars[(1 * d + 2) * t + 3], x.scalars[(1 * t + 3) * d + 2])
    }

    func testGradientsReachTheTokens() {
        let target = seeded([2, 3, 2, 2], seed: 4)
        let failures = GradientCheck.firstOrder([seeded([2, 5, 3], seed: 3)]) { xs in
            mseLoss(TokenBridge.apply(xs[0], .grid(h: 2, w: 2, dropFirst: true)), target)
        }
        XCTAssertTrue(failures.isEmpty, "\(failures)")
    }

    func testMIAndFitNetsOnTokensEqualTheLossesOnTheConvertedMaps() throws {
        let tokens = seeded([3, 17, 8], seed: 1), teacherMap = seeded([3, 6, 4, 4], seed: 2), vector = seeded([3, 5], seed: 5)
        let grid = TokenBridge.apply(tokens, .grid(h: 4, w: 4, dropFirst: true))
        let sTap = [FeatureTap(path: "layers.0", point: .output)], tTap = [FeatureTap(path: "conv2", point: .output)]
        func value(_ l: DistillationLoss, _ s: Tensor, _ t: Tensor) throws -> Float {
            try l.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
            return l.loss(DistillationBatch(studentLogits: Tensor.zeros([3, 2]), teacherLogits: Tensor.zeros([3, 2]), studentFeatures: [s],
                                            teacherFeatures: [t], labels: IntTensor([0, 1, 0]), indices: [0, 1, 2])).item
        }
        for (other, converted) in [(teacherMap, grid), (vector, TokenBridge.apply(tokens, .sequence))] {
            let a = try value(MutualInformationLoss(studentTaps: sTap, teacherTaps: tTap, seed: 7), tokens, other)
            let b = try value(MutualInformationLoss(studentTaps: sTap, teacherTaps: tTap, seed: 7), converted, other)
            XCTAssertEqual(a, b, "mi, teacher \(other.shape)")
        }
        for r in [FitNetLoss.Regressor.repdistiller, .conv1x1] {
            let a = try value(FitNetLoss(studentTaps: sTap, teacherTaps: tTap, regressor: r, seed: 7), tokens, teacherMap)
            let b = try value(FitNetLoss(studentTaps: sTap, teacherTaps: tTap, regressor: r, seed: 7), grid, teacherMap)
            XCTAssertEqual(a, b, "fitnet \(r)")
        }
        // a conv student facing a transformer teacher's tokens: the teacher side is converted
        let c = try value(MutualInformationLoss(studentTaps: tTap, teacherTaps: sTap, seed: 7), teacherMap, tokens)
        let d = try value(MutualInformationLoss(studentTaps: tTap, teacherTaps: sTap, seed: 7), teacherMap, grid)
        XCTAssertEqual(c, d)
    }

    func testAViTStudentDistilsFromAConvTeacher() throws {
        let input = ModelInput(channels: 1, height: 8, width: 8, classes: 3)
        let teacher = try ModelZoo.make("cnn:4x8,fc=16", input: input, seed: 1)
        let student = try ModelZoo.make("vit:patch=2,dim=8,heads=2,depth=2,ff=16", input: input, seed: 2)
        let methods = [MethodSpec(name: "ce"),
                       MethodSpec(name: "mi", weight: 0.5, options: ["student": "layers.0,layers.1", "teacher": "conv1,conv2", "lambda": "learned"]),
                       MethodSpec(name: "fitnet", weight: 0.5, options: ["student": "layers.1", "teacher": "conv2", "hint_epochs": "0"])]
        let session = try DistillationSession(student: student, teacher: ModelTeacher(teacher, classCount: 3), methods: methods,
                                              probe: seeded([2, 1, 8, 8], seed: 3))
        let batch = Batch(images: seeded([4, 1, 8, 8], seed: 4), labels: IntTensor([0, 1, 2, 0]), indices: [0, 1, 2, 3])
        let (loss, logits) = try session.loss(batch)
        XCTAssertEqual(logits.shape, [4, 3])
        XCTAssertTrue(loss.item.isFinite)
        loss.backward()
        XCTAssertNotNil(student.namedParameters().first { $0.path == "patch_embed.weight" }?.parameter.gradient, "no gradient reached the patch embedding")
    }
}
