import DistillCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes scalars as a TensorBoard event file (`events.out.tfevents.<unix time>.<hostname>`),
/// which `tensorboard --logdir RUN/tb` and its `EventAccumulator` read.
///
/// The file is a sequence of TFRecords: uint64 length (little-endian), masked CRC-32C of those 8
/// bytes, the serialized `Event`, masked CRC-32C of it. The first event holds
/// `file_version = "brain.Event:2"`; every other one a `Summary` of (tag, simple_value) pairs at
/// a `step`, or a `SessionLog` START.
///
/// Why a hand-written protobuf encoder instead of swift-protobuf and TensorFlow's .proto files:
/// only four message types and nine fields are written (`Event.wall_time` fixed64 double,
/// `Event.step` varint, `Event.file_version` string, `Event.summary` and `Event.session_log`
/// messages, `Summary.value` repeated message, `Summary.Value.tag` string and `simple_value`
/// fixed32 float, `SessionLog.status` varint), so the encoder is DistillCore's `ProtoWriter` (varints, little-endian fixed
/// widths and length-delimited fields, shared with the ONNX writer); field numbers are those of
/// tensorboard/compat/proto/event.proto and summary.proto.
///
/// Resume: a resumed run opens a new file (TensorBoard reads every event file of a directory in
/// name order, so the name's time must grow: `open` takes one past the newest file's) and writes
/// a `SessionLog` START at the first step it will log; TensorBoard then drops every event of an
/// earlier file at that step or later (its orphaned-data purge), so the rows logged after the
/// checkpoint by the killed process are replaced by the resumed run's, never doubled.
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    /// Opens a new event file in `directory` (created if needed) and writes its version event.
    public init(directory: URL, wallTime: Double = Date().timeIntervalSince1970) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let host = String(TensorBoardWriter.hostName().map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        // file names sort by time: a new file's time is past every existing one's
        let times = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? [])
            .compactMap { name -> Int? in
                guard name.hasPrefix("events.out.tfevents.") else { return nil }
                return Int(name.dropFirst("events.out.tfevents.".count).prefix { $0.isNumber })
            }
        let time = max(Int(wallTime), (times.max() ?? -1) + 1)
        url = directory.appendingPathComponent("events.out.tfevents.\(time).\(host.isEmpty ? "localhost" : host)")
        _ = fm.createFile(atPath: url.path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = h
        var event = ProtoWriter()
        event.double(1, wallTime)
        event.string(3, "brain.Event:2")
        try write(record: event.bytes)
    }

    /// The machine's name from gethostname(2) (ProcessInfo's may ask the resolver).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(cString: buffer)
    }

    /// Writes one `Event` with a `Summary` of `values` (tag, value) at `step`.
    public func scalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !values.isEmpty else { return }
        var summary = ProtoWriter()
        for (tag, v) in values {
            var value = ProtoWriter()
            value.string(1, tag)
            value.float(2, Float(v))
            summary.message(1, value)
        }
        var event = ProtoWriter()
        event.double(1, wallTime)
        event.int(2, step)
        event.message(5, summary)
        try write(record: event.bytes)
    }

    /// Writes a `SessionLog` START at `step`: TensorBoard discards what earlier files logged at
    /// `step` or later (a resumed run writes it at its first step).
    public func sessionStart(step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var log = ProtoWriter()
        log.int(1, 1)   // SessionStatus.START
        var event = ProtoWriter()
        event.double(1, wallTime)
        event.int(2, step)
        event.message(7, log)
        try write(record: event.bytes)
    }

    /// One TFRecord: length, masked CRC of the length, data, masked CRC of the data.
    func write(record data: [UInt8]) throws {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Array($0) }
        out += length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { out += $0 }
        out += data
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { out += $0 }
        handle.write(Data(out))
    }

    /// Closes the file (also done when the writer is released).
    public func close() { try? handle.close() }

    deinit { try? handle.close() }
}
