import DistillCore

// The file readers on bytes already in memory: the same code as reading a file (what the fuzz
// targets call, and what a caller with its own I/O needs). `path` names the source in errors.

extension IDX {
    public static func read(bytes: [UInt8], path: String) throws -> IDXArray {
        try decode(try inflated(ByteBuffer(bytes), path: path), path: path)
    }
    public static func readImages(bytes: [UInt8], path: String) throws -> Tensor { try images(from: ByteBuffer(bytes), path: path) }
    public static func readLabels(bytes: [UInt8], path: String) throws -> IntTensor { try labels(from: ByteBuffer(bytes), path: path) }
}

extension CIFAR {
    public static func read(bytes files: [(path: String, bytes: [UInt8])], labelBytes: Int, labelLimits: [Int]) throws -> Records {
        try read(files: files.map { ($0.path, ByteBuffer($0.bytes)) }, labelBytes: labelBytes, labelLimits: labelLimits)
    }
}

extension NumPy {
    public static func read(bytes: [UInt8], path: String) throws -> NumPyArray {
        try decode(ByteBuffer(bytes), start: 0, end: bytes.count, path: path)
    }
    public static func readArchive(bytes: [UInt8], path: String) throws -> [String: NumPyArray] {
        try archive(from: ByteBuffer(bytes), path: path)
    }
}
