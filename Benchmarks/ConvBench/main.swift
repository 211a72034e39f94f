// Convolution kernels side by side: im2col + GEMM against oneDNN's primitives (plain NCHW and
// blocked layouts), the `auto` choice (timed) and the `rule` choice (by geometry), on the
// convolution layers of ResNet-20 (3×32×32 CIFAR and 1×28×28) and LeNet-5 at batch 128, forward and forward + backward, modes interleaved
// within every round.
// Build: swift build -c release -Xswiftc -target-cpu -Xswiftc skylake-avx512 --product ConvBench
// Run:   OMP_WAIT_POLICY=PASSIVE .build/release/ConvBench [rounds] [batch]
// Prints one row per layer and mode (median ms over rounds, GFLOP/s), then the conv time of a
// whole ResNet-20 / LeNet-5 training step (each layer weighted by how often the model has it).
import DistillCore
import Foundation

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7 : 7
let batch = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 128 : 128
let modes: [ConvMode] = [.im2col, .dnnlPlain, .dnnlBlocked, .auto, .rule]

struct Layer {
    let model: String, name: String
    let c: Int, hw: Int, o: Int, k: Int, stride: Int, pad: Int, bias: Bool
    /// Whether the layer's input needs a gradient (not for the first layer, whose input is the image).
    let inputGradient: Bool
    /// How many times the model has this layer.
    let count: Int
    var out: Int { (hw + 2 * pad - k) / stride + 1 }
    var forwardFLOPs: Double { 2 * Double(batch * o * c * k * k * out * out) }
    var stepFLOPs: Double { forwardFLOPs * (inputGradient ? 3 : 2) }
}

func resnet20(_ model: String, channels: Int, size: Int) -> [Layer] {
    let s2 = size / 2, s4 = size / 4
    return [
        Layer(model: model, name: "conv1 \(channels)→16", c: channels, hw: size, o: 16, k: 3, stride: 1, pad: 1, bias: false, inputGradient: false, count: 1),
        Layer(model: model, name: "16→16 \(size)²", c: 16, hw: size, o: 16, k: 3, stride: 1, pad: 1, bias: false, inputGradient: true, count: 6),
        Layer(model: model, name: "16→32 s2", c: 16, hw: size, o: 32, k: 3, stride: 2, pad: 1, bias: false, inputGradient: true, count: 1),
        Layer(model: model, name: "1×1 16→32 s2", c: 16, hw: size, o: 32, k: 1, stride: 2, pad: 0, bias: false, inputGradient: true, count: 1),
        Layer(model: model, name: "32→32 \(s2)²", c: 32, hw: s2, o: 32, k: 3, stride: 1, pad: 1, bias: false, inputGradient: true, count: 5),
        Layer(model: model, name: "32→64 s2", c: 32, hw: s2, o: 64, k: 3, stride: 2, pad: 1, bias: false, inputGradient: true, count: 1),
        Layer(model: model, name: "1×1 32→64 s2", c: 32, hw: s2, o: 64, k: 1, stride: 2, pad: 0, bias: false, inputGradient: true, count: 1),
        Layer(model: model, name: "64→64 \(s4)²", c: 64, hw: s4, o: 64, k: 3, stride: 1, pad: 1, bias: false, inputGradient: true, count: 5),
    ]
}
let layers = resnet20("ResNet-20 3×32×32", channels: 3, size: 32) + resnet20("ResNet-20 1×28×28", channels: 1, size: 28) + [
    Layer(model: "LeNet-5 1×28×28", name: "conv1 1→6 5×5 p2", c: 1, hw: 28, o: 6, k: 5, stride: 1, pad: 2, bias: true, inputGradient: false, count: 1),
    Layer(model: "LeNet-5 1×28×28", name: "conv2 6→16 5×5", c: 6, hw: 14, o: 16, k: 5, stride: 1, pad: 0, bias: true, inputGradient: true, count: 1),
]

func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
}
func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }

