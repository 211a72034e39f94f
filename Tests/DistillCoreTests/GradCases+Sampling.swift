import Foundation
import DistillCore

/// Gradient checks for fixed-grid resampling (`gridSample` and its adjoint `gridSampleBackward`).
/// Each function multiplies the op's output by a function of its input, so the second-order check
/// differentiates the op's pullback (the other op of the pair) as well. Grid points are kept off
/// pixel centres only so every case uses genuinely fractional bilinear weights; the op is linear
/// in x, so there is no kink to avoid.
extension GradCases {
    /// A rotation by 0.3 rad with scale 1.1 and a shift, so some taps fall outside (zero padding).
    static func samplingGrid(n: Int, h: Int, w: Int, alignCorners: Bool) -> Tensor {
        let (c, s) = (Float(cos(0.3)), Float(sin(0.3)))
        let theta = Tensor(shape: [n, 2, 3], scalars: (0..<n).flatMap { k -> [Float] in
            [1.1 * c, -1.1 * s, 0.1 * Float(k + 1), 1.1 * s, 1.1 * c, -0.05] })
        return affineGrid(theta: theta, size: [n, 1, h, w], alignCorners: alignCorners)
    }

    static let sampling: [GradCase] = [
        GradCase(.gridSample, "gridSample rotate+scale", [Inputs.uniform([2, 2, 4, 5], seed: 300)]) {
            gridSample($0[0], grid: samplingGrid(n: 2, h: 3, w: 4, alignCorners: false)).pow(2) },
        GradCase(.gridSample, "gridSample align corners", [Inputs.uniform([1, 1, 4, 4], seed: 301)]) {
            let y = gridSample($0[0], grid: samplingGrid(n: 1, h: 4, w: 4, alignCorners: true), alignCorners: true)
            return y * $0[0] },
        GradCase(.gridSample, "gridSample translation plan shared by the batch", [Inputs.uniform([2, 1, 3, 4], seed: 302)]) {
            gridSample($0[0], plan: .translation(rows: [1], columns: [-2], size: (3, 4))).pow(2) },
        GradCase(.gridSampleBackward, [Inputs.uniform([2, 2, 3, 4], seed: 303)]) {
            let plan = SamplingPlan(grid: samplingGrid(n: 2, h: 3, w: 4, alignCorners: false), inputSize: (4, 5))
            return gridSampleBackward($0[0], plan: plan).pow(2) },
        GradCase(.gridSampleBackward, "gridSampleBackward flip", [Inputs.uniform([2, 1, 2, 3], seed: 304)]) {
            gridSampleBackward($0[0], plan: .horizontalFlip([true, false], size: (2, 3))) * $0[0] },
    ]
}
