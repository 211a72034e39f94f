import Foundation
import XCTest
import DistillCore
import DistillNN
import DistillData
@testable import Distill

/// Model files describe themselves (spec, classes, input shape, class names, input transform),
/// and the one loader applies and checks what they say (issue 13).
final class ModelFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "model-file-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static func data(classes: Int = 4, names: [String]? = nil, channels: Int = 1, side: Int = 6, count: Int = 40, seed: UInt64 = 1) -> Dataset {
        var g = SeededGenerator(seed: seed)
        let images = Tensor.uniform([count, channels, side, side], using: &g)
        let labels = IntTensor((0..<count).map { $0 % classes })
        return Dataset(name: "toy", images: images, labels: labels, classCount: classes, classNames: names)
    }

    func testNormalisationTravelsWithTheModelAndIsAppliedWhereverItRuns() throws {
        let d = Self.data()
        let m = try ModelZoo.make("mlp:8", input: DataSpec.modelInput(for: d), seed: 3)
        let norm = try InputNormalization(mean: [0.3], std: [0.2])
        m.inputNormalization = norm
        let withNorm = try Evaluation.logits(of: m, on: d)
        // the same as normalising the images by hand and running the bare network
        m.inputNormalization = nil
        var manual = d
        Augmentation.normalize(&manual.images, mean: [0.3], std: [0.2])
        let bare = try Evaluation.logits(of: m, on: manual)
        XCTAssertEqual(withNorm.scalars, bare.scalars)
        XCTAssertNotEqual(withNorm.scalars, try Evaluation.logits(of: m, on: d).scalars)
        // saved and reloaded through the one loader, as a teacher too
        m.inputNormalization = norm
        let path = dir + "/m.safetensors"
        try m.save(to: path, metadata: ModelFile.metadata(spec: "mlp:8", data: "toy", dataset: d))
        XCTAssertEqual(try SafeTensors.read(from: path).metadata["input_transform"], "normalize:0.3:0.2")
        let back = try ModelFile.load(path, for: d, data: "toy")
        XCTAssertEqual(back.inputNormalization, norm)
        XCTAssertEqual(try Evaluation.logits(of: back, on: d).scalars, withNorm.scalars)
        XCTAssertEqual(try ModelTeacher(back, classCount: 4).logits(on: d).scalars, withNorm.scalars)
    }

    func testTheTrainingLoopMovesNormalisationIntoTheModelsItWrites() throws {
        let d = Self.data(count: 64)
        var c = TrainingConfig()
        c.model = "mlp:8"; c.data = "mnist:toy"; c.epochs = 1; c.batchSize = 16
        c.augmentation = "normalize:0.5:0.25,normalize:0.1:2"   // two steps compose into one
        let m = try ModelZoo.make(c.model, input: DataSpec.modelInput(for: d), seed: 0)
        let run = URL(fileURLWithPath: dir + "/run")
        let loop = try TrainingLoop(config: c, scheme: SupervisedScheme(model: m, spec: c.model, config: c), train: d, test: d, runDirectory: run)
        loop.showProgress = false
        let history = try loop.run()
        // ((x − 0.5)/0.25 − 0.1)/2 = (x − 0.525)/0.5
        XCTAssertEqual(m.inputNormalization, try InputNormalization(mean: [0.525], std: [0.5]))
        let back = try ModelFile.load(run.appendingPathComponent("model.safetensors").path, for: d, data: "toy")
        XCTAssertEqual(back.inputNormalization, m.inputNormalization)
        // the accuracy the run reported is what the reloaded file gives
        let reloaded = ClassificationSummary(logits: try Evaluation.logits(of: back, on: d), labels: d.labels)
        XCTAssertEqual(reloaded.accuracy, history.last!.testAccuracy)
        let meta = try SafeTensors.read(from: run.appendingPathComponent("model.safetensors").path).metadata
        XCTAssertEqual(meta["classes"], "4")
        XCTAssertEqual(meta["input_shape"], "1x6x6")
        XCTAssertEqual(meta["model"], "mlp:8")
    }

    func testDataTheModelWasNotTrainedForIsRefused() throws {
        let names = ["a", "b", "c", "d"]
        let d = Self.data(names: names)
        let m = try ModelZoo.make("mlp:8", input: DataSpec.modelInput(for: d))
        let path = dir + "/m.safetensors"
        try m.save(to: path, metadata: ModelFile.metadata(spec: "mlp:8", data: "toy", dataset: d))
        XCTAssertEqual(try ModelFile.read(path).classNames, names)
        XCTAssertNoThrow(try ModelFile.load(path, for: d, data: "toy"))
        let cases: [(Dataset, String)] = [
            (Self.data(classes: 5), "is a model of 4 classes"),
            (Self.data(side: 7), "takes inputs 1×6×6"),
            (Self.data(names: ["w", "x", "y", "z"]), "was trained on the classes a, b, c, d"),
        ]
        for (other, phrase) in cases {
            XCTAssertThrowsError(try ModelFile.load(path, for: other, data: "other")) { e in
                XCTAssertTrue("\(e)".contains(phrase) && "\(e)".contains(path), "\(e)")
            }
        }
        // data without class names (an npz, say) is not refused for lacking them
        XCTAssertNoThrow(try ModelFile.load(path, for: Self.data(), data: "toy"))
    }

    func testWrapperPrefixesAreRemovedAndMismatchesListBothSidesWithAMapping() throws {
        let d = Self.data()
        let m = try ModelZoo.make("mlp:8", input: DataSpec.modelInput(for: d), seed: 5)
        let state = m.stateDict()
        for prefix in ["module.", "_orig_mod.", "module.model."] {
            let path = dir + "/wrapped.safetensors"
            try SafeTensors(tensors: Dictionary(uniqueKeysWithValues: state.map { (prefix + $0.key, $0.value) })).write(to: path)
            let file = try ModelFile.read(path, model: "mlp:8")
            let (loaded, note) = try file.module(input: DataSpec.modelInput(for: d))
            XCTAssertEqual(loaded.stateDict().mapValues(\.scalars), state.mapValues(\.scalars))
            XCTAssertTrue(note?.contains("'\(prefix)'") == true, note ?? "no note")
        }
        // renamed keys: both sides listed, and the same-shape pairs proposed
        var renamed = state
        renamed["classifier.weight"] = renamed.removeValue(forKey: "fc2.weight")
        renamed["classifier.bias"] = renamed.removeValue(forKey: "fc2.bias")
        renamed["extra"] = Tensor.zeros([3])
        let path = dir + "/renamed.safetensors"
        try SafeTensors(tensors: renamed).write(to: path)
        let keys = state.keys.sorted()
        XCTAssertTrue(keys.contains("fc2.weight"), "\(keys)")
        XCTAssertThrowsError(try ModelFile.read(path, model: "mlp:8").module(input: DataSpec.modelInput(for: d))) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("2 missing keys") && s.contains("fc2.weight [4, 8]"), s)
            XCTAssertTrue(s.contains("3 unexpected keys") && s.contains("extra [3]"), s)
            XCTAssertTrue(s.contains("fc2.weight ← classifier.weight") && s.contains("fc2.bias ← classifier.bias"), s)
        }
    }

    func testFilesThatAreNotModelFilesAreRecognised() throws {
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let p = dir + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            return p
        }
        let cases: [(String, [UInt8], String)] = [
            ("model.pt", [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 40), "torch.save"),
            ("legacy.pt", [0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 40), "pickle"),
            ("logits.npy", [0x93] + Array("NUMPY".utf8) + [1, 0], "--teacher-logits"),
            ("keras.h5", [0x89] + Array("HDF\r\n".utf8) + [0x1A, 0x0A], "HDF5"),
        ]
        for (name, bytes, phrase) in cases {
            let p = try write(name, bytes)
            XCTAssertThrowsError(try ModelFile.read(p, model: "mlp:8")) { e in
                XCTAssertTrue("\(e)".contains(phrase) && "\(e)".contains(p), "\(name): \(e)")
            }
        }
        // a training checkpoint where a model file is expected names the model file beside it
        let d = Self.data(count: 32)
        var c = TrainingConfig()
        c.model = "mlp:8"; c.data = "mnist:toy"; c.epochs = 1; c.batchSize = 16
        let run = URL(fileURLWithPath: dir + "/run")
        let loop = try TrainingLoop(config: c, scheme: SupervisedScheme(model: try ModelZoo.make("mlp:8", input: DataSpec.modelInput(for: d)), spec: c.model, config: c),
                                    train: d, test: d, runDirectory: run)
        loop.showProgress = false
        try loop.run()
        XCTAssertThrowsError(try ModelFile.read(run.appendingPathComponent("checkpoint.safetensors").path)) { e in
            XCTAssertTrue("\(e)".contains("is a training checkpoint") && "\(e)".contains("run/model.safetensors"), "\(e)")
        }
        // a recorded transform that does not parse, or does not fit the data, names the key
        let m8 = try ModelZoo.make("mlp:8", input: DataSpec.modelInput(for: d))
        for (text, phrase) in [("normalize:a:b", "'a' is not a number"), ("normalize:0.5/0.5:1/1", "2 means for images of 1 channels"), ("scale:2", "neither none nor normalize")] {
            let path = dir + "/transform.safetensors"
            try SafeTensors(tensors: m8.stateDict(), metadata: ["model": "mlp:8", "input_transform": text]).write(to: path)
            XCTAssertThrowsError(try ModelFile.load(path, for: d, data: "toy")) { e in
                XCTAssertTrue("\(e)".contains(phrase) && "\(e)".contains(path), "\(text): \(e)")
            }
        }
        // a PyTorch file without a spec asks for the flag that supplies it
        let bare = dir + "/bare.safetensors"
        try SafeTensors(tensors: ["w": Tensor.zeros([2])]).write(to: bare)
        XCTAssertThrowsError(try ModelFile.read(bare, modelFlag: "--teacher-model")) { e in
            XCTAssertTrue("\(e)".contains("pass --teacher-model SPEC"), "\(e)")
        }
    }

    /// A report of a run distilled from precomputed logits names the file, not the default
    /// teacher model it never used.
    func testTheReportOfLogitsDistillationNamesTheLogitsFile() {
        var c = ExperimentConfig()
        c.teacher.logits = "/data/teacher_logits.npy"
        c.teacher.testLogits = "/data/teacher_test_logits.npy"
        let md = ExperimentReport.markdown(ExperimentResult(name: "kd", seeds: [], summary: [:], seconds: 0), config: c)
        XCTAssertTrue(md.contains("teacher: the precomputed logits /data/teacher_logits.npy (test logits /data/teacher_test_logits.npy)"), md)
        XCTAssertFalse(md.contains("teacher \(c.teacher.model)"), md)
    }
}
