import DistillCore
import DistillNN
import Foundation

/// The resumable state of a training run, stored as one safetensors file: each scheme member's
/// parameters and buffers under `MEMBER.`, optimizer state under `optimizer.[GROUP.]`, the
/// scheme's own state under `extra.`, and in the metadata the counters, the epoch's running sums,
/// every random generator's state, the result format and the config. Written atomically, so a
/// killed run keeps its previous checkpoint. Format 3 adds checksums (XXH64): one per tensor in
/// `checksum.tensors`, and `checksum.metadata` over every other metadata entry, so a flipped bit
/// in a weight or a changed digit of a counter is refused on resume, naming the tensor or field.
public struct TrainingCheckpoint {
    public static let format = "swift-distill-checkpoint-3"
    /// Format 2 (before checksums) is still read, without the check.
    static let uncheckedFormat = "swift-distill-checkpoint-2"

    /// Completed epochs and the next batch index within the current epoch.
    public var epoch: Int
    public var batch: Int
    /// Optimizer steps taken.
    public var step: Int
    /// Running sums of the current epoch (mean loss, accuracy, per-term means).
    var sums: RunningSums
    /// Wall time spent so far over all sessions of the run.
    public var seconds: Double
    public var configJSON: String
    public var tensors: [String: Tensor]
    /// Every generator's state: `MEMBER.PATH` for modules, `scheme:NAME` for the scheme's own.
    public var random: [String: [UInt64]]
    /// Records of the completed epochs (exact values, so a resumed run reports what an
    /// uninterrupted one would).
    public var history: [EpochRecord]
    /// `ResultFormat.version` of the build that wrote it.
    public var resultFormat: Int = ResultFormat.version

    public func write(to path: String) throws {
        let randomJSON = String(decoding: try JSONSerialization.data(withJSONObject: random.mapValues { $0.map { String($0) } }, options: [.sortedKeys]), as: UTF8.self)
        let meta: [String: String] = [
            "format": TrainingCheckpoint.format, "result_format": String(resultFormat),
            "epoch": String(epoch), "batch": String(batch), "step": String(step),
            "sums": String(decoding: try ResultJSON.encoder([.sortedKeys]).encode(sums), as: UTF8.self),
            "seconds": String(seconds), "config": configJSON, "random": randomJSON,
            "history": String(decoding: try ResultJSON.encoder().encode(history), as: UTF8.self),
        ]
        try SafeTensors(tensors: tensors, metadata: TrainingCheckpoint.withChecksums(meta, tensors: tensors)).write(to: path)
    }

    /// XXH64 of a tensor's float32 data (the bytes the file holds, little-endian).
    static func checksum(_ t: Tensor) -> String {
        Checksum.hex(t.withUnsafeBufferPointer { Checksum.xxh64(UnsafeRawBufferPointer($0)) })
    }

