// Side-by-side probe for the convolution kernels (PyTorch twin: conv_probe.py beside this file).
// Usage: swift build -c release -Xswiftc -Ounchecked -Xswiftc -target-cpu -Xswiftc x86-64-v4 --product ConvProbe
//        OMP_NUM_THREADS=2 .build/release/ConvProbe [trials]
// Prints the median milliseconds of (a) conv2 32→64, 14×14, batch 128, forward + backward and
// (b) one training step of the CNN conv(1→32)-ReLU-pool-conv(32→64)-ReLU-pool-fc(3136→128)-ReLU-fc(128→10)
// at batch 128 (forward, backward, SGD update), and the resulting images/s.
import DistillCore
import Foundation

let trials = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20 : 20
var rng = SeededGenerator(seed: 1)

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
func time(_ n: Int, _ body: () -> Void) -> [Double] {
    for _ in 0..<3 { body() }
    let clock = ContinuousClock()
    return (0..<n).map { _ in
        let d = clock.measure(body)
        return Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
    }
}

// (a) conv2 alone
let x2 = Tensor.uniform([128, 32, 14, 14], low: -1, high: 1, using: &rng).requiringGradient()
let w2 = Tensor.kaimingUniform([64, 32, 3, 3], using: &rng).requiringGradient()
let b2 = Tensor.zeros([64]).requiringGradient()
let seed2 = Tensor.uniform([128, 64, 14, 14], low: -1, high: 1, using: &rng)
let fwd = time(trials) { _ = withoutGradients { conv2d(x2, weight: w2, bias: b2, padding: (1, 1)) } }
let fb = time(trials) {
    let y = conv2d(x2, weight: w2, bias: b2, padding: (1, 1))
    _ = gradients(of: y, wrt: [x2, w2, b2], seed: seed2)
}

// (b) the CNN training step
var params: [Tensor] = [
    Tensor.kaimingUniform([32, 1, 3, 3], using: &rng), Tensor.zeros([32]),
    Tensor.kaimingUniform([64, 32, 3, 3], using: &rng), Tensor.zeros([64]),
    Tensor.uniform([3136, 128], low: -0.02, high: 0.02, using: &rng), Tensor.zeros([128]),
    Tensor.uniform([128, 10], low: -0.1, high: 0.1, using: &rng), Tensor.zeros([10]),
]
let images = Tensor.uniform([128, 1, 28, 28], low: 0, high: 1, using: &rng)
let labels = IntTensor((0..<128).map { $0 % 10 })
let step = time(trials) {
    let p = params.map { $0.requiringGradient() }
    var h = maxPool2d(conv2d(images, weight: p[0], bias: p[1], padding: (1, 1)).relu(), kernel: (2, 2))
    h = maxPool2d(conv2d(h, weight: p[2], bias: p[3], padding: (1, 1)).relu(), kernel: (2, 2))
    h = (Tensor.matmul(h.reshaped([128, 3136]), p[4]) + p[5]).relu()
    let loss = crossEntropy(logits: Tensor.matmul(h, p[6]) + p[7], labels: labels)
    let gs = gradients(of: loss, wrt: p)
    for i in 0..<params.count {
        let g = gs[i]
        params[i].withUnsafeMutableBufferPointer { w in
            g.withUnsafeBufferPointer { gp in for j in 0..<w.count { w[j] -= 0.01 * gp[j] } }
        }
    }
}
func show(_ name: String, _ xs: [Double]) {
    print("\(name): median \(String(format: "%.2f", median(xs))) ms (min \(String(format: "%.2f", xs.min()!)), max \(String(format: "%.2f", xs.max()!)))")
}
show("swift conv2 forward", fwd)
show("swift conv2 forward+backward", fb)
show("swift cnn train step", step)
print("swift cnn img/s: \(Int(128 / median(step) * 1e3))")
