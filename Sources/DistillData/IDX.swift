import DistillCore

/// Element types of the IDX format (LeCun's MNIST files): the third byte of the magic number.
public enum IDXType: UInt8, Sendable, CaseIterable {
    case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }
}

/// One IDX array: element type, shape, and the big-endian element bytes.
///
/// File layout: magic `00 00 type rank`, then `rank` big-endian UInt32 dimensions, then the
/// elements, big-endian, row-major. MNIST labels are `0x00000801` ([N] uint8), images
/// `0x00000803` ([N, 28, 28] uint8).
public struct IDXArray {
    public let type: IDXType
    public let shape: [Int]
    let buffer: ByteBuffer
    let dataOffset: Int

    /// Number of elements.
    public var count: Int { Shape.count(shape) }

    init(type: IDXType, shape: [Int], buffer: ByteBuffer, dataOffset: Int) {
        self.type = type; self.shape = shape; self.buffer = buffer; self.dataOffset = dataOffset
    }

    /// An array of bytes (type 0x08).
    public init(uint8 values: [UInt8], shape: [Int]) {
        ensure(values.count == Shape.count(shape), "IDXArray: \(values.count) values for shape \(Shape.describe(shape))")
        self.init(type: .uint8, shape: shape, buffer: ByteBuffer(values), dataOffset: 0)
    }

    /// An array of big-endian Float32 (type 0x0D).
    public init(float32 values: [Float], shape: [Int]) {
        ensure(values.count == Shape.count(shape), "IDXArray: \(values.count) values for shape \(Shape.describe(shape))")
        var bytes = [UInt8](); bytes.reserveCapacity(values.count * 4)
        for v in values { let b = v.bitPattern.bigEndian; withUnsafeBytes(of: b) { bytes.append(contentsOf: $0) } }
        self.init(type: .float32, shape: shape, buffer: ByteBuffer(bytes), dataOffset: 0)
    }

    /// Element `i` (row-major) as a Double, decoding the big-endian type.
    @inline(__always)
    func element(_ i: Int) -> Double {
        let p = buffer.pointer + dataOffset + i * type.size
        switch type {
        case .uint8: return Double(p.load(as: UInt8.self))
        case .int8: return Double(p.load(as: Int8.self))
        case .int16: return Double(Int16(bigEndian: p.loadUnaligned(as: Int16.self)))
        case .int32: return Double(Int32(bigEndian: p.loadUnaligned(as: Int32.self)))
        case .float32: return Double(Float(bitPattern: UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))))
        case .float64: return Double(bitPattern: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)))
        }
    }

    /// The elements as Float32 divided by `divisor` (255 gives torchvision's `ToTensor` values
    /// exactly) into a tensor of `shape` (element count must match). uint8 goes through a
    /// 256-entry table, so 47 M MNIST pixels decode at memory speed.
    public func tensor(shape outShape: [Int]? = nil, divisor: Float = 1) -> Tensor {
        let target = outShape ?? shape
        ensure(Shape.count(target) == count, "IDXArray.tensor: shape \(Shape.describe(target)) does not hold \(count) elements of \(Shape.describe(shape))")
        let n = count
        return Tensor.make(target) { o in
            if type == .uint8 {
                var table = [Float](repeating: 0, count: 256)
                for v in 0..<256 { table[v] = Float(v) / divisor }
                let src = (buffer.pointer + dataOffset).assumingMemoryBound(to: UInt8.self)
                table.withUnsafeBufferPointer { t in
                    let tp = t.baseAddress!
                    for i in 0..<n { o[i] = tp[Int(src[i])] }
                }
            } else {
                for i in 0..<n { o[i] = Float(element(i)) / divisor }
            }
        }
    }

    /// The elements as integers (floating types are truncated toward zero). Throws, naming `path`
    /// and the first offending element, for a NaN, an infinity or a value outside ±2³¹ (which no
    /// label or count can be).
    public func ints(path: String = "IDX data") throws -> [Int] {
        let n = count
        if type == .uint8 {
            let src = (buffer.pointer + dataOffset).assumingMemoryBound(to: UInt8.self)
            return [Int](unsafeUninitializedCapacity: n) { dst, done in
                for i in 0..<n { dst[i] = Int(src[i]) }
                done = n
            }
        }
        var out = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let v = element(i)
            guard v.isFinite, abs(v) < 2_147_483_648 else {
                throw DataError.malformed(path: path, field: "element \(i)", detail: "is \(v), not an integer in ±2³¹")
            }
            out[i] = Int(v)
        }
        return out
    }
}

