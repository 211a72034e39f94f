// Workloads (f) and (g): the zoo's CIFAR ResNet-20 (RepDistiller's definition: 3×3 convolutions
// without bias, batch norm, 1×1-conv + BN projection shortcuts, global average pool, fc), trained
// with cross-entropy and SGD (momentum 0.9, lr 0.01, weight decay 5e-4), batch 128, in train mode
// (batch statistics, running statistics updated). (f) on 3×32×32 inputs (CIFAR), (g) on 1×28×28
// (Fashion-MNIST). Unlike (a)–(e) it runs the library's layers and optimizer: the step users train.
#if canImport(Glibc)
import Glibc
#endif
import DistillCore
import DistillNN

func resnet20Workload(_ options: Options, channels: Int, side: Int) -> [Double] {
    let input = ModelInput(channels: channels, height: side, width: side, classes: 10)
    let model: Module
    do { model = try ModelZoo.make("resnet20", input: input, seed: options.seed) } catch { fail("resnet20: \(error)") }
    _ = model.train()
    let opt = SGD(model.namedParameters(), learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
    var g = SeededGenerator(seed: options.seed &+ 7)
    var data = Batches(count: 8, shape: [128, channels, side, side], using: &g)
    var steps = 0
    return measure(batch: 128, options: options) {
        let (x, y) = data.take()
        let loss = crossEntropy(logits: model(x), labels: y)
        if options.verbose && steps % 10 == 0 { fputs("step \(steps): loss \(loss.item)\n", stderr) }
        steps += 1
        model.zeroGradients()
        loss.backward()
        opt.step()
    }
}
