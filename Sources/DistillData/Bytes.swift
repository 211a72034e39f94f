#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DistillCore
import CZlib

/// An owned, immutable block of bytes (a file's contents or an inflated stream).
///
/// Parsers read it through `ByteReader`, which checks every length against `count` before reading.
final class ByteBuffer {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// Takes ownership of memory from `malloc`/`realloc`.
    init(taking pointer: UnsafeMutableRawPointer, count: Int) {
        self.pointer = pointer
        self.count = count
    }

    convenience init(_ bytes: [UInt8]) {
        let p = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { src in if let b = src.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
        self.init(taking: p, count: bytes.count)
    }

    deinit { free(pointer) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
    subscript(i: Int) -> UInt8 { pointer.load(fromByteOffset: i, as: UInt8.self) }
    var array: [UInt8] { Array(bytes) }
    var startsWithGzipMagic: Bool { count >= 2 && self[0] == 0x1f && self[1] == 0x8b }
}

/// Bounds-checked cursor over a `ByteBuffer`; every read names the field it was reading.
struct ByteReader {
    let buffer: ByteBuffer
    let path: String
    var offset: Int
    let end: Int

    init(_ buffer: ByteBuffer, path: String, offset: Int = 0, end: Int? = nil) {
        self.buffer = buffer
        self.path = path
        self.offset = offset
        self.end = end ?? buffer.count
    }

    var remaining: Int { end - offset }

    /// Throws unless `n` bytes are available at the cursor.
    func require(_ n: Int, _ field: String) throws {
        guard n >= 0, offset <= end, n <= end - offset else {
            throw DataError.truncated(path: path, detail: "\(field) at offset \(offset) needs \(n) bytes but only \(max(end - offset, 0)) remain")
        }
    }

    mutating func u8(_ field: String) throws -> UInt8 {
        try require(1, field)
        defer { offset += 1 }
        return buffer[offset]
    }

    mutating func u16le(_ field: String) throws -> Int {
        try require(2, field)
        defer { offset += 2 }
        return Int(buffer[offset]) | Int(buffer[offset + 1]) << 8
    }

    mutating func u32le(_ field: String) throws -> Int {
        try require(4, field)
        defer { offset += 4 }
        var v = 0
        for i in 0..<4 { v |= Int(buffer[offset + i]) << (8 * i) }
        return v
    }

    mutating func u64le(_ field: String) throws -> UInt64 {
        try require(8, field)
        defer { offset += 8 }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(buffer[offset + i]) << (8 * UInt64(i)) }
        return v
    }

    mutating func u32be(_ field: String) throws -> Int {
        try require(4, field)
        defer { offset += 4 }
        var v = 0
        for i in 0..<4 { v = v << 8 | Int(buffer[offset + i]) }
        return v
    }

    /// The next `n` bytes as a raw pointer (valid while `buffer` lives), advancing the cursor.
    mutating func take(_ n: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        try require(n, field)
        defer { offset += n }
        return UnsafeRawBufferPointer(start: buffer.pointer + offset, count: n)
    }
}

/// Whole-file reads and writes through the C library (no Foundation).
enum FileIO {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func read(_ path: String) throws -> ByteBuffer {
        guard exists(path) else { throw DataError.missingFile(path: path) }
        guard let f = fopen(path, "rb") else { throw DataError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var st = stat()
        guard fstat(fileno(f), &st) == 0 else { throw DataError.io(path: path, reason: "cannot stat") }
        let size = Int(st.st_size)
        guard size <= Limits.maxFileBytes else {
            throw DataError.io(path: path, reason: "is \(Limits.describe(bytes: size)), more than the \(Limits.describe(bytes: Limits.maxFileBytes)) read at once on this machine (a quarter of its memory)")
        }
        let p = malloc(max(size, 1))!
        let got = fread(p, 1, size, f)
        guard got == size else {
            free(p)
            throw DataError.io(path: path, reason: "read \(got) of \(size) bytes")
        }
        return ByteBuffer(taking: p, count: size)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let f = fopen(path, "wb") else { throw DataError.io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
        let closed = fclose(f)
        guard n == bytes.count, closed == 0 else { throw DataError.io(path: path, reason: "wrote \(n) of \(bytes.count) bytes") }
    }

    /// `directory/name`, tolerating a trailing slash.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

/// zlib streams: gzip files (IDX `.gz`) and raw deflate (zip members).
public enum Zlib {
    /// CRC-32 (ISO 3309, the one gzip and zip use).
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: uLong = CZlib.crc32(0, nil, 0)
        var p = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
        var left = bytes.count
        while left > 0, let q = p {
            let n = min(left, 1 << 30)
            crc = CZlib.crc32(crc, q, uInt(n))
            p = q + n
            left -= n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { crc32($0) } }

    /// Inflates a whole gzip file (all members), growing the output as needed.
    /// The size recorded in the trailer is only a capacity hint, capped by the deflate ratio limit
    /// (1032:1) and 1 GiB; the buffer grows if the stream really is larger.
    /// Inflates a gzip file. `stopAfter`: return the first that many bytes only (to read a header).
    /// `limit`: throw as soon as the output exceeds it (what the header inside promises), so a
    /// gzip bomb costs no more memory or time than the data it claims to hold.
    static func gunzip(_ input: ByteBuffer, path: String, stopAfter: Int? = nil, limit: Int? = nil) throws -> ByteBuffer {
        var hint = input.count * 4
        if input.count >= 18 {
            var isize = 0
            for i in 0..<4 { isize |= Int(input[input.count - 4 + i]) << (8 * i) }
            hint = max(hint, min(isize, input.count * 1032, 1 << 30))
        }
        if let s = stopAfter { hint = min(hint, s) }
        if let l = limit { hint = min(hint, l &+ 1) }
        return try inflate(input.bytes, windowBits: 15 + 16, capacityHint: hint, exactSize: nil, path: path, what: "gzip stream",
                           stopAfter: stopAfter, limit: limit)
    }

    /// Inflates a raw deflate stream (zip method 8) that must decode to exactly `size` bytes.
    static func inflateRaw(_ input: UnsafeRawBufferPointer, size: Int, path: String, member: String) throws -> ByteBuffer {
        try inflate(input, windowBits: -15, capacityHint: size, exactSize: size, path: path, what: "deflate member \(member)")
    }

    private static func inflate(_ input: UnsafeRawBufferPointer, windowBits: Int32, capacityHint: Int,
                                exactSize: Int?, path: String, what: String, stopAfter: Int? = nil, limit: Int? = nil) throws -> ByteBuffer {
        var strm = z_stream()
        guard inflateInit2_(&strm, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.compression(path: path, detail: "\(what): zlib inflateInit failed")
        }
        defer { inflateEnd(&strm) }
        var capacity = max(capacityHint + (exactSize == nil ? 0 : 1), 64)
        var out = malloc(capacity)!
        var produced = 0
        var consumed = 0
        let base = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        while true {
            if produced == capacity {
                if let exact = exactSize, produced >= exact {
                    free(out)
                    throw DataError.compression(path: path, detail: "\(what) inflates to more than the \(exact) bytes its header records")
                }
                capacity *= 2
                if let l = limit { capacity = min(capacity, l + 1) }
                if let s = stopAfter { capacity = min(capacity, s) }
                out = realloc(out, capacity)!
            }
            let inChunk = min(input.count - consumed, Int(UInt32.max >> 1))
            strm.next_in = inChunk > 0 ? UnsafeMutablePointer(mutating: base! + consumed) : nil
            strm.avail_in = uInt(inChunk)
            let outChunk = min(capacity - produced, Int(UInt32.max >> 1))
            strm.next_out = (out + produced).assumingMemoryBound(to: Bytef.self)
            strm.avail_out = uInt(outChunk)
            let rc = CZlib.inflate(&strm, Z_NO_FLUSH)
            consumed += inChunk - Int(strm.avail_in)
            produced += outChunk - Int(strm.avail_out)
            if let s = stopAfter, produced >= s { return ByteBuffer(taking: out, count: s) }
            if let l = limit, produced > l {
                free(out)
                throw DataError.compression(path: path, detail: "\(what) inflates to more than the \(l) bytes its header promises (stopped there)")
            }
            if rc == Z_STREAM_END {
                // gzip files may hold several members back to back.
                if windowBits > 15, consumed + 2 <= input.count,
                   input[consumed] == 0x1f, input[consumed + 1] == 0x8b {
                    inflateReset(&strm)
                    continue
                }
                break
            }
            if rc == Z_BUF_ERROR && strm.avail_out != 0 || rc == Z_OK && consumed == input.count && strm.avail_out != 0 {
                free(out)
                throw DataError.truncated(path: path, detail: "\(what) ends early after \(consumed) compressed bytes (\(produced) bytes inflated)")
            }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                free(out)
                let msg = strm.msg.map { String(cString: $0) } ?? "code \(rc)"
                throw DataError.compression(path: path, detail: "\(what) is corrupt at compressed offset \(consumed): \(msg)")
            }
        }
        if let exact = exactSize, produced != exact {
            free(out)
            throw DataError.truncated(path: path, detail: "\(what) inflates to \(produced) bytes but its header records \(exact)")
        }
        return ByteBuffer(taking: out, count: produced)
    }

    /// Compresses bytes into a single-member gzip file (level 6, zlib's default).
    public static func gzip(_ input: [UInt8]) -> [UInt8] {
        var strm = z_stream()
        ensure(deflateInit2_(&strm, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK, "gzip: deflateInit failed")
        defer { deflateEnd(&strm) }
        let bound = Int(deflateBound(&strm, uLong(input.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        let written: Int = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                strm.next_in = src.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
                strm.avail_in = uInt(input.count)
                strm.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                strm.avail_out = uInt(bound)
                let rc = deflate(&strm, Z_FINISH)
                ensure(rc == Z_STREAM_END, "gzip: deflate returned \(rc) for \(input.count) bytes")
                return bound - Int(strm.avail_out)
            }
        }
        out.removeSubrange(written...)
        return out
    }
}
