import XCTest
@testable import DistillCore

/// The 16-lane row reductions of `BatchNormKernels` (and `Reduce.contiguousSum`) against Double sums, over lengths that hit
/// every tail (below one vector, between one and four, exact multiples, one past), and the
/// per-channel moments and gradient sums they feed.
final class BatchNormKernelTests: XCTestCase {
    let lengths = [0, 1, 15, 16, 17, 31, 33, 63, 64, 65, 127, 200, 1024, 1031]

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: -3...5, using: &g) }
    }

    func testRowSumsMatchDoubleSums() {
        for n in lengths {
            let x = values(n, seed: UInt64(n)), g = values(n, seed: UInt64(n) + 99)
            let mu: Float = 0.7
            let sum = x.reduce(0.0) { $0 + Double($1) }
            let sq = x.reduce(0.0) { $0 + Double(($1 - mu) * ($1 - mu)) }
            let gs = g.reduce(0.0) { $0 + Double($1) }
            let dot = zip(g, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1 - mu) }
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeBufferPointer { gp in
                    let xb = xp.baseAddress ?? UnsafePointer(bitPattern: 64)!, gb = gp.baseAddress ?? UnsafePointer(bitPattern: 64)!
                    let tol = 1e-5 * Double(max(n, 1)) * 5
                    XCTAssertEqual(Double(Reduce.contiguousSum(xb, n)), sum, accuracy: tol, "sum, n = \(n)")
                    XCTAssertEqual(Double(BatchNormKernels.squaredDeviations(xb, n, from: mu)), sq, accuracy: tol * 5, "squares, n = \(n)")
                    let (a, b) = BatchNormKernels.sumAndCentredDot(gb, xb, n, centre: mu)
                    XCTAssertEqual(Double(a), gs, accuracy: tol, "Σg, n = \(n)")
                    XCTAssertEqual(Double(b), dot, accuracy: tol * 5, "Σg·(x − μ), n = \(n)")
                }
            }
        }
    }

    func testMomentsAndGradientSumsPerChannel() {
        for (n, c, s) in [(3, 2, 17), (2, 3, 64), (4, 5, 1), (2, 16, 65)] {
            let x = values(n * c * s, seed: 5), g = values(n * c * s, seed: 6)
            var mean = [Double](repeating: 0, count: c), variance = mean, sg = mean, sgx = mean
            for ch in 0..<c {
                let vals = (0..<n).flatMap { i in (0..<s).map { x[(i * c + ch) * s + $0] } }
                mean[ch] = vals.reduce(0.0) { $0 + Double($1) } / Double(vals.count)
                variance[ch] = vals.reduce(0.0) { $0 + (Double($1) - mean[ch]) * (Double($1) - mean[ch]) } / Double(vals.count)
            }
            let (m, v) = x.withUnsafeBufferPointer { BatchNormKernels.moments($0.baseAddress!, n: n, c: c, s: s) }
            let invstd = v.map { 1 / ($0 + 1e-5).squareRoot() }
            for ch in 0..<c {
                XCTAssertEqual(Double(m[ch]), mean[ch], accuracy: 1e-5, "mean, \(n)×\(c)×\(s) channel \(ch)")
                XCTAssertEqual(Double(v[ch]), variance[ch], accuracy: 1e-4, "variance, \(n)×\(c)×\(s) channel \(ch)")
                for i in 0..<n { for j in 0..<s {
                    let k = (i * c + ch) * s + j
                    sg[ch] += Double(g[k]); sgx[ch] += Double(g[k]) * (Double(x[k]) - Double(m[ch])) * Double(invstd[ch])
                } }
            }
            let (a, b) = g.withUnsafeBufferPointer { gp in x.withUnsafeBufferPointer { xp in
                BatchNormKernels.gradientSums(gp.baseAddress!, xp.baseAddress!, n: n, c: c, s: s, mean: m, invstd: invstd) } }
            for ch in 0..<c {
                XCTAssertEqual(Double(a[ch]), sg[ch], accuracy: 1e-3, "Σg, channel \(ch)")
                XCTAssertEqual(Double(b[ch]), sgx[ch], accuracy: 1e-3, "Σg·x̂, channel \(ch)")
            }
        }
    }
}
