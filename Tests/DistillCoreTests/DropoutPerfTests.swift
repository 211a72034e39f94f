import Foundation
import XCTest
@testable import DistillCore

/// Dropout throughput on the benchmark's shape (MLP hidden layer 1200, batch 128), against a
/// plain elementwise multiply of the same size as the floor. Skipped unless DISTILL_PERF=1:
///   DISTILL_PERF=1 swift test -c release -Xswiftc -enable-testing --filter DropoutPerfTests
final class DropoutPerfTests: XCTestCase {
    func testDropoutThroughput() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["DISTILL_PERF"] == "1", "set DISTILL_PERF=1 to measure")
        let shape = [128, 1200]
        let x = Inputs.uniform(shape, seed: 1)
        let seed = Inputs.uniform(shape, seed: 2)
        var g = SeededGenerator(seed: 3)
        func seconds(_ body: () -> Void) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        }
        let reps = 50
        var fwd: [Double] = [], fwdBwd: [Double] = [], mul: [Double] = []
        for trial in 0..<12 {
            let a = seconds { for _ in 0..<reps { _ = dropout(x, probability: 0.5, using: &g) } }
            let b = seconds {
                for _ in 0..<reps {
                    let leaf = x.requiringGradient()
                    dropout(leaf, probability: 0.5, using: &g).backward(seed: seed)
                }
            }
            let c = seconds { for _ in 0..<reps { _ = x * seed } }
            if trial >= 2 { fwd.append(a); fwdBwd.append(b); mul.append(c) }   // first two are warm-up
        }
        let n = Double(x.count * reps)
        func report(_ name: String, _ ts: [Double]) -> Double {
            let s = ts.sorted(), med = s[s.count / 2]
            print(String(format: "%@: median %.2f G elements/s (%.2f–%.2f), %.1f µs per [128, 1200]",
                         name, n / med * 1e-9, n / s.last! * 1e-9, n / s.first! * 1e-9, med / Double(reps) * 1e6))
            return med
        }
        let f = report("dropout forward (mask + multiply)", fwd)
        _ = report("dropout forward + backward", fwdBwd)
        let m = report("plain multiply x*y (floor)", mul)
        print(String(format: "forward / multiply time ratio: %.2f", f / m))
    }
}