/// Reader and writer for IDX files, gzip-compressed or raw (told apart by their magic bytes).
public enum IDX {
    /// Reads any IDX array. A gzip stream (magic `1f 8b`) is inflated first, whatever the file name.
    /// Throws `DataError` naming the path for a missing file, a bad magic number, an unknown
    /// element type, or a data section shorter or longer than the header's shape needs.
    public static func read(_ path: String) throws -> IDXArray {
        try decode(try inflated(try FileIO.read(path), path: path), path: path)
    }

    /// The IDX bytes of a file: itself, or its gzip stream inflated no further than the size its
    /// IDX header (read first, from the stream's first kilobyte) promises.
    static func inflated(_ buffer: ByteBuffer, path: String) throws -> ByteBuffer {
        guard buffer.startsWithGzipMagic else { return buffer }
        let headerMost = 4 + 4 * 255
        let head = try Zlib.gunzip(buffer, path: path, stopAfter: headerMost)
        guard let h = try? header(head, path: path) else { return head }   // decode names what is wrong with it
        guard let data = h.dataBytes, case let (total, o) = data.addingReportingOverflow(h.offset), !o else {
            throw DataError.malformed(path: path, field: "shape", detail: "dimensions overflow")
        }
        guard total <= Limits.maxFileBytes else {
            throw DataError.malformed(path: path, field: "shape", detail: "promises \(Limits.describe(bytes: total)) of data, more than the \(Limits.describe(bytes: Limits.maxFileBytes)) read at once on this machine")
        }
        return try Zlib.gunzip(buffer, path: path, limit: total)
    }

    /// The header of an IDX buffer: element type, shape, where the data start, and the element
    /// count (nil when the shape's product overflows).
    struct Header {
        let type: IDXType, shape: [Int], offset: Int, count: Int?
        /// Bytes of data the shape needs (nil on overflow).
        var dataBytes: Int? {
            count.flatMap { c in
                let (m, o) = c.multipliedReportingOverflow(by: type.size)
                return o ? nil : m
            }
        }
    }

    static func header(_ buffer: ByteBuffer, path: String) throws -> Header {
        var r = ByteReader(buffer, path: path)
        guard buffer.count >= 4 else {
            throw DataError.truncated(path: path, detail: "file holds \(buffer.count) bytes, too few for the 4-byte IDX magic number")
        }
        let magic = try r.take(4, "magic number")
        guard magic[0] == 0, magic[1] == 0 else {
            throw DataError.badMagic(path: path, expected: "0x0000 followed by type and rank (e.g. 0x00000803)", found: hexBytes(magic))
        }
        guard let type = IDXType(rawValue: magic[2]) else {
            throw DataError.unsupportedDType(path: path, dtype: "IDX type byte \(hexBytes([magic[2]])) (known: 0x08 0x09 0x0b 0x0c 0x0d 0x0e)")
        }
        let rank = Int(magic[3])
        var shape: [Int] = []
        for d in 0..<rank { shape.append(try r.u32be("dimension \(d) of \(rank)")) }
        var count: Int? = 1
        for d in shape {
            count = count.flatMap { c in
                let (m, o) = c.multipliedReportingOverflow(by: d)
                return o ? nil : m
            }
        }
        return Header(type: type, shape: shape, offset: r.offset, count: count)
    }

