import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// A corrupted checkpoint is refused on resume, naming the file and the tensor or field: a
/// flipped bit in a weight, a changed digit of the batch counter, a missing checksum. The
/// temporaries of a write that a kill interrupted are removed when the run starts again.
final class CheckpointChecksumTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("distill-checksum-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func loop(epochs: Int) throws -> TrainingLoop {
        var cfg = TrainingConfig()
        cfg.model = "mlp:8"; cfg.epochs = epochs; cfg.batchSize = 16
        var g = SeededGenerator(seed: 3)
        let train = Dataset(name: "tiny", images: Tensor.uniform([64, 1, 4, 4], using: &g), labels: IntTensor((0..<64).map { $0 % 3 }), classCount: 3)
        let model = MLP(inputs: 16, hidden: [8], classes: 3, seed: 1)
        let l = try TrainingLoop(config: cfg, scheme: SupervisedScheme(model: model, spec: "mlp:8", config: cfg), train: train, test: nil, runDirectory: dir)
        l.showProgress = false
        return l
    }

    var checkpoint: String { dir.appendingPathComponent("checkpoint.safetensors").path }

    /// The checkpoint's bytes, and the offset of the first byte of tensor `name`'s data.
    func bytes(offsetOf name: String) throws -> ([UInt8], Int) {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        let n = b[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(b[8..<(8 + n)])) as? [String: Any])
        let entry = try XCTUnwrap(header[name] as? [String: Any])
        let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
        return (b, 8 + n + offsets[0])
    }

    func testAResumedRunVerifiesItsCheckpoint() throws {
        _ = try loop(epochs: 1).run()
        XCTAssertEqual(try loop(epochs: 1).run(resume: true).count, 1, "an intact checkpoint resumes")
        let meta = try SafeTensors.read(from: checkpoint).metadata
        XCTAssertEqual(meta["format"], "swift-distill-checkpoint-3")
        XCTAssertNotNil(meta["checksum.tensors"]); XCTAssertNotNil(meta["checksum.metadata"])
    }

    func testAFlippedBitInAWeightIsRefusedNamingTheTensor() throws {
        _ = try loop(epochs: 1).run()
        var (b, at) = try bytes(offsetOf: "model.fc1.weight")
        b[at + 2] ^= 0x10
        try Data(b).write(to: URL(fileURLWithPath: checkpoint))
        XCTAssertThrowsError(try loop(epochs: 2).run(resume: true)) { e in
            XCTAssertTrue("\(e)".contains("model.fc1.weight") && "\(e)".contains(checkpoint) && "\(e)".contains("checksum"), "\(e)")
        }
    }

    func testAChangedCounterIsRefused() throws {
        _ = try loop(epochs: 1).run()
        let file = try SafeTensors.read(from: checkpoint)
        var meta = file.metadata
        meta["batch"] = "3"
        try SafeTensors(tensors: file.tensors, metadata: meta).write(to: checkpoint)
        XCTAssertThrowsError(try loop(epochs: 2).run(resume: true)) { e in
            XCTAssertTrue("\(e)".contains("metadata") && "\(e)".contains("corrupted"), "\(e)")
        }
        meta.removeValue(forKey: "checksum.metadata")
        try SafeTensors(tensors: file.tensors, metadata: meta).write(to: checkpoint)
        XCTAssertThrowsError(try loop(epochs: 2).run(resume: true)) { e in XCTAssertTrue("\(e)".contains("has no checksums"), "\(e)") }
    }

    func testAnOlderFormatWithoutChecksumsIsStillRead() throws {
        _ = try loop(epochs: 1).run()
        let file = try SafeTensors.read(from: checkpoint)
        var meta = file.metadata
        meta["format"] = "swift-distill-checkpoint-2"
        meta.removeValue(forKey: "checksum.metadata"); meta.removeValue(forKey: "checksum.tensors")
        try SafeTensors(tensors: file.tensors, metadata: meta).write(to: checkpoint)
        XCTAssertEqual(try TrainingCheckpoint.read(from: checkpoint).epoch, 1)
    }

    func testTemporariesOfAKilledWriterAreRemoved() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // a pid above the kernel's pid_max (2^22) is never alive; our own pid is
        let stale = dir.appendingPathComponent(".checkpoint.safetensors.tmp-4194999-17").path
        let live = dir.appendingPathComponent(".model.safetensors.tmp-\(getpid())-5").path
        let other = dir.appendingPathComponent(".notes.txt").path
        for p in [stale, live, other] { XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(count: 64))) }
        _ = try loop(epochs: 1).run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other))
    }
}
