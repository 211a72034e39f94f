import DistillCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading or writing a safetensors file; each names the file and, where one is
/// involved, the tensor.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case io(file: String, message: String)
    case truncated(file: String, size: Int)
    case headerLengthBeyondFile(file: String, headerLength: UInt64, fileSize: Int)
    case invalidHeader(file: String, reason: String)
    case invalidEntry(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case offsetsBeyondData(file: String, tensor: String, end: Int, dataSize: Int)
    case offsetsOutOfOrder(file: String, tensor: String, begin: Int, end: Int)
    case overlappingRanges(file: String, tensor: String, other: String)
    case unindexedBytes(file: String, at: Int)
    case sizeMismatch(file: String, tensor: String, shape: [Int], dtype: String, bytes: Int)

    public var description: String {
        switch self {
        case let .io(f, m): return "\(f): \(m)"
        case let .truncated(f, s): return "\(f): file of \(s) bytes is too short for a safetensors header"
        case let .headerLengthBeyondFile(f, h, s): return "\(f): header length \(h) exceeds the file size \(s)"
        case let .invalidHeader(f, r): return "\(f): invalid header: \(r)"
        case let .invalidEntry(f, t, r): return "\(f): tensor '\(t)': \(r)"
        case let .unknownDType(f, t, d): return "\(f): tensor '\(t)' has unsupported dtype '\(d)' (supported: F32, I64)"
        case let .offsetsBeyondData(f, t, e, s): return "\(f): tensor '\(t)' ends at byte \(e) beyond the \(s) data bytes"
        case let .offsetsOutOfOrder(f, t, b, e): return "\(f): tensor '\(t)' has data_offsets [\(b), \(e)] out of order"
        case let .overlappingRanges(f, t, o): return "\(f): tensor '\(t)' overlaps tensor '\(o)'"
        case let .unindexedBytes(f, a): return "\(f): data bytes from offset \(a) belong to no tensor"
        case let .sizeMismatch(f, t, s, d, b):
            return "\(f): tensor '\(t)' of shape \(Shape.describe(s)) and dtype \(d) does not fill its \(b) bytes"
        }
    }
}

/// The contents of a safetensors file (https://github.com/huggingface/safetensors): F32 tensors,
/// I64 tensors and string metadata.
///
/// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`
/// (padded with spaces so the data starts 8-byte aligned), then the data bytes, little-endian,
/// offsets relative to the data start. The reader trusts nothing: every range must lie inside
/// the file, be ordered, not overlap, match shape × dtype size, and the ranges must cover the
/// data with no holes (as the reference implementation requires).
public struct SafeTensors: Equatable {
    public var tensors: [String: Tensor]
    public var intTensors: [String: IntTensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor] = [:], intTensors: [String: IntTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.intTensors = intTensors; self.metadata = metadata
    }

    public static func == (a: SafeTensors, b: SafeTensors) -> Bool {
        a.metadata == b.metadata && a.intTensors == b.intTensors && a.tensors.keys.sorted() == b.tensors.keys.sorted()
            && a.tensors.allSatisfy { k, t in b.tensors[k].map { $0.shape == t.shape && $0.scalars == t.scalars } ?? false }
    }

    // MARK: reading

