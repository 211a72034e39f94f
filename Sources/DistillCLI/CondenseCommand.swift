import ArgumentParser
import Distill
import DistillData
import Foundation

/// `distill condense`: dataset condensation (DM, DC, DSA) with its evaluation harness.
struct Condense: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "condense",
        abstract: "Learn a few synthetic images per class (DM, DC, DSA) and evaluate them beside a random real subset.")

    @Option var data = "fashion-mnist"
    @Option(help: "dm (distribution matching), dc (gradient matching) or dsa (gradient matching with Siamese augmentation).") var method = "dm"
    @Option(help: "Images per class, one size or a comma list (1,10,50).") var ipc = "1"
    @Option(help: "Outer iterations of condensation.") var iterations = 100
    @Option(help: "Output folder; a run there resumes from its checkpoints.") var out: String
    @Option(help: "Network the set is condensed with.") var model = "convnet3"
    @Option(help: "real or noise (default: real for DM, noise for DC/DSA, as the reference scripts).") var `init`: String?
    @Option(name: .customLong("init-file"), help: "A synthetic.npy [classes·ipc, C, H, W] (pixel units) to start from.") var initFile: String?
    @Option(name: .customLong("lr-img"), help: "Image learning rate (default 1.0 for DM, 0.1 for DC/DSA).") var lrImage: Float?
    @Option(name: .customLong("batch-real"), help: "Real images per class per step.") var batchReal = 256
    @Option(help: "Siamese augmentation of real and synthetic batches: none or a DSA strategy (default: color_crop_cutout_flip_scale_rotate for DM and DSA, none for DC).") var augment: String?
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every"), help: "Iterations between checkpoints.") var checkpointEvery = 10
    @Option(name: .customLong("eval-model")) var evalModel = "convnet3"
    @Option(name: .customLong("eval-epochs"), help: "Evaluation epochs (default: the reference's 300 without augmentation, 1000 with DSA).") var evalEpochs: Int?
    @Option(name: .customLong("eval-networks")) var evalNetworks = 5
    @Option(name: .customLong("test-limit"), help: "Test on the first N test images only.") var testLimit: Int?
    @Option(name: .customLong("whole-epochs"), help: "Epochs of the whole-training-set row (0: skip).") var wholeEpochs = 1
    @Option(help: "Cache file of whole-training-set results.") var cache: String?
    @Option(help: "Cross-architecture models, comma separated ('' for none).") var cross = "mlp:128x128,lenet5"

    func run() throws {
        try reportingErrors {
            var p = CondensationPlan()
            p.data = data; p.method = method; p.iterations = iterations; p.model = model; p.initialization = `init`
            p.initFile = initFile; p.imageLearningRate = lrImage; p.realBatch = batchReal; p.augmentation = augment; p.seed = seed
            p.checkpointEvery = checkpointEvery; p.evalModel = evalModel; p.evalEpochs = evalEpochs; p.evalNetworks = evalNetworks
            p.testLimit = testLimit; p.wholeEpochs = wholeEpochs; p.cache = cache; p.cross = cross.split(separator: ",").map(String.init)
            p.sizes = try ipc.split(separator: ",", omittingEmptySubsequences: false).map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw CondensationError.badValue(field: "ipc", detail: "'\(ipc)' is not a list of integers like 1,10,50")
                }
                return v
            }
            var r = try p.makeRun(out: out)
            r.log = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
            let results = try r.run()
            for s in results {
                for row in s.rows {
                    print(String(format: "ipc %d  %@  %@  %.2f ± %.2f %%  (%.1f s)", s.imagesPerClass, row.name, row.model, 100 * row.outcome.mean, 100 * row.outcome.std, row.seconds))
                }
            }
            print("wrote \(out)/report.md")
        }
    }
}
