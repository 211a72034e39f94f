import DistillCore
import DistillNN
import DistillDistributed
import Foundation

// The time of one all-reduce of a model's gradients under `mpirun -np N` (fused into buckets of
// 16 MiB as DataParallel does), and the bytes it moves per step.
//
//   mpirun -np 2 --oversubscribe .build/release/AllReduceBench [--model resnet20] [--rounds 200]
var model = "resnet20", rounds = 200
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--model": model = args.next() ?? model
    case "--rounds": rounds = Int(args.next() ?? "") ?? rounds
    default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(2)
    }
}
guard let g = try MPIGroup.fromEnvironment() else {
    FileHandle.standardError.write(Data("run under mpirun -np N (N > 1)\n".utf8)); exit(2)
}
let net = try ModelZoo.make(model, input: .cifar10)
let floats = net.parameterCount()
var buffer = [Float](repeating: 1, count: floats)
let bucket = 4 << 20
func reduceAll() throws {
    try buffer.withUnsafeMutableBufferPointer { p in
        var at = 0
        while at < p.count {
            let n = min(bucket, p.count - at)
            try g.allReduceSum(UnsafeMutableBufferPointer(rebasing: p[at..<(at + n)]))
            at += n
        }
    }
}
for _ in 0..<10 { try reduceAll() }   // warm-up
try g.barrier()
var times: [Double] = []
for _ in 0..<rounds {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try reduceAll()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3)
}
times.sort()
if g.rank == 0 {
    print(String(format: "%@: %d parameters, %.2f MiB all-reduced per step by each of %d processes; one all-reduce median %.1f µs (p10 %.1f, p90 %.1f) over %d rounds",
                 model, floats, Double(floats * 4) / 1_048_576, g.size, times[times.count / 2], times[times.count / 10], times[times.count * 9 / 10], rounds))
}
