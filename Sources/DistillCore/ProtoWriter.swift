/// Protobuf wire encoding for the few messages the project writes by hand (ONNX models in
/// DistillExport, TensorBoard event files in Distill): varints (wire type 0), 64-bit doubles (1),
/// length-delimited fields (2: strings, bytes, packed varints, nested messages) and 32-bit
/// floats (5). Fields are written in the order they are added.
public struct ProtoWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    private mutating func rawVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    /// Field key: (number << 3) | wire type.
    private mutating func key(_ field: Int, _ wire: UInt64) { rawVarint(UInt64(field) << 3 | wire) }

    /// An int32/int64/enum field (negative values as ten-byte two's complement, as protobuf does).
    public mutating func int(_ field: Int, _ v: Int) { key(field, 0); rawVarint(UInt64(bitPattern: Int64(v))) }

    public mutating func double(_ field: Int, _ v: Double) {
        key(field, 1)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func float(_ field: Int, _ v: Float) {
        key(field, 5)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func bytes(_ field: Int, _ b: [UInt8]) {
        key(field, 2); rawVarint(UInt64(b.count)); bytes.append(contentsOf: b)
    }

    public mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }

    public mutating func packedInts(_ field: Int, _ values: [Int]) {
        var inner = ProtoWriter()
        for v in values { inner.rawVarint(UInt64(bitPattern: Int64(v))) }
        bytes(field, inner.bytes)
    }

    /// A nested message written by `body`.
    public mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }

    /// A nested message already written.
    public mutating func message(_ field: Int, _ m: ProtoWriter) { bytes(field, m.bytes) }
}
