import DistillCore

/// One array read from or written to a NumPy `.npy` file.
///
/// Floating dtypes are held as a Float32 `Tensor` (float64 is converted), integer dtypes as an
/// `IntTensor`; `tensor` converts either to Float32 and `intTensor()` gives the integers.
public struct NumPyArray {
    /// Supported dtypes, by their little-endian `descr` string.
    public enum DType: String, CaseIterable, Sendable {
        case float32 = "<f4", float64 = "<f8", int64 = "<i8", int32 = "<i4", uint8 = "|u1", int8 = "|i1"

        public var size: Int {
            switch self {
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            case .uint8, .int8: return 1
            }
        }

        public var isFloat: Bool { self == .float32 || self == .float64 }

        /// Parses a `descr`, accepting the native-order spellings numpy also writes (`<u1`, `=f4`).
        init?(descr: String) {
            var d = descr
            if d.hasPrefix("=") { d = "<" + d.dropFirst() }
            if d == "<u1" { d = "|u1" }
            if d == "<i1" { d = "|i1" }
            self.init(rawValue: d)
        }
    }

    public enum Values {
        case float(Tensor)
        case int(IntTensor)
    }

    public let dtype: DType
    public let values: Values

    public var shape: [Int] {
        switch values { case .float(let t): return t.shape; case .int(let t): return t.shape }
    }

    /// A float array, stored as float32 (or float64 when asked).
    public init(_ tensor: Tensor, dtype: DType = .float32) {
        ensure(dtype.isFloat, "NumPyArray: a Tensor is stored as float32 or float64, not \(dtype)")
        self.dtype = dtype
        self.values = .float(tensor)
    }

    /// An integer array, stored as int64 by default.
    public init(_ ints: IntTensor, dtype: DType = .int64) {
        ensure(!dtype.isFloat, "NumPyArray: an IntTensor is stored with an integer dtype, not \(dtype)")
        self.dtype = dtype
        self.values = .int(ints)
    }

    /// Integer samples carried as Float32 (exact below 2²⁴): what image arrays read with
    /// `integersAsFloats` hold, at 4 bytes per element instead of an `Int`'s 8.
    init(dtype: DType, integersAsFloats t: Tensor) {
        self.dtype = dtype
        self.values = .float(t)
    }

    /// The values as Float32 (integers converted).
    public var tensor: Tensor {
        switch values {
        case .float(let t): return t
        case .int(let t): return Tensor(shape: t.shape, scalars: t.scalars.map { Float($0) })
        }
    }

    /// The integer values; throws for a floating dtype.
    public func intTensor() throws -> IntTensor {
        switch values {
        case .int(let t): return t
        case .float: throw DataError.invalidArgument("NumPyArray: dtype \(dtype.rawValue) is floating; expected an integer array")
        }
    }
}

