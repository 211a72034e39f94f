import DistillCore
import DistillNN
import Foundation

/// The resumable state of a training run, stored as one safetensors file: model parameters and
/// buffers under `model.`, adapters under `adapterK.`, optimizer state under `optimizer.`, extra
/// method state under `extra.`, and counters, running sums, dropout generator states and the
/// config in the metadata. Written atomically, so a killed run keeps its previous checkpoint.
public struct TrainingCheckpoint {
    public static let format = "swift-distill-checkpoint-1"

    /// Completed epochs and the next batch index within the current epoch.
    public var epoch: Int
    public var batch: Int
    /// Optimizer steps taken.
    public var step: Int
    /// Running sums of the current epoch (for its mean loss and accuracy).
    public var lossSum: Double, correct: Int, seen: Int
    /// Wall time spent so far over all sessions of the run.
    public var seconds: Double
    public var configJSON: String
    public var tensors: [String: Tensor]
    public var dropout: [String: [UInt64]]
    /// Records of the completed epochs (exact values, so a resumed run reports what an
    /// uninterrupted one would).
    public var history: [EpochRecord]

    public func write(to path: String) throws {
        let dropoutJSON = String(decoding: try JSONSerialization.data(withJSONObject: dropout.mapValues { $0.map { String($0) } }, options: [.sortedKeys]), as: UTF8.self)
        let meta: [String: String] = [
            "format": TrainingCheckpoint.format, "epoch": String(epoch), "batch": String(batch), "step": String(step),
            "loss_sum": String(lossSum), "correct": String(correct), "seen": String(seen), "seconds": String(seconds),
            "config": configJSON, "dropout": dropoutJSON,
            "history": String(decoding: try ResultJSON.encoder().encode(history), as: UTF8.self),
        ]
        try SafeTensors(tensors: tensors, metadata: meta).write(to: path)
    }

    public static func read(from path: String) throws -> TrainingCheckpoint {
        let file = try SafeTensors.read(from: path)
        let m = file.metadata
        func field<T>(_ k: String, _ parse: (String) -> T?) throws -> T {
            guard let s = m[k], let v = parse(s) else {
                throw TrainingError.checkpointMismatch(path: path, detail: "metadata field '\(k)' is missing or malformed; not a swift-distill training checkpoint")
            }
            return v
        }
        guard m["format"] == format else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata 'format' is \(m["format"].map { "'\($0)'" } ?? "absent"), expected '\(format)'")
        }
        let dropoutText: String = try field("dropout") { $0 }
        guard let raw = try? JSONSerialization.jsonObject(with: Data(dropoutText.utf8)) as? [String: [String]] else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'dropout' is not a JSON object of generator states")
        }
        var dropout: [String: [UInt64]] = [:]
        for (k, v) in raw {
            let words = v.compactMap { UInt64($0) }
            guard words.count == 4 else { throw TrainingError.checkpointMismatch(path: path, detail: "dropout state of '\(k)' is not 4 words") }
            dropout[k] = words
        }
        let historyText: String = try field("history") { $0 }
        guard let history = try? ResultJSON.decoder.decode([EpochRecord].self, from: Data(historyText.utf8)) else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'history' is not a list of epoch records")
        }
        return TrainingCheckpoint(epoch: try field("epoch") { Int($0) }, batch: try field("batch") { Int($0) },
                                  step: try field("step") { Int($0) }, lossSum: try field("loss_sum") { Double($0) },
                                  correct: try field("correct") { Int($0) }, seen: try field("seen") { Int($0) },
                                  seconds: try field("seconds") { Double($0) }, configJSON: try field("config") { $0 },
                                  tensors: file.tensors, dropout: dropout, history: history)
    }

    /// The tensors under `prefix.`, with the prefix removed.
    public func tensors(under prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        let p = prefix + "."
        for (k, v) in tensors where k.hasPrefix(p) { out[String(k.dropFirst(p.count))] = v }
        return out
    }
}
