// What checksumming a training checkpoint costs next to writing it (issue 11: under 5 %).
//
//   checkpoint-bench [--model mlp:1200x1200] [--rounds 7] [--dir DIR]
//
// The checkpoint is a real one's contents: the model's parameters and buffers plus SGD momentum
// buffers of the same sizes (the optimizer state of `distill train`). Each round times, in
// alternating order, (a) the checksums alone (XXH64 of every tensor and of the metadata, what
// `TrainingCheckpoint.write` adds) and (b) the write itself (serialise, write a temporary file,
// fsync, rename: `SafeTensors.write`). Output: one JSON line per round, then the median ratio.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import DistillCore
import DistillNN
import Distill

var model = "mlp:1200x1200", rounds = 7, dir = FileManager.default.temporaryDirectory.path
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst() else { fputs("checkpoint-bench: \(a) needs a value\n", stderr); exit(2) }
    switch a {
    case "--model": model = v
    case "--rounds": rounds = max(Int(v) ?? 7, 1)
    case "--dir": dir = v
    default: fputs("checkpoint-bench: unknown argument \(a)\n", stderr); exit(2)
    }
}

let net: Module
do { net = try ModelZoo.make(model) } catch { fputs("checkpoint-bench: \(error)\n", stderr); exit(2) }
var tensors: [String: Tensor] = [:]
for (k, v) in net.stateDict() {
    tensors["model.\(k)"] = v
    tensors["optimizer.\(k).momentum"] = v * 0.5
}
let meta = ["format": TrainingCheckpoint.format, "epoch": "3", "batch": "0", "step": "1407", "config": String(repeating: "x", count: 600)]
let bytes = tensors.values.reduce(0) { $0 + $1.count * 4 }
let path = dir + "/checkpoint-bench-\(getpid()).safetensors"
defer { unlink(path) }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

var ratios: [Double] = []
do {
    for r in 0..<rounds {
        var sum = 0.0, write = 0.0
        let order = r % 2 == 0 ? [0, 1] : [1, 0]
        for side in order {
            if side == 0 { sum = try seconds { _ = try TrainingCheckpoint.withChecksums(meta, tensors: tensors) } }
            else { write = try seconds { try SafeTensors(tensors: tensors, metadata: meta).write(to: path) } }
        }
        ratios.append(sum / write)
        print("{\"round\": \(r), \"checksum_s\": \(sum), \"write_s\": \(write), \"ratio\": \(sum / write)}")
    }
} catch { fputs("checkpoint-bench: \(error)\n", stderr); exit(1) }
let sorted = ratios.sorted()
print("{\"model\": \"\(model)\", \"checkpoint_mib\": \(Double(bytes) / 1_048_576), \"median_ratio\": \(sorted[sorted.count / 2]), \"min_ratio\": \(sorted.first!), \"max_ratio\": \(sorted.last!), \"bound\": 0.05}")