    /// XXH64 of the metadata entries other than `checksum.metadata`, in key order.
    static func metadataChecksum(_ meta: [String: String]) -> String {
        var text = ""
        text.reserveCapacity(meta.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 })
        for k in meta.keys.sorted() where k != "checksum.metadata" {
            text += k; text += "\u{0}"; text += meta[k]!; text += "\u{0}"
        }
        return Checksum.hex(text.withUTF8 { Checksum.xxh64(UnsafeRawBufferPointer($0)) })
    }

    /// `meta` with the checksums of `tensors` and of itself added (what `write` stores).
    public static func withChecksums(_ meta: [String: String], tensors: [String: Tensor]) throws -> [String: String] {
        var m = meta
        // {"name":"hex",…} in key order, written by hand: Foundation's serialiser costs more than the hashing
        var json = "{"
        for (i, name) in tensors.keys.sorted().enumerated() {
            if i > 0 { json += "," }
            json += jsonString(name) + ":\"" + checksum(tensors[name]!) + "\""
        }
        m["checksum.tensors"] = json + "}"
        m["checksum.metadata"] = metadataChecksum(m)
        return m
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Throws, naming the file and the tensor or field, unless every checksum matches.
    static func verifyChecksums(_ file: SafeTensors, path: String) throws {
        let m = file.metadata
        guard let stored = m["checksum.metadata"], let table = m["checksum.tensors"] else {
            throw TrainingError.checkpointMismatch(path: path, detail: "has no checksums (checksum.metadata, checksum.tensors); it is damaged or was not written by swift-distill")
        }
        guard stored == metadataChecksum(m) else {
            throw TrainingError.checkpointMismatch(path: path, detail: "its metadata (counters, config, random state) does not match its checksum: the file is corrupted; resume from another checkpoint or start again")
        }
        guard let sums = try? JSONSerialization.jsonObject(with: Data(table.utf8)) as? [String: String] else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'checksum.tensors' is not a JSON object of checksums")
        }
        guard Set(sums.keys) == Set(file.tensors.keys), file.intTensors.isEmpty else {
            throw TrainingError.checkpointMismatch(path: path, detail: "holds other tensors than its checksums list: the file is corrupted")
        }
        for name in file.tensors.keys.sorted() where checksum(file.tensors[name]!) != sums[name] {
            throw TrainingError.checkpointMismatch(path: path, detail: "tensor '\(name)' does not match its checksum: the file is corrupted; resume from another checkpoint or start again")
        }
    }

    public static func read(from path: String) throws -> TrainingCheckpoint {
        try decode(try SafeTensors.read(from: path), path: path)
    }

    /// `read` on a parsed safetensors file.
    public static func decode(_ file: SafeTensors, path: String) throws -> TrainingCheckpoint {
        let m = file.metadata
        func field<T>(_ k: String, _ parse: (String) -> T?) throws -> T {
            guard let s = m[k], let v = parse(s) else {
                throw TrainingError.checkpointMismatch(path: path, detail: "metadata field '\(k)' is missing or malformed; not a swift-distill training checkpoint")
            }
            return v
        }
        if m["format"] == format { try verifyChecksums(file, path: path) }
        guard m["format"] == format || m["format"] == uncheckedFormat else {
            if m["format"] == "swift-distill-checkpoint-1" {
                throw TrainingError.staleRun(path: URL(fileURLWithPath: path).deletingLastPathComponent().path, found: 1, expected: ResultFormat.version)
            }
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata 'format' is \(m["format"].map { "'\($0)'" } ?? "absent"), expected '\(format)'")
        }
        let randomText: String = try field("random") { $0 }
        guard let raw = try? JSONSerialization.jsonObject(with: Data(randomText.utf8)) as? [String: [String]] else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'random' is not a JSON object of generator states")
        }
        var random: [String: [UInt64]] = [:]
        for (k, v) in raw {
            let words = v.compactMap { UInt64($0) }
            guard words.count == 4, v.count == 4 else { throw TrainingError.checkpointMismatch(path: path, detail: "generator state of '\(k)' is not 4 words") }
            random[k] = words
        }
        let historyText: String = try field("history") { $0 }
        guard let history = try? ResultJSON.decoder.decode([EpochRecord].self, from: Data(historyText.utf8)) else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'history' is not a list of epoch records")
        }
        let sumsText: String = try field("sums") { $0 }
        guard let sums = try? ResultJSON.decoder.decode(RunningSums.self, from: Data(sumsText.utf8)) else {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata field 'sums' is not the running sums of an epoch")
        }
        return TrainingCheckpoint(epoch: try field("epoch") { Int($0) }, batch: try field("batch") { Int($0) },
                                  step: try field("step") { Int($0) }, sums: sums,
                                  seconds: try field("seconds") { Double($0) }, configJSON: try field("config") { $0 },
                                  tensors: file.tensors, random: random, history: history,
                                  resultFormat: try field("result_format") { Int($0) })
    }

    /// The tensors under `prefix.`, with the prefix removed.
    public func tensors(under prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        let p = prefix + "."
        for (k, v) in tensors where k.hasPrefix(p) { out[String(k.dropFirst(p.count))] = v }
        return out
    }
}
