// Throughput benchmark of the engine, written with DistillCore ops directly (no layers), so the
// figures measure the engine: kernels, allocation and the tape. `Benchmarks/run.py` runs it
// interleaved with `torch_bench.py` and `jax_bench.py`, which implement the same workloads.
//
//   distill-bench [--workloads a,b,c,d,e,f,g] [--trials 5] [--seconds 2] [--warmup 1] [--seed 0]
//
// Workloads (random inputs of MNIST shape 1×28×28, 10 classes, seeded):
//   a  MLP 784-1200-1200-10, ReLU, batch 128, SGD momentum 0.9 lr 0.01, cross-entropy (train)
//   b  the same with dropout 0.5 after each hidden ReLU (train)
//   c  CNN conv(1→32,3×3,p1)-ReLU-pool2-conv(32→64,3×3,p1)-ReLU-pool2-linear(3136→128)-ReLU-linear(128→10), batch 128 (train)
//   d  inference of (a), forward only without the tape, batch 1024
//   e  a distillation step: the MLP of (a) as teacher, forward only, and an MLP 784-800-800-10
//      student trained on Hinton's loss α·T²·KL(teacher ‖ student at T) + (1 − α)·CE, T = 4,
//      α = 0.9, batch 128, SGD momentum 0.9 lr 0.01
//   f  ResNet-20 (the zoo's, with its layers and SGD) trained on 3×32×32 inputs, batch 128 (ResNet.swift)
//   g  the same on 1×28×28 inputs
// Output: one JSON line per workload with images/s of each timed trial, their median and the
// process's peak resident memory (VmHWM).

#if canImport(Glibc)
import Glibc
#endif
import DistillCore

// MARK: - command line

struct Options {
    var workloads = ["a", "b", "c", "d", "e", "f", "g"]
    var trials = 5
    var seconds = 2.0
    var warmup = 1.0
    var seed: UInt64 = 0
    /// Print the training loss every 50 steps to stderr (to see that the model learns).
    var verbose = false
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let v = args.popFirst() else { fail("\(flag) needs a value") }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--workloads": o.workloads = value(a).split(separator: ",").map(String.init)
        case "--trials": o.trials = Int(value(a)) ?? 0
        case "--seconds": o.seconds = Double(value(a)) ?? 0
        case "--warmup": o.warmup = Double(value(a)) ?? -1
        case "--seed": o.seed = UInt64(value(a)) ?? 0
        case "--verbose": o.verbose = true
        case "-h", "--help":
            print("usage: distill-bench [--workloads a,b,c,d,e,f,g] [--trials N] [--seconds S] [--warmup S] [--seed N] [--verbose]")
            exit(0)
        default: fail("unknown argument \(a)")
        }
    }
    for w in o.workloads where !["a", "b", "c", "d", "e", "f", "g"].contains(w) { fail("unknown workload \(w) (known: a, b, c, d, e, f, g)") }
    if o.trials < 1 || o.seconds <= 0 || o.warmup < 0 { fail("--trials must be ≥ 1, --seconds > 0, --warmup ≥ 0") }
    return o
}

func fail(_ message: String) -> Never {
    fputs("distill-bench: \(message)\n", stderr)
    exit(2)
}

// MARK: - measurement helpers

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in MiB (VmHWM of /proc/self/status).
func peakRSSMiB() -> Double {
    guard let f = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), f) != nil {
        let s = String(cString: line)
        if s.hasPrefix("VmHWM:") {
            let kb = s.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) } ?? -1
            return kb / 1024
        }
    }
    return -1
}

/// User plus system CPU time of the process, in seconds.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
}

