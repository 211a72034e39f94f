// Micro-benchmark: fused optimizer steps over the MLP 784-1200-1200-10 parameters, and the cost
// of attached feature taps on a forward pass. Run: swift run -c release OptimizerBench
import DistillCore
import DistillNN
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }

// MLP 784-1200-1200-10 parameter set (2.39 M floats)
var g = SeededGenerator(seed: 1)
let net = Sequential(Linear(784, 1200, using: &g), ReLU(), Linear(1200, 1200, using: &g), ReLU(), Linear(1200, 10, using: &g))
let params = net.namedParameters()
let n = net.parameterCount()
// give every parameter a gradient
let x = Tensor.uniform([8, 784], using: &g)
net(x).sum().backward()

func bench(_ name: String, _ opt: Optimizer) {
    for _ in 0..<5 { opt.step() }
    var times: [Double] = []
    for _ in 0..<7 {
        let t0 = now()
        for _ in 0..<20 { opt.step() }
        times.append((now() - t0) / 20)
    }
    times.sort()
    let med = times[3]
    print("\(name): \(String(format: "%.3f", med * 1e3)) ms/step (min \(String(format: "%.3f", times[0] * 1e3)), max \(String(format: "%.3f", times[6] * 1e3))), \(String(format: "%.2f", Double(n) / med / 1e9)) G params/s")
}
print("parameters: \(n)")
bench("SGD momentum+wd", SGD(params, learningRate: 1e-6, momentum: 0.9, weightDecay: 1e-4))
bench("SGD nesterov", SGD(params, learningRate: 1e-6, momentum: 0.9, nesterov: true))
bench("Adam", Adam(params, learningRate: 1e-6))
bench("AdamW", Adam.adamW(params, learningRate: 1e-6))
// tap overhead: forward with and without taps attached elsewhere
let xb = Tensor.uniform([128, 784], using: &g)
func fwd(_ label: String) {
    var ts: [Double] = []
    for _ in 0..<7 { let t0 = now(); for _ in 0..<10 { _ = withoutGradients { net(xb) } }; ts.append((now() - t0) / 10) }
    ts.sort(); print("\(label): forward batch 128 \(String(format: "%.3f", ts[3] * 1e3)) ms")
}
fwd("no taps")
let cap = try! net.attachTaps([FeatureTap(path: "1"), FeatureTap(path: "3", point: .output)])
fwd("2 taps")
cap.detach()
