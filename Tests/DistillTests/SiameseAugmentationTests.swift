import Foundation
import XCTest
import DistillCore
import DistillData
import DistillTestSupport
@testable import Distill

/// DSA: every transform against the reference's formulas in PyTorch 1.13 with fixed parameters
/// (`Fixtures/make_dsa_fixtures.py` → `Fixtures/dsa_fixtures.json`, read-only), Siamese identity
/// across tensors, gradients (first and second order) to a synthetic tensor through each
/// transform, the draw's ranges, checkpointed random state, and refusals.
final class SiameseAugmentationTests: XCTestCase {
    struct FixtureError: Error, CustomStringConvertible { let description: String }

    static let fixtures: Result<[String: Any], Error> = Result {
        guard let url = Bundle.module.url(forResource: "dsa_fixtures", withExtension: "json", subdirectory: "Fixtures"),
              let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw FixtureError(description: "Fixtures/dsa_fixtures.json is missing or not a JSON object")
        }
        return root
    }

    func tensor(_ o: Any?, _ what: String) throws -> Tensor {
        guard let t = o as? [String: Any], let shape = t["shape"] as? [Int], let data = t["data"] as? [Double], data.count == Shape.count(shape) else {
            throw FixtureError(description: "dsa_fixtures.json: no tensor \(what)")
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    func testEachTransformMatchesTheReferenceFormulas() throws {
        let root = try Self.fixtures.get()
        guard let p = root["params"] as? [String: Any], let cases = root["cases"] as? [String: Any] else { throw FixtureError(description: "dsa_fixtures.json: no params / cases") }
        func f(_ k: String) throws -> [Float] { guard let v = p[k] as? [Double] else { throw FixtureError(description: "params.\(k) missing") }; return v.map { Float($0) } }
        func i(_ k: String) throws -> [Int] { guard let v = p[k] as? [Int] else { throw FixtureError(description: "params.\(k) missing") }; return v }
        guard let flips = p["flip"] as? [Bool] else { throw FixtureError(description: "params.flip missing") }
        let ops: [String: DSADraw.Op] = [
            "brightness": .brightness(try f("brightness"), ratio: 1), "saturation": .saturation(try f("saturation"), ratio: 2),
            "contrast": .contrast(try f("contrast"), ratio: 0.5), "crop": .crop(rows: try i("crop_rows"), columns: try i("crop_columns")),
            "cutout": .cutout(rows: try i("cutout_rows"), columns: try i("cutout_columns"), size: (4, 4)), "flip": .flip(flips),
            "scale": .scale(sx: try f("scale_sx"), sy: try f("scale_sy")), "rotate": .rotate(try f("rotate")),
        ]
        let x0 = try tensor(root["x"], "x"), proj = try tensor(root["proj"], "proj")
        for (name, op) in ops.sorted(by: { $0.key < $1.key }) {
            guard let c = cases[name] as? [String: Any] else { throw FixtureError(description: "dsa_fixtures.json: case \(name) missing") }
            let x = x0.detached().requiringGradient()
            let out = try SiameseAugmentation.apply(DSADraw(height: 8, width: 8, ops: [op]), to: x)
            assertClose(out, try tensor(c["out"], "\(name).out"), "\(name) forward")
            (out * proj).sum().backward()
            assertClose(x.gradient, try tensor(c["grad_x"], "\(name).grad_x"), "\(name) gradient")
        }
    }

    func testSameParametersOnEverySideOfOneStep() throws {
        var g = SeededGenerator(seed: 3)
        let x = Tensor.uniform([6, 3, 12, 12], using: &g)
        for mode in [DSAHyperparameters.Mode.single, .multiple] {
            var p = DSAHyperparameters(); p.mode = mode
            let aug = try SiameseAugmentation(strategy: "color_crop_cutout_flip_scale_rotate", seed: 11, parameters: p)
            for _ in 0..<12 {
                let out = try aug([x, Tensor(shape: x.shape, scalars: x.scalars), x.slice(axis: 0, start: 2, length: 2)])
                XCTAssertEqual(out[0].scalars, out[1].scalars, "\(mode): two copies of one batch")
                XCTAssertEqual(out[0].slice(axis: 0, start: 2, length: 2).scalars, out[2].scalars, "\(mode): a smaller batch gets the same draw")
            }
        }
    }

    func testSyntheticImagesGetGradientsThroughEachTransformToSecondOrder() throws {
        var g = SeededGenerator(seed: 4)
        let real = Tensor.uniform([5, 3, 10, 10], using: &g), proj = Tensor.uniform([2, 3, 10, 10], low: -1, high: 1, using: &g)
        for t in SiameseAugmentation.Transform.allCases {
            let aug = try SiameseAugmentation(strategy: t.rawValue, seed: 21)
            for _ in 0..<3 {
                let syn = Tensor.uniform([2, 3, 10, 10], using: &g).requiringGradient()
                let w = Tensor(shape: [1, 3, 1, 1], scalars: [0.5, -1, 2]).requiringGradient()
                let out = try aug([real, syn])
                XCTAssertEqual(out[0].shape, real.shape)
                // A gradient-matching-like objective: the gradient of a loss in w, itself
                // differentiated with respect to the synthetic images.
                let loss = ((out[1] * w - proj) * (out[1] * w - proj)).sum()
                let gw = gradients(of: loss, wrt: [w], createGraph: true)[0]
                (gw * gw).sum().backward()
                let grad = try XCTUnwrap(syn.gradient, t.rawValue)
                XCTAssertTrue(grad.allFinite, t.rawValue)
                XCTAssertGreaterThan(grad.scalars.map(abs).max() ?? 0, 0, t.rawValue)
            }
        }
    }

    func testDrawsStayInTheReferenceRanges() throws {
        var p = DSAHyperparameters(); p.mode = .multiple; p.batchShared = false
        let aug = try SiameseAugmentation(seed: 5, parameters: p)
        var flips = 0, total = 0
        for _ in 0..<50 {
            let d = aug.draw(batch: 8, height: 28, width: 28)
            XCTAssertEqual(d.ops.count, 8)
            for op in d.ops {
                XCTAssertEqual(op.count, 8)
                switch op {
                case let .brightness(r, _), let .saturation(r, _), let .contrast(r, _): XCTAssertTrue(r.allSatisfy { $0 >= 0 && $0 < 1 })
                case let .crop(r, c): XCTAssertTrue((r + c).allSatisfy { (-4...4).contains($0) })   // ⌊28·0.125 + 0.5⌋ = 4
                case let .cutout(r, c, size):
                    XCTAssertEqual(size.0, 14); XCTAssertEqual(size.1, 14)
                    XCTAssertTrue((r + c).allSatisfy { (0...28).contains($0) })   // even size: 0 ..< 28 + 1
                case let .flip(f): flips += f.filter { $0 }.count; total += f.count
                case let .scale(sx, sy): XCTAssertTrue((sx + sy).allSatisfy { $0 >= 1 / 1.2 - 1e-6 && $0 <= 1.2 + 1e-6 })
                case let .rotate(a): XCTAssertTrue(a.allSatisfy { abs($0) <= 15 * Float.pi / 180 + 1e-6 })
                }
            }
        }
        XCTAssertEqual(Double(flips) / Double(total), 0.5, accuracy: 0.08)
        // Single mode picks one group per draw, each about equally often.
        let single = try SiameseAugmentation(seed: 6)
        var picks: [String: Int] = [:]
        for _ in 0..<600 { picks["\(single.draw(height: 28, width: 28).ops[0])".prefix { $0 != "(" }.description, default: 0] += 1 }
        XCTAssertEqual(Set(picks.keys), ["brightness", "crop", "cutout", "flip", "scale", "rotate"])
        XCTAssertTrue(picks.values.allSatisfy { $0 > 60 }, "\(picks)")
    }

    func testRandomStateIsCheckpointed() throws {
        let aug = try SiameseAugmentation(seed: 8)
        _ = aug.draw(height: 28, width: 28)
        let saved = aug.generatorState
        let next = (0..<5).map { _ in aug.draw(height: 28, width: 28) }
        let resumed = try SiameseAugmentation(seed: 999)
        resumed.generatorState = saved
        XCTAssertEqual((0..<5).map { _ in resumed.draw(height: 28, width: 28) }, next)
    }

    func testBadInputThrows() throws {
        XCTAssertThrowsError(try SiameseAugmentation(strategy: "color_crop_blur", seed: 1)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("'blur'") && m.contains("color, crop, cutout, flip, scale, rotate"), m)
        }
        XCTAssertThrowsError(try SiameseAugmentation(strategy: "color__crop", seed: 1))
        var p = DSAHyperparameters(); p.probFlip = 2
        XCTAssertThrowsError(try SiameseAugmentation(seed: 1, parameters: p)) { XCTAssertTrue("\($0)".contains("prob_flip"), "\($0)") }
        let aug = try SiameseAugmentation(seed: 1)
        XCTAssertThrowsError(try aug([Tensor.zeros([2, 1, 8, 8]), Tensor.zeros([2, 1, 8, 9])])) { XCTAssertTrue("\($0)".contains("[2, 1, 8, 9]"), "\($0)") }
        XCTAssertThrowsError(try aug([Tensor.zeros([8, 8])]))
        var ps = DSAHyperparameters(); ps.batchShared = false
        let perSample = try SiameseAugmentation(seed: 1, parameters: ps)
        XCTAssertThrowsError(try perSample([Tensor.zeros([4, 1, 8, 8]), Tensor.zeros([2, 1, 8, 8])]))
        XCTAssertEqual(try SiameseAugmentation(strategy: "none", seed: 1)([Tensor.ones([1, 1, 2, 2])])[0].scalars, [1, 1, 1, 1])
    }
}
