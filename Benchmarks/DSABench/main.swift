// Cost of one differentiable Siamese augmentation (DSA) of a [100, 1, 28, 28] batch: the draw,
// the forward pass and the backward pass to the images, per transform group and for all six in
// sequence (mode 'M'), median of `--trials` timed runs after 5 warm-up runs.
//
//   swift build -c release -Xswiftc -target-cpu -Xswiftc skylake-avx512 --product DSABench
//   .build/release/DSABench [--trials 200]
//
// Output: one line per strategy with the median and the 10th / 90th percentile in milliseconds.
// `dsa_torch_bench.py` beside it times the reference formulas in PyTorch on the same workload.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import DistillCore
import Distill

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

var trials = 200
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    if a == "--trials", let v = args.popFirst(), let n = Int(v), (1...100_000).contains(n) { trials = n } else {
        fputs("usage: DSABench [--trials 1…100000]\n", stderr); exit(1)
    }
}

var g = SeededGenerator(seed: 0)
let x = Tensor.uniform([100, 1, 28, 28], using: &g)
let proj = Tensor.uniform([100, 1, 28, 28], low: -1, high: 1, using: &g)
let strategies: [(String, DSAHyperparameters.Mode)] = SiameseAugmentation.Transform.allCases.map { ($0.rawValue, .multiple) }
    + [("color_crop_cutout_flip_scale_rotate", .single), ("color_crop_cutout_flip_scale_rotate", .multiple)]
for (strategy, mode) in strategies {
    var p = DSAHyperparameters(); p.mode = mode
    let aug = try SiameseAugmentation(strategy: strategy, seed: 1, parameters: p)
    var times: [Double] = []
    for k in 0..<(trials + 5) {
        let leaf = x.detached().requiringGradient()
        let t0 = now()
        let out = try aug([leaf])[0]
        (out * proj).sum().backward()
        let t1 = now()
        precondition(leaf.gradient != nil)
        if k >= 5 { times.append((t1 - t0) * 1e3) }
    }
    times.sort()
    let q = { (f: Double) in times[Swift.min(times.count - 1, Int(f * Double(times.count)))] }
    print("\(strategy) mode \(mode.rawValue): median \(String(format: "%.3f", q(0.5))) ms (p10 \(String(format: "%.3f", q(0.1))), p90 \(String(format: "%.3f", q(0.9)))) over \(times.count) runs")
}
