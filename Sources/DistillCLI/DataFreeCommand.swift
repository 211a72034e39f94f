import ArgumentParser
import DistillCore
import DistillNN
import Distill
import Foundation

/// `distill datafree`: distil a student from a teacher model file without a real training image.
struct DataFree: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "datafree",
        abstract: "Data-free distillation: recover a transfer set from the teacher (DeepInversion, ADI, DAFL, Lopes et al.'s activation metadata) and distil the student on it.")

    @Option(help: "Teacher model file (model.safetensors).") var teacher: String
    @Option(name: .customLong("teacher-model"), help: "Teacher model spec (default: recorded in the file).") var teacherModel: String?
    @Option(help: "deepinversion, adi, dafl, lopes-top-layer or lopes-all-layers.") var method = "deepinversion"
    @Option(help: "Student model spec.") var student = "lenet5:half=true"
    @Option(help: "Data whose test split evaluates (and whose image shape the teacher takes); no training image is read without --baselines.") var data = "fashion-mnist"
    @Option(help: "Recovered images (DeepInversion) or sampled images (DAFL's grid).") var images = 1000
    @Option(name: .customLong("inversion-batch"), help: "DeepInversion batch size.") var inversionBatch = 100
    @Option(help: "DeepInversion (and Lopes) Adam steps per batch.") var iterations = DataFreeRun.Settings.commandLine.inversion.iterations
    @Option(name: .customLong("lr"), help: "DeepInversion (and Lopes) Adam learning rate.") var learningRate: Float = 0.05
    @Option(name: .customLong("bn-weight"), help: "Weight of the BN-statistics term.") var bnWeight: Float = 10
    @Option(name: .customLong("adi-weight"), help: "Weight of ADI's competition term (adi).") var adiWeight: Float = 1
    @Option(name: .customLong("kd-steps"), help: "KD steps on the recovered set (and each reference row).") var kdSteps = 1000
    @Option(name: .customLong("kd-batch")) var kdBatch = 128
    @Option(name: .customLong("kd-lr"), help: "Adam learning rate of the student.") var kdLR: Float = 1e-3
    @Option(help: "KD temperature.") var temperature: Float = 4
    @Option(name: .customLong("kd-augment"), help: "Augmentation of every KD minibatch (and of the reference rows): jitter, crop, flip steps, e.g. crop:2,flip (default none).") var kdAugment: String?
    @Option(help: "Activation metadata released with the teacher (lopes-*; default: recorded from the training split into OUT/metadata.safetensors).") var metadata: String?
    @Option(name: .customLong("lopes-temperature"), help: "Temperature of the Lopes top layer (logits / T).") var lopesTemperature: Float = 8
    @Option(name: .customLong("lopes-init-mean"), help: "Lopes images start as pixel-space Gaussian noise of this mean (reference MNIST: 0.15).") var lopesInitMean: Float = 0.15
    @Option(name: .customLong("lopes-init-std"), help: "… and this standard deviation (reference MNIST: 0.1).") var lopesInitStd: Float = 0.1
    @Option(name: .customLong("dafl-epochs")) var daflEpochs = 5
    @Option(name: .customLong("dafl-iterations"), help: "DAFL iterations per epoch (reference 120).") var daflIterations = 120
    @Option(name: .customLong("dafl-batch"), help: "DAFL batch size (reference 512).") var daflBatch = 512
    @Flag(help: "Also the reference rows: KD on Gaussian noise, KD on the real training images, the student alone.") var baselines = false
    @Option(name: .customLong("test-subset"), help: "Evaluate on the first N test examples only.") var testSubset: Int?
    @Option(help: "Hold out the last N training images: every row is also evaluated on them, to choose settings there rather than on the test set.") var validation: Int?
    @Option var seed: UInt64 = 0
    @Option(help: "Threads for the kernels.") var threads: Int?
    @Option(name: .customLong("out")) var out = "runs/datafree"

    func run() throws {
        try reportingErrors {
            try OptionValues.setThreads(threads)
            var s = DataFreeRun.Settings()
            s.method = method; s.student = student; s.images = images; s.inversionBatch = inversionBatch
            s.inversion.iterations = iterations; s.inversion.learningRate = learningRate; s.inversion.bnWeight = bnWeight
            s.inversion.adiWeight = method == "adi" ? adiWeight : 0
            s.kd.steps = kdSteps; s.kd.batchSize = kdBatch; s.kd.learningRate = kdLR; s.kd.temperature = temperature; s.kd.seed = seed; s.kd.augmentation = kdAugment
            s.daflEpochs = daflEpochs; s.dafl.iterationsPerEpoch = daflIterations; s.dafl.batchSize = daflBatch
            s.dafl.studentLR = kdLR == 1e-3 ? s.dafl.studentLR : kdLR
            s.metadata = metadata; s.lopesTemperature = lopesTemperature; s.lopesInitMean = lopesInitMean; s.lopesInitStd = lopesInitStd
            s.baselines = baselines; s.seed = seed; s.testSubset = testSubset; s.validation = validation
            let r = try DataFreeRun(settings: s, teacher: teacher, teacherModel: teacherModel, data: data, out: URL(fileURLWithPath: out)).run()
            print(DataFreeRun.markdown(r))
        }
    }
}
