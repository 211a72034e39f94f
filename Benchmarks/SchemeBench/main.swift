// What a training scheme costs per step, measured through the schemes themselves (the code
// `TrainingLoop` runs): one deep-mutual-learning step of a cohort of two students against one
// supervised step of one student, the same network, batch and optimizer, interleaved in one
// process so both sides see the same machine. The bound: a mutual-learning step of two
// students costs at most 2.1× one student's step.
//
//   scheme-bench [--model mlp:800x800] [--rounds 7] [--seconds 1.5] [--warmup 1] [--update simultaneous|sequential]
//
// Each round times both sides (the order alternates between rounds) and gives
// ratio = (seconds per mutual-learning step) / (seconds per single step). Output: one JSON line
// per round with both rates (steps/s) and the ratio, then a summary line with the median ratio,
// its range and the peak resident memory (VmHWM).

#if canImport(Glibc)
import Glibc
#endif
import DistillCore
import DistillData
import DistillNN
import Distill

struct Options {
    var model = "mlp:800x800"
    var rounds = 7
    var seconds = 1.5
    var warmup = 1.0
    var update = MutualLearning.Update.simultaneous
}

func fail(_ message: String) -> Never {
    fputs("scheme-bench: \(message)\n", stderr)
    exit(2)
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
        case "--model": o.model = value(a)
        case "--rounds": o.rounds = Int(value(a)) ?? 0
        case "--seconds": o.seconds = Double(value(a)) ?? 0
        case "--warmup": o.warmup = Double(value(a)) ?? -1
        case "--update":
            guard let u = MutualLearning.Update(rawValue: value(a)) else { fail("--update is simultaneous or sequential") }
            o.update = u
        case "-h", "--help":
            print("usage: scheme-bench [--model SPEC] [--rounds N] [--seconds S] [--warmup S] [--update simultaneous|sequential]")
            exit(0)
        default: fail("unknown argument \(a)")
        }
    }
    if o.rounds < 1 || o.seconds <= 0 || o.warmup < 0 { fail("--rounds must be ≥ 1, --seconds > 0, --warmup ≥ 0") }
    return o
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func peakRSSMiB() -> Double {
    guard let f = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), f) != nil {
        let s = String(cString: line)
        if s.hasPrefix("VmHWM:") { return (s.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) } ?? -1) / 1024 }
    }
    return -1
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Steps per second of `scheme` over `seconds`, on a fixed batch.
func rate(_ scheme: TrainingScheme, _ batch: Batch, seconds: Double) throws -> Double {
    let updater = StepUpdater(scheme: scheme)
    var steps = 0
    let t0 = now()
    var t = t0
    repeat {
        let ctx = StepContext(epoch: 0, step: steps, batch: steps, stepsPerEpoch: 1_000_000, epochs: 1, learningRate: 0.01)
        let out = try scheme.step(batch, context: ctx, updater: updater)
        guard out.loss.isFinite else { fail("the loss became \(out.loss)") }
        steps += 1
        t = now()
    } while t - t0 < seconds
    return Double(steps) / (t - t0)
}

let options = parseOptions()
var config = TrainingConfig()
config.model = options.model; config.learningRate = 0.01
var g = SeededGenerator(seed: 0)
let batch = Batch(images: Tensor.uniform([128, 1, 28, 28], using: &g), labels: IntTensor((0..<128).map { _ in Int(g.nextInt(below: 10)) }),
                  indices: Array(0..<128))
do {
    let single = SupervisedScheme(model: try ModelZoo.make(options.model, input: .fashionMNIST, seed: 1), spec: options.model, config: config)
    let cohort = try MutualLearning(cohort: [("a", try ModelZoo.make(options.model, input: .fashionMNIST, seed: 1), options.model),
                                             ("b", try ModelZoo.make(options.model, input: .fashionMNIST, seed: 2), options.model)],
                                    config: config, update: options.update)
    _ = try rate(single, batch, seconds: options.warmup)
    _ = try rate(cohort, batch, seconds: options.warmup)
    var ratios: [Double] = []
    for round in 0..<options.rounds {
        var s = 0.0, c = 0.0
        if round % 2 == 0 {
            s = try rate(single, batch, seconds: options.seconds); c = try rate(cohort, batch, seconds: options.seconds)
        } else {
            c = try rate(cohort, batch, seconds: options.seconds); s = try rate(single, batch, seconds: options.seconds)
        }
        ratios.append(s / c)
        print("{\"round\": \(round), \"single_steps_per_s\": \(s), \"mutual_steps_per_s\": \(c), \"ratio\": \(s / c)}")
    }
    print("{\"model\": \"\(options.model)\", \"threads\": \(Threads.count), \"update\": \"\(options.update.rawValue)\", \"median_ratio\": \(median(ratios)), "
          + "\"min_ratio\": \(ratios.min()!), \"max_ratio\": \(ratios.max()!), \"bound\": 2.1, \"peak_rss_mib\": \(peakRSSMiB())}")
} catch {
    fail("\(error)")
}
