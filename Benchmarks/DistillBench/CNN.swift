// Workload (c): conv(1→32,3×3,pad 1)-ReLU-maxpool2-conv(32→64,3×3,pad 1)-ReLU-maxpool2-flatten-
// linear(3136→128)-ReLU-linear(128→10), batch 128, SGD momentum 0.9, lr 0.01, cross-entropy.
#if canImport(Glibc)
import Glibc
#endif
import DistillCore

func cnnWorkload(_ options: Options) -> [Double] {
    var g = SeededGenerator(seed: options.seed)
    var params = [
        parameter([32, 1, 3, 3], fanIn: 9, using: &g), parameter([32], fanIn: 9, using: &g),
        parameter([64, 32, 3, 3], fanIn: 288, using: &g), parameter([64], fanIn: 288, using: &g),
        parameter([128, 3136], fanIn: 3136, using: &g), parameter([128], fanIn: 3136, using: &g),
        parameter([10, 128], fanIn: 128, using: &g), parameter([10], fanIn: 128, using: &g),
    ]
    let opt = SGDMomentum(params, lr: 0.01, momentum: 0.9)
    var data = Batches(count: 8, shape: [128, 1, 28, 28], using: &g)
    var steps = 0
    return measure(batch: 128, options: options) {
        let (x, y) = data.take()
        var h = conv2d(x, weight: params[0], bias: params[1], padding: (1, 1)).relu()
        h = maxPool2d(h, kernel: (2, 2))
        h = conv2d(h, weight: params[2], bias: params[3], padding: (1, 1)).relu()
        h = maxPool2d(h, kernel: (2, 2)).flattened()
        h = linear(h, params[4], params[5]).relu()
        let loss = crossEntropy(logits: linear(h, params[6], params[7]), labels: y)
        if options.verbose && steps % 20 == 0 { fputs("step \(steps): loss \(loss.item)\n", stderr) }
        steps += 1
        loss.backward()
        opt.step(&params)
    }
}