/// Images per CPU-second over the timed trials (a noise-robust figure for A/B runs with
/// OMP_NUM_THREADS=1; with more threads it counts OpenMP's spinning too).
nonisolated(unsafe) var imagesPerCPUSecond = 0.0

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Runs `step` (which processes `batch` images) for `warmup` seconds, then `trials` timed trials
/// of about `seconds` each; returns images/s per trial.
func measure(batch: Int, options: Options, _ step: () -> Void) -> [Double] {
    let w0 = now()
    step()
    while now() - w0 < options.warmup { step() }
    var rates: [Double] = []
    let cpu0 = cpuSeconds()
    var images = 0
    defer { imagesPerCPUSecond = Double(images) / (cpuSeconds() - cpu0) }
    for _ in 0..<options.trials {
        var steps = 0
        let t0 = now()
        var t = t0
        repeat { step(); steps += 1; t = now() } while t - t0 < options.seconds
        rates.append(Double(steps * batch) / (t - t0))
        images += steps * batch
    }
    return rates
}

func report(_ workload: String, _ rates: [Double]) {
    /// One decimal, as JSON accepts it.
    func fmt(_ x: Double) -> String { String((x * 10).rounded() / 10) }
    let list = rates.map(fmt).joined(separator: ", ")
    print("{\"side\": \"swift\", \"workload\": \"\(workload)\", \"unit\": \"images/s\", \"trials\": [\(list)], "
          + "\"median\": \(fmt(median(rates))), \"peak_rss_mib\": \(fmt(peakRSSMiB())), "
          + "\"images_per_cpu_s\": \(fmt(imagesPerCPUSecond))}")
    fflush(stdout)
}

// MARK: - model pieces

/// A fixed pool of seeded random batches, cycled through so the inputs are not all identical.
struct Batches {
    let inputs: [Tensor]
    let labels: [IntTensor]
    private(set) var next = 0

    init(count: Int, shape: [Int], using g: inout SeededGenerator) {
        inputs = (0..<count).map { _ in Tensor.uniform(shape, low: 0, high: 1, using: &g) }
        labels = (0..<count).map { _ in IntTensor((0..<shape[0]).map { _ in g.nextInt(below: 10) }) }
    }

    mutating func take() -> (Tensor, IntTensor) {
        defer { next = (next + 1) % inputs.count }
        return (inputs[next], labels[next])
    }
}

/// PyTorch's default Linear/Conv initialisation: U(−1/√fan_in, 1/√fan_in) for weight and bias.
func parameter(_ shape: [Int], fanIn: Int, using g: inout SeededGenerator) -> Tensor {
    let b = 1 / Float(fanIn).squareRoot()
    return Tensor.uniform(shape, low: -b, high: b, using: &g).requiringGradient()
}

/// x · wᵀ + b with w [out, in] and b [out].
@inline(__always)
func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
    Tensor.matmul(x, w, transposeB: true) + b
}

/// SGD with momentum, PyTorch's form: v ← μ·v + g, p ← p − lr·v, one fused in-place loop per leaf.
struct SGDMomentum {
    let lr: Float, momentum: Float
    var velocity: [UnsafeMutablePointer<Float>] = []

    init(_ params: [Tensor], lr: Float, momentum: Float) {
        self.lr = lr; self.momentum = momentum
        velocity = params.map { p in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: p.count)
            v.initialize(repeating: 0, count: p.count)
            return v
        }
    }

    func step(_ params: inout [Tensor]) {
        let lr = self.lr, mu = self.momentum
        for i in params.indices {
            guard let g = params[i].gradient else { continue }
            let v = velocity[i]
            g.withUnsafeBufferPointer { gb in
                let gp = gb.baseAddress!
                params[i].withUnsafeMutableBufferPointer { pb in
                    let p = pb.baseAddress!
                    parallelChunks(pb.count) { r in
                        for j in r {
                            let vj = mu * v[j] + gp[j]
                            v[j] = vj
                            p[j] -= lr * vj
                        }
                    }
                }
            }
            params[i].zeroGradient()
        }
    }
}

struct MLP {
    var params: [Tensor]   // w1, b1, w2, b2, w3, b3

    /// 784-h-h-10 (h = 1200 for workloads a, b, d and the teacher of e; 800 for e's student).
    init(hidden h: Int = 1200, using g: inout SeededGenerator) {
        params = [
            parameter([h, 784], fanIn: 784, using: &g), parameter([h], fanIn: 784, using: &g),
            parameter([h, h], fanIn: h, using: &g), parameter([h], fanIn: h, using: &g),
            parameter([10, h], fanIn: h, using: &g), parameter([10], fanIn: h, using: &g),
        ]
    }