    static func decode(_ buffer: ByteBuffer, path: String, noun: String = "items") throws -> IDXArray {
        let h = try header(buffer, path: path)
        let (type, shape, rank) = (h.type, h.shape, h.shape.count)
        guard let count = h.count else { throw DataError.malformed(path: path, field: "shape", detail: "\(Shape.describe(shape)) overflows") }
        let remaining = buffer.count - h.offset
        let (needed, overflow) = count.multipliedReportingOverflow(by: type.size)
        guard !overflow, needed == remaining else {
            let what = rank >= 2
                ? "\(shape[0]) \(noun) of \(shape.dropFirst().map(String.init).joined(separator: "×"))"
                : rank == 1 ? "\(shape[0]) \(noun)" : "a scalar"
            throw DataError.truncated(path: path, detail: "header says \(what) (\(type) elements, \(overflow ? "overflowing" : String(needed)) bytes) but the file holds \(remaining) bytes of data after the \(h.offset)-byte header")
        }
        return IDXArray(type: type, shape: shape, buffer: buffer, dataOffset: h.offset)
    }

    /// Reads an image file (magic `0x00000803`: [N, H, W] uint8) as a [N, 1, H, W] tensor in
    /// [0, 1] (pixel / 255). A float32 image file (`0x00000D03`) is read unscaled.
    public static func readImages(_ path: String) throws -> Tensor {
        try images(from: try FileIO.read(path), path: path)
    }

    /// `readImages` on the bytes of a file.
    static func images(from file: ByteBuffer, path: String) throws -> Tensor {
        let buffer = try inflated(file, path: path)
        if buffer.count >= 4 && buffer[0] == 0 && buffer[1] == 0 && !(buffer[3] == 3 && (buffer[2] == 0x08 || buffer[2] == 0x0D)) {
            throw DataError.badMagic(path: path, expected: "0x00000803 (uint8 images [N, H, W])", found: hexBytes(buffer.bytes.prefix(4)))
        }
        let a = try decode(buffer, path: path, noun: "images")
        return a.tensor(shape: [a.shape[0], 1, a.shape[1], a.shape[2]], divisor: a.type == .uint8 ? 255 : 1)
    }

    /// Reads a label file (magic `0x00000801`: [N] uint8) as an [N] integer tensor.
    public static func readLabels(_ path: String) throws -> IntTensor {
        try labels(from: try FileIO.read(path), path: path)
    }

    /// `readLabels` on the bytes of a file.
    static func labels(from file: ByteBuffer, path: String) throws -> IntTensor {
        let buffer = try inflated(file, path: path)
        if buffer.count >= 4 && buffer[0] == 0 && buffer[1] == 0 && buffer[3] != 1 {
            throw DataError.badMagic(path: path, expected: "0x00000801 (labels [N])", found: hexBytes(buffer.bytes.prefix(4)))
        }
        let a = try decode(buffer, path: path, noun: "labels")
        return IntTensor(shape: [a.count], scalars: try a.ints(path: path))
    }

    /// The file bytes of an array: magic, big-endian dimensions, data.
    public static func encode(_ a: IDXArray) -> [UInt8] {
        ensure(a.shape.count <= 255 && a.shape.allSatisfy { $0 <= Int(UInt32.max) }, "IDX.encode: shape \(Shape.describe(a.shape)) cannot be stored")
        var out: [UInt8] = [0, 0, a.type.rawValue, UInt8(a.shape.count)]
        for d in a.shape { withUnsafeBytes(of: UInt32(d).bigEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: UnsafeRawBufferPointer(start: a.buffer.pointer + a.dataOffset, count: a.count * a.type.size))
        return out
    }

    /// Writes an array, gzip-compressed when `gzip` is true.
    public static func write(_ a: IDXArray, to path: String, gzip: Bool) throws {
        let raw = encode(a)
        try FileIO.write(gzip ? Zlib.gzip(raw) : raw, to: path)
    }
}
