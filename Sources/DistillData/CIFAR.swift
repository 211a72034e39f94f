import DistillCore

/// Readers for the CIFAR binary distributions (Krizhevsky, "Learning Multiple Layers of Features
/// from Tiny Images", 2009): fixed-size records of label byte(s) then 3072 pixel bytes, the 1024
/// red, then green, then blue values of a 32×32 image in row-major order (that is, CHW).
public enum CIFAR {
    /// Pixels per record: 3 × 32 × 32.
    public static let pixelBytes = 3072

    /// Decoded records of one or more files: images [N, 3, 32, 32] in [0, 1], and one label
    /// array per label byte (CIFAR-10: [label]; CIFAR-100: [coarse, fine]).
    public struct Records {
        public var images: Tensor
        public var labels: [[Int]]
    }

    /// Reads files of records with `labelBytes` leading label bytes each, checking each label byte
    /// against `labelLimits` (exclusive upper bounds). A partial last record is an error naming the
    /// file and the record index; so is an empty file.
    public static func read(_ paths: [String], labelBytes: Int, labelLimits: [Int]) throws -> Records {
        ensure(labelLimits.count == labelBytes, "CIFAR.read: \(labelLimits.count) label limits for \(labelBytes) label bytes")
        return try read(files: try paths.map { ($0, try FileIO.read($0)) }, labelBytes: labelBytes, labelLimits: labelLimits)
    }

    /// `read` on the bytes of the files.
    static func read(files: [(path: String, bytes: ByteBuffer)], labelBytes: Int, labelLimits: [Int]) throws -> Records {
        ensure(labelLimits.count == labelBytes, "CIFAR.read: \(labelLimits.count) label limits for \(labelBytes) label bytes")
        let recordSize = labelBytes + pixelBytes
        let paths = files.map(\.path), buffers = files.map(\.bytes)
        var total = 0
        for (path, b) in zip(paths, buffers) {
            let whole = b.count / recordSize, rest = b.count % recordSize
            if rest != 0 {
                throw DataError.truncated(path: path, detail: "record \(whole) is truncated: \(rest) of \(recordSize) bytes (\(labelBytes) label + \(pixelBytes) pixel) present after \(whole) whole records")
            }
            if whole == 0 { throw DataError.truncated(path: path, detail: "file holds no \(recordSize)-byte records") }
            total += whole
        }
        var labels = [[Int]](repeating: [], count: labelBytes)
        for i in 0..<labelBytes { labels[i].reserveCapacity(total) }
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = Float(v) / 255 }
        var firstError: DataError?
        let images = Tensor.make([total, 3, 32, 32]) { o in
            var row = 0
            table.withUnsafeBufferPointer { t in
                let tp = t.baseAddress!
                for (path, b) in zip(paths, buffers) where firstError == nil {
                    let src = b.pointer.assumingMemoryBound(to: UInt8.self)
                    for r in 0..<(b.count / recordSize) {
                        let rec = src + r * recordSize
                        for k in 0..<labelBytes {
                            let l = Int(rec[k])
                            if l >= labelLimits[k] && firstError == nil {
                                firstError = .malformed(path: path, field: "label byte \(k) of record \(r)", detail: "\(l) is not below \(labelLimits[k])")
                            }
                            labels[k].append(l)
                        }
                        let px = rec + labelBytes, dst = o + row * pixelBytes
                        for i in 0..<pixelBytes { dst[i] = tp[Int(px[i])] }
                        row += 1
                    }
                }
            }
        }
        if let e = firstError { throw e }
        return Records(images: images, labels: labels)
    }

    /// Writes records (for tests and tools): `labels[k][i]` is label byte k of record i and
    /// `pixels` holds 3072 bytes per record.
    public static func write(labels: [[UInt8]], pixels: [UInt8], to path: String) throws {
        let n = pixels.count / pixelBytes
        ensure(pixels.count == n * pixelBytes && labels.allSatisfy { $0.count == n },
                     "CIFAR.write: \(pixels.count) pixel bytes and label counts \(labels.map(\.count)) do not make whole records")
        var out = [UInt8](); out.reserveCapacity(n * (labels.count + pixelBytes))
        for i in 0..<n {
            for l in labels { out.append(l[i]) }
            out.append(contentsOf: pixels[(i * pixelBytes)..<((i + 1) * pixelBytes)])
        }
        try FileIO.write(out, to: path)
    }
}
