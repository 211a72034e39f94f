import Foundation
import XCTest
import DistillTestSupport
import DistillCore

/// `affineGrid` / `gridSample` against PyTorch 1.13's `F.affine_grid` / `F.grid_sample` (bilinear,
/// zeros padding, align_corners False and True): `Fixtures/make_sampling_fixtures.py` →
/// `Fixtures/sampling_reference.json` (read-only here). Gradients are those of sum(out · proj).
/// Tolerance: |a − b| ≤ 1e-5 + 1e-4·|b|. Plus the adjoint identity ⟨S x, y⟩ = ⟨x, Sᵀ y⟩.
final class SamplingReferenceTests: XCTestCase {
    struct FixtureError: Error, CustomStringConvertible { let description: String }

    func fixture(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: "sampling_reference", withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError(description: "Fixtures/sampling_reference.json is missing from the test bundle")
        }
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        guard let c = (root?["cases"] as? [String: Any])?[name] as? [String: Any] else {
            throw FixtureError(description: "sampling_reference.json: case \(name) is missing")
        }
        return c
    }

    func tensor(_ c: [String: Any], _ key: String) throws -> Tensor {
        guard let t = c[key] as? [String: Any], let shape = t["shape"] as? [Int], let data = t["data"] as? [Double],
              data.count == Shape.count(shape) else {
            throw FixtureError(description: "sampling_reference.json: no tensor \(key)")
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    func testAffineGridAndGridSampleMatchPyTorch() throws {
        for align in [false, true] {
            let c = try fixture("affine_grid_sample_align_\(align)")
            let x = try tensor(c, "x").requiringGradient()
            let theta = try tensor(c, "theta"), proj = try tensor(c, "proj")
            let grid = affineGrid(theta: theta, size: [2, 3, 4, 7], alignCorners: align)
            assertClose(grid, try tensor(c, "grid"), "affine_grid align_corners=\(align)")
            let out = gridSample(x, grid: try tensor(c, "grid"), alignCorners: align)
            assertClose(out, try tensor(c, "out"), "grid_sample align_corners=\(align)")
            (out * proj).sum().backward()
            assertClose(x.gradient, try tensor(c, "grad_x"), "grid_sample gradient align_corners=\(align)")
        }
    }

    func testScatterIsTheAdjointOfSample() {
        var g = SeededGenerator(seed: 9)
        let theta = Tensor(shape: [3, 2, 3], scalars: [0.9, -0.3, 0.1, 0.3, 0.9, 0, 1.2, 0, 0, 0, 0.8, 0.2, 1, 0, 0.5, 0, 1, -0.5])
        let plan = SamplingPlan(grid: affineGrid(theta: theta, size: [3, 1, 6, 5]), inputSize: (7, 8))
        let x = Tensor.normal([3, 2, 7, 8], using: &g), y = Tensor.normal([3, 2, 6, 5], using: &g)
        let lhs = (gridSample(x, plan: plan) * y).sum().item, rhs = (x * gridSampleBackward(y, plan: plan)).sum().item
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * Swift.max(1, abs(lhs)))
    }

    func testTranslationAndFlipPlans() {
        let x = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(gridSample(x, plan: .translation(rows: [1], columns: [-1], size: (2, 3))).scalars, [0, 4, 5, 0, 0, 0])
        XCTAssertEqual(gridSample(x, plan: .horizontalFlip([true], size: (2, 3))).scalars, [3, 2, 1, 6, 5, 4])
    }
}