    /// Logits [N, 10] of x [N, 784]; `drop` applies dropout after each hidden ReLU.
    func callAsFunction(_ x: Tensor, drop: ((Tensor) -> Tensor)? = nil) -> Tensor {
        var h = linear(x, params[0], params[1]).relu()
        if let drop { h = drop(h) }
        h = linear(h, params[2], params[3]).relu()
        if let drop { h = drop(h) }
        return linear(h, params[4], params[5])
    }
}

// MARK: - workloads

func trainMLP(_ options: Options, dropout useDropout: Bool) -> [Double] {
    var g = SeededGenerator(seed: options.seed)
    var model = MLP(using: &g)
    let opt = SGDMomentum(model.params, lr: 0.01, momentum: 0.9)
    var data = Batches(count: 8, shape: [128, 784], using: &g)
    var dropG = SeededGenerator(seed: options.seed &+ 1)
    let drop: ((Tensor) -> Tensor)? = useDropout ? { dropout($0, probability: 0.5, using: &dropG) } : nil
    var steps = 0
    return measure(batch: 128, options: options) {
        let (x, y) = data.take()
        let loss = crossEntropy(logits: model(x, drop: drop), labels: y)
        if options.verbose && steps % 50 == 0 { fputs("step \(steps): loss \(loss.item)\n", stderr) }
        steps += 1
        loss.backward()
        opt.step(&model.params)
    }
}

/// Hinton's loss: α·T²·KL(softmax(t/T) ‖ softmax(s/T)) summed over classes and averaged over the
/// batch, plus (1 − α)·cross-entropy with the labels.
func hintonLoss(student s: Tensor, teacher t: Tensor, labels: IntTensor, temperature T: Float, alpha: Float) -> Tensor {
    let (pt, logPt) = withoutGradients { ((t / T).softmax(alongAxis: 1), (t / T).logSoftmax(alongAxis: 1)) }
    let kl = (pt * (logPt - (s / T).logSoftmax(alongAxis: 1))).sum() / Float(s.shape[0])
    return kl * (alpha * T * T) + crossEntropy(logits: s, labels: labels) * (1 - alpha)
}

func distillMLP(_ options: Options) -> [Double] {
    var g = SeededGenerator(seed: options.seed)
    let teacher = MLP(using: &g)
    var student = MLP(hidden: 800, using: &g)
    let opt = SGDMomentum(student.params, lr: 0.01, momentum: 0.9)
    var data = Batches(count: 8, shape: [128, 784], using: &g)
    var steps = 0
    return measure(batch: 128, options: options) {
        let (x, y) = data.take()
        let t = withoutGradients { teacher(x) }
        let loss = hintonLoss(student: student(x), teacher: t, labels: y, temperature: 4, alpha: 0.9)
        if options.verbose && steps % 50 == 0 { fputs("step \(steps): loss \(loss.item)\n", stderr) }
        steps += 1
        loss.backward()
        opt.step(&student.params)
    }
}

func inferMLP(_ options: Options) -> [Double] {
    var g = SeededGenerator(seed: options.seed)
    let model = MLP(using: &g)
    var data = Batches(count: 4, shape: [1024, 784], using: &g)
    var sink: Float = 0
    let rates = withoutGradients {
        measure(batch: 1024, options: options) {
            let (x, _) = data.take()
            sink += model(x).withUnsafeBufferPointer { $0[0] }
        }
    }
    if sink.isNaN { fputs("distill-bench: inference produced NaN\n", stderr) }
    return rates
}

// MARK: - main

let options = parseOptions()
for w in options.workloads {
    switch w {
    case "a": report("a", trainMLP(options, dropout: false))
    case "b": report("b", trainMLP(options, dropout: true))
    case "c": report("c", cnnWorkload(options))
    case "d": report("d", inferMLP(options))
    case "e": report("e", distillMLP(options))
    case "f": report("f", resnet20Workload(options, channels: 3, side: 32))
    case "g": report("g", resnet20Workload(options, channels: 1, side: 28))
    default: break
    }
}
