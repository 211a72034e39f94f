import Foundation
import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// CRD scoring at CIFAR-100 scale (N = 50000, K = 16384, b = 64, d = 128): the product of the
/// anchors with the whole bank then a gather (what `ContrastiveRepresentationLoss` does) against
/// RepDistiller's gather of b·(K+1) bank rows then a batched product. Forward + backward to the
/// anchors, medians of interleaved trials after a warm-up. Skipped unless DISTILL_BENCH=1:
///
///     DISTILL_BENCH=1 swift test -c release --filter RelationCRDBenchmark
final class RelationCRDBenchmark: XCTestCase {
    func testScoringStrategies() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["DISTILL_BENCH"] == "1", "set DISTILL_BENCH=1 to run")
        let n = 50_000, k = 16_384, b = 64, d = 128
        var g = SeededGenerator(seed: 1)
        let memory = Tensor.uniform([n, d], low: -0.15, high: 0.15, using: &g)
        let anchors = RelationSupport.l2Normalize(Tensor.uniform([b, d], low: -1, high: 1, using: &g), axis: 1)
        var idx: [Int] = []
        for i in 0..<b { idx.append(i); for _ in 0..<k { idx.append(g.nextInt(below: n)) } }
        let contrast = IntTensor(shape: [b, k + 1], scalars: idx)
        let flat = IntTensor(idx)

        func wholeBank() -> Float {
            let v = anchors.detached().requiringGradient()
            let s = (Tensor.matmul(v, memory, transposeB: true).gather(alongAxis: 1, indices: contrast) / 0.07).exp()
            let l = s.mean(); l.backward()
            return v.gradient!.scalars[0]
        }
        func gatheredRows() -> Float {
            let v = anchors.detached().requiringGradient()
            let w = memory.indexSelect(alongAxis: 0, indices: flat).reshaped([b, k + 1, d])
            let s = (Tensor.matmul(w, v.reshaped([b, d, 1])).reshaped([b, k + 1]) / 0.07).exp()
            let l = s.mean(); l.backward()
            return v.gradient!.scalars[0]
        }
        func time(_ f: () -> Float) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = f()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        }
        XCTAssertEqual(wholeBank(), gatheredRows(), accuracy: 1e-4)   // same numbers; warm-up
        var a: [Double] = [], c: [Double] = []
        for _ in 0..<7 { a.append(time(wholeBank)); c.append(time(gatheredRows)) }
        a.sort(); c.sort()
        print(String(format: "CRD scoring, one bank, fwd+bwd: whole-bank product %.1f ms (%.1f–%.1f), gathered rows %.1f ms (%.1f–%.1f), ratio %.2f",
                     a[3], a[0], a[6], c[3], c[0], c[6], c[3] / a[3]))
    }
}