    public static func read(from path: String) throws -> SafeTensors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.io(file: path, message: "cannot read file")
        }
        return try parse([UInt8](data), file: path)
    }

    /// Parses safetensors bytes; `file` names the source in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> SafeTensors {
        guard bytes.count >= 8 else { throw SafeTensorsError.truncated(file: file, size: bytes.count) }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError.headerLengthBeyondFile(file: file, headerLength: n, fileSize: bytes.count)
        }
        let headerEnd = 8 + Int(n)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw SafeTensorsError.invalidHeader(file: file, reason: "top level is not an object")
        }
        let dataSize = bytes.count - headerEnd
        var out = SafeTensors()
        var ranges: [(name: String, begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else {
                    throw SafeTensorsError.invalidHeader(file: file, reason: "__metadata__ is not an object")
                }
                for (k, v) in meta {
                    guard let s = v as? String else {
                        throw SafeTensorsError.invalidHeader(file: file, reason: "__metadata__ value for '\(k)' is not a string")
                    }
                    out.metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "entry is not an object")
            }
            guard let dtype = entry["dtype"] as? String else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "missing dtype")
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "I64": width = 8
            default: throw SafeTensorsError.unknownDType(file: file, tensor: name, dtype: dtype)
            }
            guard let shape = intArray(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "shape is not a list of non-negative integers")
            }
            guard let offs = intArray(entry["data_offsets"]), offs.count == 2, offs[0] >= 0, offs[1] >= 0 else {
                throw SafeTensorsError.invalidEntry(file: file, tensor: name, reason: "data_offsets is not two non-negative integers")
            }
            let (begin, end) = (offs[0], offs[1])
            guard begin <= end else { throw SafeTensorsError.offsetsOutOfOrder(file: file, tensor: name, begin: begin, end: end) }
            guard end <= dataSize else { throw SafeTensorsError.offsetsBeyondData(file: file, tensor: name, end: end, dataSize: dataSize) }
            var count = 1
            for d in shape {
                let (m, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw SafeTensorsError.sizeMismatch(file: file, tensor: name, shape: shape, dtype: dtype, bytes: end - begin) }
                count = m
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, bytesNeeded == end - begin else {
                throw SafeTensorsError.sizeMismatch(file: file, tensor: name, shape: shape, dtype: dtype, bytes: end - begin)
            }
            ranges.append((name, begin, end))
            let start = headerEnd + begin
            if width == 4 {
                out.tensors[name] = Tensor.make(shape) { o in
                    bytes.withUnsafeBytes { raw in
                        for i in 0..<count { o[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self))) }
                    }
                }
            } else {
                var vals = [Int](repeating: 0, count: count)
                bytes.withUnsafeBytes { raw in
                    for i in 0..<count { vals[i] = Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * i, as: Int64.self))) }
                }
                out.intTensors[name] = IntTensor(shape: shape, scalars: vals)
            }
        }
        ranges.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0, previous = ""
        for r in ranges {
            if r.begin < cursor { throw SafeTensorsError.overlappingRanges(file: file, tensor: r.name, other: previous) }
            if r.begin > cursor { throw SafeTensorsError.unindexedBytes(file: file, at: cursor) }
            cursor = r.end
            if r.end > r.begin { previous = r.name }
        }
        if cursor != dataSize { throw SafeTensorsError.unindexedBytes(file: file, at: cursor) }
        return out
    }

    private static func intArray(_ v: Any?) -> [Int]? {
        guard let a = v as? [Any] else { return nil }
        var out: [Int] = []
        for e in a {
            guard let num = e as? NSNumber else { return nil }
            let d = num.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            out.append(num.intValue)
        }
        return out
    }

    // MARK: writing

    /// The file bytes: I64 tensors first, then F32, each group by name, so every tensor is
    /// aligned to its element size; the header is space-padded to a multiple of 8.
    public func serialized() -> [UInt8] {
        var entries: [String] = []
        var payload: [UInt8] = []
        func quote(_ s: String) -> String {
            var r = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": r += "\\\""
                case "\\": r += "\\\\"
                default:
                    if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
                }
            }
            return r + "\""
        }
        func shapeJSON(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }
        for name in intTensors.keys.sorted() {
            let t = intTensors[name]!
            let begin = payload.count
            for v in t.scalars { withUnsafeBytes(of: Int64(v).littleEndian) { payload.append(contentsOf: $0) } }
            entries.append("\(quote(name)):{\"dtype\":\"I64\",\"shape\":\(shapeJSON(t.shape)),\"data_offsets\":[\(begin),\(payload.count)]}")
        }
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            let begin = payload.count
            t.withUnsafeBufferPointer { p in
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
            }
            entries.append("\(quote(name)):{\"dtype\":\"F32\",\"shape\":\(shapeJSON(t.shape)),\"data_offsets\":[\(begin),\(payload.count)]}")
        }
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0]!))" }.joined(separator: ",")
            entries.insert("\"__metadata__\":{\(m)}", at: 0)
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + payload.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        out += payload
        return out
    }

    /// Writes atomically: a temporary file in the same directory, fsync, then rename over `path`.
    public func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }
}

/// Crash-safe file replacement: write a temporary sibling, fsync it, rename it over the target,
/// fsync the directory.
public enum AtomicFile {
    /// Removes the temporaries (`.NAME.tmp-PID-N`) that a process killed in the middle of a write
    /// left in `directory`, when that process is gone; returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: ".tmp-", options: .backwards) else { continue }
            let parts = name[r.upperBound...].split(separator: "-")
            guard parts.count == 2, let pid = Int32(parts[0]), UInt32(parts[1]) != nil, pid > 0 else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) == 0 || errno != ESRCH { continue }   // its writer may still be running
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.io(file: path, message: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var written = 0
        let status: Int32 = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let r = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if r < 0 { if errno == EINTR { continue }; return errno }
                written += r
            }
            return 0
        }
        if status != 0 { close(fd); throw SafeTensorsError.io(file: path, message: "write failed: \(String(cString: strerror(status)))") }
        if fsync(fd) != 0 { let e = errno; close(fd); throw SafeTensorsError.io(file: path, message: "fsync failed: \(String(cString: strerror(e)))") }
        close(fd)
        guard rename(tmp, path) == 0 else {
            throw SafeTensorsError.io(file: path, message: "rename failed: \(String(cString: strerror(errno)))")
        }
        ok = true
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