var rng = SeededGenerator(seed: 7)
struct Operands { let x: Tensor, w: Tensor, b: Tensor?, dy: Tensor }
let operands: [Operands] = layers.map { l in
    Operands(x: Tensor.uniform([batch, l.c, l.hw, l.hw], low: -1, high: 1, using: &rng),
             w: Tensor.kaimingUniform([l.o, l.c, l.k, l.k], using: &rng),
             b: l.bias ? Tensor.zeros([l.o]) : nil,
             dy: Tensor.uniform([batch, l.o, l.out, l.out], low: -1, high: 1, using: &rng))
}

func forward(_ l: Layer, _ op: Operands) {
    _ = withoutGradients { conv2d(op.x, weight: op.w, bias: op.b, stride: (l.stride, l.stride), padding: (l.pad, l.pad)) }
}
func step(_ l: Layer, _ op: Operands) {
    let x = l.inputGradient ? op.x.requiringGradient() : op.x
    let w = op.w.requiringGradient(), b = op.b?.requiringGradient()
    let y = conv2d(x, weight: w, bias: b, stride: (l.stride, l.stride), padding: (l.pad, l.pad))
    _ = gradients(of: y, wrt: (l.inputGradient ? [x] : []) + [w] + (b.map { [$0] } ?? []), seed: op.dy)
}

// warm-up: builds every primitive and lets `auto` measure each geometry once
for (l, op) in zip(layers, operands) {
    for m in modes { setConvolutionMode(m); forward(l, op); step(l, op) }
}
var fwd = [[[Double]]](repeating: [[Double]](repeating: [], count: modes.count), count: layers.count)
var fb = fwd
for r in 0..<rounds {
    for (li, (l, op)) in zip(layers, operands).enumerated() {
        // rotate the order of the modes each round
        for k in 0..<modes.count {
            let mi = (k + r) % modes.count
            setConvolutionMode(modes[mi])
            fwd[li][mi].append(seconds { forward(l, op) })
            fb[li][mi].append(seconds { step(l, op) })
        }
    }
}
setConvolutionMode(nil)

let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "?"
print("ConvBench: batch \(batch), \(rounds) rounds, threads \(ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] ?? "default"), CPU \(cpu)")
print("median ms (GFLOP/s) of forward and of forward + backward (input gradient except for the first layer, weight and bias gradients)")
print("| model | layer | " + modes.map { "\($0.rawValue) fwd | \($0.rawValue) fwd+bwd" }.joined(separator: " | ") + " |")
print("|---|---|" + String(repeating: "---|", count: 2 * modes.count))
var totals: [String: [Double]] = [:]
var order: [String] = []
for (li, l) in layers.enumerated() {
    var cells: [String] = []
    if totals[l.model] == nil { totals[l.model] = [Double](repeating: 0, count: modes.count); order.append(l.model) }
    for mi in modes.indices {
        let f = median(fwd[li][mi]), s = median(fb[li][mi])
        cells.append(String(format: "%.2f (%.0f)", f * 1e3, l.forwardFLOPs / f * 1e-9))
        cells.append(String(format: "%.2f (%.0f)", s * 1e3, l.stepFLOPs / s * 1e-9))
        totals[l.model]![mi] += Double(l.count) * s
    }
    print("| \(l.model) | \(l.name)\(l.count > 1 ? " ×\(l.count)" : "") | " + cells.joined(separator: " | ") + " |")
}
print("")
print("conv time of one training step (fwd+bwd of every conv layer, weighted by count), ms:")
print("| model | " + modes.map(\.rawValue).joined(separator: " | ") + " | im2col ÷ auto | im2col ÷ rule |")
print("|---|" + String(repeating: "---|", count: modes.count + 2))
let autoColumn = modes.firstIndex(of: .auto)!, ruleColumn = modes.firstIndex(of: .rule)!
for m in order {
    let t = totals[m]!
    print("| \(m) | " + t.map { String(format: "%.1f", $0 * 1e3) }.joined(separator: " | ") + String(format: " | %.2f× | %.2f× |", t[0] / t[autoColumn], t[0] / t[ruleColumn]))
}