/// NumPy `.npy` (format versions 1.0, 2.0, 3.0) and `.npz` (zip of `.npy` members) files.
///
/// Format: magic `\x93NUMPY`, major, minor, header length (UInt16 LE for 1.0, UInt32 LE for 2.0+),
/// then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// padded so the data starts on a 64-byte boundary, then the C-order data.
public enum NumPy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    public static func read(_ path: String) throws -> NumPyArray {
        let b = try FileIO.read(path)
        return try decode(b, start: 0, end: b.count, path: path)
    }

    public static func write(_ array: NumPyArray, to path: String) throws {
        try FileIO.write(encode(array), to: path)
    }

    /// Decodes the `.npy` bytes `buffer[start ..< end]`; `path` names the file (and member) in errors.
    /// `integersAsFloats`: integer arrays come back as Float32 values (see `NumPyArray.init(dtype:integersAsFloats:)`).
    static func decode(_ buffer: ByteBuffer, start: Int, end: Int, path: String, integersAsFloats: Bool = false) throws -> NumPyArray {
        var r = ByteReader(buffer, path: path, offset: start, end: end)
        let m = try r.take(6, "magic string")
        guard m.elementsEqual(magic) else {
            throw DataError.badMagic(path: path, expected: "\\x93NUMPY (\(hexBytes(magic)))", found: hexBytes(m))
        }
        let major = try r.u8("format major version"), minor = try r.u8("format minor version")
        let headerLength: Int
        switch major {
        case 1: headerLength = try r.u16le("header length")
        case 2, 3: headerLength = try r.u32le("header length")
        default: throw DataError.malformed(path: path, field: "format version", detail: "\(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        guard headerLength <= r.remaining else {
            throw DataError.truncated(path: path, detail: "header length \(headerLength) at offset \(r.offset - start) runs past the end of the file (\(r.remaining) bytes remain)")
        }
        let headerBytes = try r.take(headerLength, "header")
        guard let header = String(validating: headerBytes, as: UTF8.self) else {
            throw DataError.malformed(path: path, field: "header", detail: "not valid UTF-8")
        }
        var parser = HeaderParser(text: header, path: path)
        let dict = try parser.parseDict()
        guard case .string(let descr)? = dict["descr"] else {
            throw DataError.malformed(path: path, field: "header 'descr'", detail: "missing or not a string in \(header.trimmed)")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw DataError.malformed(path: path, field: "header 'fortran_order'", detail: "missing or not True/False in \(header.trimmed)")
        }
        guard case .tuple(let shape)? = dict["shape"] else {
            throw DataError.malformed(path: path, field: "header 'shape'", detail: "missing or not a tuple of integers in \(header.trimmed)")
        }
        guard let dtype = NumPyArray.DType(descr: descr) else {
            throw DataError.unsupportedDType(path: path, dtype: "'\(descr)' (supported: \(NumPyArray.DType.allCases.map(\.rawValue).joined(separator: " ")), little-endian)")
        }
        if fortran {
            throw DataError.malformed(path: path, field: "header 'fortran_order'", detail: "True is not supported; save a C-order array (np.ascontiguousarray)")
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, d >= 0 else { throw DataError.malformed(path: path, field: "header 'shape'", detail: "\(Shape.describe(shape)) is not a valid shape") }
            count = p
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.size)
        guard !o, bytes == r.remaining else {
            throw DataError.truncated(path: path, detail: "shape \(Shape.describe(shape)) of \(descr) needs \(o ? "overflowing" : String(bytes)) data bytes but \(r.remaining) follow the header")
        }
        let p = try r.take(bytes, "data").baseAddress ?? UnsafeRawPointer(buffer.pointer)
        if integersAsFloats && !dtype.isFloat {
            return NumPyArray(dtype: dtype, integersAsFloats: Tensor.make(shape) { o in
                switch dtype {
                case .int64: for i in 0..<count { o[i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                case .int32: for i in 0..<count { o[i] = Float(p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
                case .int8: for i in 0..<count { o[i] = Float(p.load(fromByteOffset: i, as: Int8.self)) }
                default: for i in 0..<count { o[i] = Float(p.load(fromByteOffset: i, as: UInt8.self)) }
                }
            })
        }
        switch dtype {
        case .float32:
            return NumPyArray(Tensor.make(shape) { o in
                UnsafeMutableRawPointer(o).copyMemory(from: p, byteCount: bytes)
            }, dtype: .float32)
        case .float64:
            return NumPyArray(Tensor.make(shape) { o in
                for i in 0..<count { o[i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            }, dtype: .float64)
        case .int64:
            return NumPyArray(IntTensor(shape: shape, scalars: (0..<count).map { Int(p.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }), dtype: dtype)
        case .int32:
            return NumPyArray(IntTensor(shape: shape, scalars: (0..<count).map { Int(p.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }), dtype: dtype)
        case .uint8:
            return NumPyArray(IntTensor(shape: shape, scalars: (0..<count).map { Int(p.load(fromByteOffset: $0, as: UInt8.self)) }), dtype: dtype)
        case .int8:
            return NumPyArray(IntTensor(shape: shape, scalars: (0..<count).map { Int(p.load(fromByteOffset: $0, as: Int8.self)) }), dtype: dtype)
        }
    }

    /// The `.npy` bytes of an array (version 1.0, or 2.0 when the header needs more than 65535 bytes).
    public static func encode(_ a: NumPyArray) -> [UInt8] {
        let shape = a.shape
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '\(a.dtype.rawValue)', 'fortran_order': False, 'shape': \(dims), }".utf8)
        var prefix = 10
        if header.count + 1 + prefix > 65535 { prefix = 12 }
        let padded = (prefix + header.count + 1 + 63) / 64 * 64
        header += [UInt8](repeating: 0x20, count: padded - prefix - header.count - 1) + [0x0A]
        var out = magic + (prefix == 10 ? [1, 0] : [2, 0])
        let hl = header.count
        out += prefix == 10 ? [UInt8(hl & 0xFF), UInt8(hl >> 8)] : (0..<4).map { UInt8((hl >> (8 * $0)) & 0xFF) }
        out += header
        switch a.values {
        case .float(let t):
            if a.dtype == .float32 {
                t.withUnsafeBufferPointer { out.append(contentsOf: UnsafeRawBufferPointer($0)) }
            } else {
                for v in t.scalars { withUnsafeBytes(of: Double(v)) { out.append(contentsOf: $0) } }
            }
        case .int(let t):
            for v in t.scalars {
                switch a.dtype {
                case .int64: withUnsafeBytes(of: Int64(v)) { out.append(contentsOf: $0) }
                case .int32: withUnsafeBytes(of: Int32(truncatingIfNeeded: v)) { out.append(contentsOf: $0) }
                case .uint8: out.append(UInt8(truncatingIfNeeded: v))
                case .int8: out.append(UInt8(bitPattern: Int8(truncatingIfNeeded: v)))
                case .float32, .float64: failCheck("unreachable: integer values with dtype \(a.dtype)")
                }
            }
        }
        return out
    }
}

/// A minimal parser for the Python dict literal of an `.npy` header.
private struct HeaderParser {
    enum Value { case string(String), bool(Bool), tuple([Int]) }
    let chars: [Character]
    let path: String
    var i = 0

    init(text: String, path: String) { chars = Array(text); self.path = path }

    func fail(_ what: String) -> DataError {
        .malformed(path: path, field: "header", detail: "\(what) at character \(i) of \(String(chars).trimmed)")
    }

    mutating func skipSpace() { while i < chars.count && chars[i].isWhitespace { i += 1 } }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard i < chars.count, chars[i] == c else { throw fail("expected '\(c)'") }
        i += 1
    }

    mutating func string() throws -> String {
        skipSpace()
        guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else { throw fail("expected a quoted string") }
        let q = chars[i]; i += 1
        let s = i
        while i < chars.count && chars[i] != q { i += 1 }
        guard i < chars.count else { throw fail("unterminated string") }
        defer { i += 1 }
        return String(chars[s..<i])
    }

    mutating func value() throws -> Value {
        skipSpace()
        guard i < chars.count else { throw fail("expected a value") }
        if chars[i] == "'" || chars[i] == "\"" { return .string(try string()) }
        if chars[i] == "(" {
            i += 1
            var dims: [Int] = []
            while true {
                skipSpace()
                if i < chars.count && chars[i] == ")" { i += 1; break }
                let s = i
                while i < chars.count && chars[i].isNumber { i += 1 }
                guard i > s, let d = Int(String(chars[s..<i])) else { throw fail("expected a non-negative integer dimension") }
                if i < chars.count && chars[i] == "L" { i += 1 }
                dims.append(d)
                skipSpace()
                if i < chars.count && chars[i] == "," { i += 1 } else if !(i < chars.count && chars[i] == ")") { throw fail("expected ',' or ')'") }
            }
            return .tuple(dims)
        }
        for (word, v) in [("True", true), ("False", false)] where String(chars[i..<min(i + word.count, chars.count)]) == word {
            i += word.count
            return .bool(v)
        }
        throw fail("unexpected value")
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var d: [String: Value] = [:]
        while true {
            skipSpace()
            if i < chars.count && chars[i] == "}" { break }
            let k = try string()
            try expect(":")
            d[k] = try value()
            skipSpace()
            if i < chars.count && chars[i] == "," { i += 1 } else { try expect("}"); break }
        }
        return d
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
