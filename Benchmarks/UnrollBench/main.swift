// One outer iteration of unrolled dataset distillation (Wang et al. 2018): K = 1, 5, 10 SGD steps
// on 10 synthetic images per class (all 100 in every step), LeNet-5 on Fashion-MNIST shapes
// (1×28×28, 10 classes), real batch 256, hypergradient by reverse mode through the unrolled
// graph. Prints time per outer iteration (median of 5 after 1 warm-up) and peak RSS (getrusage,
// one process per K so the high-water mark is that K's). Beside it: Benchmarks/unroll_torch.py.
//
//   swift build -c release -Xswiftc -target-cpu -Xswiftc skylake-avx512 --product UnrollBench
//   .build/release/UnrollBench memory <K>
//   .build/release/UnrollBench accuracy <iterations> [fixed|random]   (real Fashion-MNIST)
import Foundation
import DistillCore
import DistillNN
import DistillData
import Distill

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
func maxRSSMiB() -> Double { var u = rusage(); getrusage(RUSAGE_SELF.rawValue, &u); return Double(u.ru_maxrss) / 1024 }
func lenet(_ seed: UInt64) -> Module { LeNet5(channels: 1, height: 28, width: 28, classes: 10, seed: seed) }

let args = CommandLine.arguments
guard args.count >= 3, let n = Int(args[2]), n > 0, n <= 100_000 else {
    FileHandle.standardError.write("usage: UnrollBench memory <K 1...100> | accuracy <iterations> [fixed|random]\n".data(using: .utf8)!)
    exit(1)
}

switch args[1] {
case "memory":
    let K = n
    var g = SeededGenerator(seed: 1)
    let net = lenet(1)
    let theta0 = net.parameterLeaves()
    let labels = IntTensor((0..<10).flatMap { c in Array(repeating: c, count: 10) })
    let images = Tensor.normal([100, 1, 28, 28], using: &g)
    let real = Dataset(name: "real", images: Tensor.uniform([256, 1, 28, 28], using: &g),
                       labels: IntTensor((0..<256).map { $0 % 10 }), classCount: 10)
    let raw = Tensor(shape: [K], repeating: Float(log(expm1(0.02))))
    let before = maxRSSMiB()
    var times: [Double] = []
    for rep in 0..<6 {
        let t0 = now()
        let x = images.requiringGradient(), r = raw.requiringGradient()
        let loss = try UnrolledDistillation.unrolledLoss(network: net, theta0: theta0, images: x, labels: labels,
                                                         rawRates: r, steps: 1, real: real)
        let grads = gradients(of: loss, wrt: [x, r])
        precondition(grads[0].allFinite)
        if rep > 0 { times.append(now() - t0) }
    }
    times.sort()
    print(String(format: "swift K=%d: %.1f ms per outer iteration (median of 5, min %.1f), peak RSS %.0f MiB (%.0f before the first iteration)",
                 K, times[2] * 1e3, times[0] * 1e3, maxRSSMiB(), before))
case "accuracy":
    let train = try Dataset.fashionMNIST(split: .train), test = try Dataset.fashionMNIST(split: .test)
    var config = UnrolledDistillationConfig()
    config.steps = 10; config.epochs = 3; config.imagesPerClassPerStep = 1
    config.iterations = n; config.realBatchSize = 1024
    config.initialisation = args.count > 3 && args[3] == "random" ? .random : .fixed
    let t0 = now()
    let result = try UnrolledDistillation.run(train: train, config: config, makeNetwork: lenet) { it, loss in
        if it % 25 == 0 { print("iteration \(it): outer loss \(loss)") }
    }
    let elapsed = now() - t0
    let net = lenet(config.seed)
    // fixed: evaluate from the θ₀ it was learned for; random: from a fresh draw it never saw
    let theta0 = config.initialisation == .fixed ? net.parameterLeaves() : lenet(999).parameterLeaves()
    let distilled = try UnrolledDistillation.accuracy(network: net, theta0: theta0, images: result.images, labels: result.labels,
                                                      learningRates: result.learningRates, steps: 10, test: test)
    var g = SeededGenerator(seed: 9)
    var rows: [Int] = []
    for _ in 0..<10 { for c in 0..<10 {
        let ofClass = (0..<train.count).filter { train.labels.scalars[$0] == c }
        rows.append(ofClass[Int.random(in: 0..<ofClass.count, using: &g)])
    } }
    let real = train.subset(rows)
    let baseline = try UnrolledDistillation.accuracy(network: net, theta0: theta0, images: real.images, labels: real.labels,
                                                     learningRates: result.learningRates, steps: 10, test: test)
    print(String(format: "%@ init, %d iterations in %.0f s: distilled 100 images → test accuracy %.4f; 100 random real images, same steps → %.4f",
                 config.initialisation.rawValue, n, elapsed, distilled, baseline))
    print("learned η: \(result.learningRates.map { String(format: "%.4f", $0) }.joined(separator: " "))")
default:
    FileHandle.standardError.write("UnrollBench: unknown mode '\(args[1])' (memory | accuracy)\n".data(using: .utf8)!)
    exit(1)
}
